import Foundation
import GRDB
import GongjiStorage

/// How the store recognises its own database: SQLite's `application_id` header field holds
/// `Schema.applicationID`, and every migration recorded in the file is one this build knows.
/// Anything else — a missing file, a 0-byte file (a failed copy or restore), another program's
/// database, a database of a newer gongjid — is refused with a message saying what to do; a new
/// database is only ever made by `SQLiteStore.create` (`gongjid init`).
extension SQLiteStore {
    /// Creates a new, empty Gongji database at `path` (owner-only permissions, application id,
    /// every migration). Refuses when anything exists at `path`, even an empty file.
    public static func create(path: String) throws(StoreError) {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw StoreError(.configuration, "\(path) exists already; a new database is only created where there is none")
        }
        try createOwnerOnlyFile(path)
        do {
            // A rollback journal while creating: the header reaches the main file at commit.
            let queue = try DatabaseQueue(path: path)
            try queue.writeWithoutTransaction { try $0.execute(sql: "PRAGMA application_id = \(Schema.applicationID)") }
            try Schema.migrator.migrate(queue)
            try queue.close()
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw StoreError(.database, "cannot create the database at \(path)", cause: error)
        }
    }

    /// Creates an empty file readable and writable by the owner only, whatever the umask (SQLite
    /// gives the database's WAL and shared-memory files the database file's permissions).
    static func createOwnerOnlyFile(_ path: String) throws(StoreError) {
        let fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError(.io, "cannot create \(path): \(String(cString: strerror(errno)))") }
        fchmod(fd, 0o600)
        Glibc.close(fd)
    }

    /// Throws unless `path` holds a Gongji database (reads its header only; writes nothing).
    public static func checkDatabase(path: String) throws(StoreError) {
        _ = try recognise(path: path)
    }

    /// Refuses a file that is not a Gongji database, reading only its header (nothing is written).
    /// Returns whether the file is a database of an earlier gongjid without an application id,
    /// which `open` then marks.
    static func recognise(path: String) throws(StoreError) -> Bool {
        let restore = "restore it from a backup (`gongjid backup`), or move it away and run `gongjid init` for a new, empty database"
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw StoreError(.configuration, "there is no database at \(path); `gongjid init` creates a new, empty one")
        }
        guard !isDirectory.boolValue else {
            throw StoreError(.configuration, "\(path) is a directory, not a Gongji database: database.path names the database file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw StoreError(.configuration, "cannot read \(path)")
        }
        let header = (try? handle.read(upToCount: 100)) ?? Data()
        try? handle.close()
        if header.isEmpty {
            throw StoreError(.configuration, "\(path) is empty (0 bytes), not a Gongji database: a failed copy or restore? \(restore)")
        }
        guard header.count == 100, header.prefix(16) == Data("SQLite format 3\0".utf8) else {
            throw StoreError(.configuration, "\(path) is not an SQLite database: \(restore)")
        }
        let applicationID = header[68..<72].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        if applicationID == Schema.applicationID { return false }
        guard applicationID == 0, (try? hasGongjiMigrations(path: path)) == true else {
            throw StoreError(.configuration, "\(path) is not a Gongji database (SQLite application_id \(applicationID)): \(restore)")
        }
        return true
    }

    /// Whether a database without an application id holds Gongji's first migration (a file of
    /// gongjid before application ids). Opened read-only.
    private static func hasGongjiMigrations(path: String) throws -> Bool {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        return try queue.read { db in
            try db.tableExists("grdb_migrations") && Schema.migrator.appliedIdentifiers(db).contains("v1")
        }
    }

    /// After opening: refuses a database migrated by a newer gongjid, applies this build's
    /// migrations, and marks a database of an earlier gongjid with the application id.
    static func prepare(_ pool: DatabasePool, path: String, markApplication: Bool) throws {
        let unknown = try pool.read { db in try Schema.migrator.appliedIdentifiers(db).subtracting(Schema.migrator.migrations) }
        guard unknown.isEmpty else {
            throw StoreError(
                .configuration,
                "\(path) was migrated by a newer gongjid (migrations \(unknown.sorted().joined(separator: ", "))); run that version")
        }
        try Schema.migrator.migrate(pool)
        if markApplication {
            try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA application_id = \(Schema.applicationID)") }
        }
    }
}
