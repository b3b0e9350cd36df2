import Foundation
import GRDB
import GongjiCore
import GongjiStorage
import Logging
import Testing

@testable import GongjiSQLite

@Suite("the store recognises its own database and refuses anything else")
struct StoreIdentityTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gongji-id-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    var path: String { directory.appendingPathComponent("gongji.sqlite").path }

    func openError() -> StoreError? {
        do {
            try SQLiteStore(path: path).close()
            return nil
        } catch { return error as? StoreError }
    }

    @Test("a created database opens, again and again; creating over it is refused")
    func createThenOpen() throws {
        try SQLiteStore.create(path: path)
        try SQLiteStore(path: path).close()
        try SQLiteStore(path: path).close()
        #expect(throws: StoreError.self) { try SQLiteStore.create(path: path) }
        try SQLiteStore.checkDatabase(path: path)
    }

    @Test("a missing database is not created by opening it")
    func missing() {
        let error = openError()
        #expect(error?.code == .configuration)
        #expect(error?.message.contains("gongjid init") == true, "\(String(describing: error))")
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("a 0-byte database (a failed copy or restore) is refused and left as it was")
    func empty() throws {
        _ = FileManager.default.createFile(atPath: path, contents: Data())
        let error = openError()
        #expect(error?.code == .configuration)
        #expect(error?.message.contains("0 bytes") == true, "\(String(describing: error))")
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int == 0)
        #expect(throws: StoreError.self) { try SQLiteStore.create(path: path) }
    }

    /// A database with some rows, closed (its WAL folded in), and its page size.
    func filledDatabase() async throws -> Int {
        try SQLiteStore.create(path: path)
        let store = try SQLiteStore(path: path)
        var rows: [RegistryRow] = []
        for i in 0..<300 {
            let id = try ResidentID.parse(
                ResidentID.compose(area: "150102", born: CivilDate(iso: "1980-03-15")!, sequence: 100 + i),
                today: CivilDate(year: 2026, month: 12, day: 1)!)
            rows.append(.person(Person(id: id, name: "甲\(i)", insuranceType: .employee, status: .normal, region: .hohhot), paidYears: []))
        }
        _ = try await store.importRows(rows, today: CivilDate(year: 2026, month: 12, day: 1)!, now: 1)
        try store.close()
        let queue = try DatabaseQueue(path: path)
        let pageSize = try await queue.read { try Int.fetchOne($0, sql: "PRAGMA page_size") ?? 4096 }
        try queue.close()
        return pageSize
    }

    func overwrite(at offset: Int, with bytes: [UInt8]) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try handle.seek(toOffset: UInt64(offset))
        try handle.write(contentsOf: Data(bytes))
        try handle.close()
    }

    @Test(
        "a damaged file (a flipped byte in page 2, a zeroed last page, a truncated file) refuses to start, as a configuration error naming quick_check",
        arguments: ["flipped", "zeroed", "truncated"])
    func damagedFile(kind: String) async throws {
        let pageSize = try await filledDatabase()
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        switch kind {
        case "flipped":
            try overwrite(at: pageSize, with: [0x7F])  // page 2's b-tree page type
        case "zeroed":
            try overwrite(at: size - pageSize, with: [UInt8](repeating: 0, count: pageSize))
        default:
            let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
            try handle.truncate(atOffset: UInt64(size / 2))
            try handle.close()
        }
        let error = openError()
        #expect(error?.code == .configuration, "\(String(describing: error))")
        #expect(error?.message.contains("damaged") == true, "\(String(describing: error))")
    }

    @Test("a directory where the database should be is called a directory (not an empty database) and left alone")
    func directoryInPlace() throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        let error = openError()
        #expect(error?.code == .configuration)
        #expect(
            error?.message.contains("is a directory") == true && error?.message.contains("0 bytes") == false, "\(String(describing: error))"
        )
        #expect(throws: StoreError.self) { try SQLiteStore.create(path: path) }
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue)
    }

    @Test(
        "another program's SQLite database, and a file that is not SQLite, are refused",
        arguments: ["other-sqlite", "text"])
    func foreign(kind: String) throws {
        if kind == "text" {
            try String(repeating: "not a database\n", count: 20).write(toFile: path, atomically: true, encoding: .utf8)
        } else {
            let queue = try DatabaseQueue(path: path)
            try queue.write { try $0.execute(sql: "CREATE TABLE notes (body TEXT)") }
            try queue.close()
        }
        let error = openError()
        #expect(error?.code == .configuration)
        #expect(error?.message.contains("not") == true, "\(String(describing: error))")
    }

    @Test("a database of an earlier gongjid (no application id, Gongji's migrations) is adopted")
    func legacy() throws {
        try SQLiteStore.create(path: path)
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { try $0.execute(sql: "PRAGMA application_id = 0") }
        try queue.close()
        try SQLiteStore(path: path).close()
        let reopened = try DatabaseQueue(path: path)
        #expect(try reopened.read { try Int.fetchOne($0, sql: "PRAGMA application_id") } == 0x474A_4442)
        try reopened.close()
    }

    @Test("a database migrated by a newer gongjid is refused")
    func newer() throws {
        try SQLiteStore.create(path: path)
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')") }
        try queue.close()
        let error = openError()
        #expect(error?.message.contains("newer gongjid") == true, "\(String(describing: error))")
    }

    @Test("the database, its WAL and shared memory, and a backup are created 0600 whatever the umask")
    func ownerOnly() async throws {
        let previous = umask(0o022)
        defer { umask(previous) }
        try SQLiteStore.create(path: path)
        let store = try SQLiteStore(path: path)
        _ = try await store.ledgerSum()
        let backup = directory.appendingPathComponent("backup.sqlite").path
        try store.backup(to: backup)
        for file in [path, path + "-wal", path + "-shm", backup] {
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(file): \(String(describing: mode.map { String($0, radix: 8) }))")
        }
        try store.close()
    }

    @Test("verify finds a sound database sound, and a ledger movement that does not sum to zero")
    func verify() async throws {
        try SQLiteStore.create(path: path)
        let store = try SQLiteStore(path: path)
        let report = try await store.verify { _ in true }
        #expect(report.isSound, "\(report)")
        try store.close()
        let queue = try DatabaseQueue(path: path)
        try await queue.write {
            try $0.execute(sql: "INSERT INTO ledger_entry (movement, account, amount_fen, at) VALUES ('m1', 'a', 5, 0)")
        }
        try queue.close()
        let reopened = try SQLiteStore(path: path)
        defer { try? reopened.close() }
        let broken = try await reopened.verify()
        #expect(!broken.isSound)
        #expect(broken.problems.contains { $0.contains("m1") }, "\(broken)")
    }
}

@Suite("storage failures are classified")
struct StorageClassificationTests {
    @Test(
        "no space left, from SQLite, the C library or Foundation, is STORAGE_FULL; other failures are not",
        arguments: [
            (DatabaseError(resultCode: .SQLITE_FULL) as any Error, true),
            (POSIXError(.ENOSPC), true), (POSIXError(.EDQUOT), true),
            (NSError(domain: NSPOSIXErrorDomain, code: Int(ENOSPC)), true),
            (CocoaError(.fileWriteOutOfSpace), true),
            (DatabaseError(resultCode: .SQLITE_IOERR), false), (POSIXError(.EIO), false),
            (CocoaError(.fileWriteNoPermission), false),
        ] as [(any Error, Bool)])
    func outOfSpace(error: any Error, full: Bool) throws {
        // SQLite's errors are classified by the SQLite store, the rest by the storage layer.
        let classified =
            error is DatabaseError
            ? try #require(SQLiteStore.mapWriteError(error) as? StoreError)
            : StoreError.writeFailed("w", cause: error)
        #expect((classified.code == .storageFull) == full)
        let status = StorageStatus()
        status.record(classified)
        #expect(status.isFull == full)
        status.recordWritten()
        #expect(!status.isFull)
    }
}
