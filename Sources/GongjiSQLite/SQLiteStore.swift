import Foundation
import GRDB
import GongjiCore
import GongjiStorage

/// The durable state of Gongji in one SQLite database (WAL, `synchronous=FULL`).
///
/// One `DatabasePool` for the life of the process. Each request's mutation is atomic: bulk
/// operations (import, rollover, clean-up) run in a write transaction of their own; the small
/// mutations of concurrent requests share durable transactions, each in its own savepoint
/// (`GroupCommit`), and are acknowledged only after the commit. Methods
/// take the time as an input (`now`, seconds since the Unix epoch) so that callers decide the clock.
public final class SQLiteStore: FamilyAccountStore {
    let pool: DatabasePool
    let observeTransaction: @Sendable (Duration) -> Void
    /// Payments share durable transactions (group commit).
    let groupCommit: GroupCommit
    /// A connection of its own for WAL checkpoints (see `SQLiteStore+Checkpoint.swift`).
    let checkpointConnection: DatabaseQueue
    /// The log size above which `checkpoint()` restarts the log, and to which its file is truncated.
    let walBytesMax: Int
    /// Requests queued for the next group-committed transaction (for metrics).
    public var groupCommitQueueDepth: Int { groupCommit.queueDepth }
    /// Whether writes fail for lack of space.
    public let storage: StorageStatus
    /// Woken after each use case commits: one writer, so every event is this daemon's.
    public let eventSignal = EventSignal()

    /// Opens and migrates the Gongji database at `path`, which must exist (`SQLiteStore.create` makes a
    /// new one; see `SQLiteStore+Identity.swift` for what is refused). `observeTransaction` is
    /// told how long each write transaction took, `observeBatchSize` how many requests each
    /// group-committed transaction carried (for metrics).
    public init(
        path: String, observeTransaction: @escaping @Sendable (Duration) -> Void = { _ in },
        observeBatchSize: @escaping @Sendable (Int) -> Void = { _ in },
        walBytesMax: Int = SQLiteStore.defaultWALBytesMax, storage: StorageStatus = StorageStatus()
    ) throws(StoreError) {
        self.storage = storage
        self.walBytesMax = walBytesMax
        self.observeTransaction = observeTransaction
        let markApplication = try Self.recognise(path: path)
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(10)
        configuration.label = "gongji"
        do {
            let pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB sets synchronous=NORMAL on the writer after prepareDatabase; set FULL afterwards
            // so that an acknowledged commit survives a power cut, and check that it holds.
            let synchronous = try pool.writeWithoutTransaction { db -> Int in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                // The writer's page cache (KiB): the pages a payment touches stay in memory.
                try db.execute(sql: "PRAGMA cache_size = -\(Self.writerCacheKiB)")
                // After the WAL is reset, shrink its file back to this size.
                try db.execute(sql: "PRAGMA journal_size_limit = \(walBytesMax)")
                return try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
            }
            guard synchronous == 2 else {
                throw StoreError(.database, "PRAGMA synchronous is \(synchronous), expected 2 (FULL)")
            }
            try Self.quickCheck(pool, path: path)
            try Self.prepare(pool, path: path, markApplication: markApplication)
            self.pool = pool
            var checkpointConfiguration = Configuration()
            checkpointConfiguration.busyMode = .timeout(10)
            checkpointConfiguration.label = "gongji.checkpoint"
            checkpointConnection = try DatabaseQueue(path: path, configuration: checkpointConfiguration)
            try checkpointConnection.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
            self.groupCommit = GroupCommit(
                pool: pool,
                mapError: { error in
                    let mapped = Self.mapWriteError(error)
                    storage.record(mapped)
                    return mapped
                }
            ) { duration, size, committed in
                if committed { storage.recordWritten() }
                observeTransaction(duration)
                observeBatchSize(size)
            }
        } catch let error as StoreError {
            throw error
        } catch let error as DatabaseError where [.SQLITE_CORRUPT, .SQLITE_NOTADB].contains(error.resultCode) {
            throw Self.damaged(path, "\(error.resultCode)")
        } catch {
            throw StoreError(.database, "cannot open the database at \(path)", cause: error)
        }
    }

    /// How long the start-up check of the file may take; past it (a large database) the daemon
    /// starts, and `gongjid verify` checks the whole file.
    static let quickCheckTimeout: Double = 5

    /// `PRAGMA quick_check` at start, interrupted after `quickCheckTimeout`: a damaged page (a
    /// flipped byte, a zeroed or missing page) refuses to start instead of serving wrong data.
    static func quickCheck(_ pool: DatabasePool, path: String) throws(StoreError) {
        let interrupt = DispatchWorkItem { pool.interrupt() }
        DispatchQueue.global().asyncAfter(deadline: .now() + quickCheckTimeout, execute: interrupt)
        defer { interrupt.cancel() }
        let result: [String]
        do {
            result = try pool.read { try String.fetchAll($0, sql: "PRAGMA quick_check(3)") }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_INTERRUPT {
            return
        } catch let error as DatabaseError where [.SQLITE_CORRUPT, .SQLITE_NOTADB].contains(error.resultCode) {
            throw damaged(path, "\(error.resultCode)")
        } catch {
            throw StoreError(.database, "cannot check the database at \(path)", cause: error)
        }
        guard result == ["ok"] else { throw damaged(path, result.joined(separator: "; ")) }
    }

    static func damaged(_ path: String, _ finding: String) -> StoreError {
        StoreError(
            .configuration,
            "\(path) is damaged (PRAGMA quick_check: \(finding.prefix(200))): restore it from a backup "
                + "(`gongjid backup` made one), and find out why the disk or the copy damaged it")
    }

    /// The value of `PRAGMA synchronous` on the writer connection (2 = FULL).
    func synchronousMode() throws -> Int {
        try pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// Writes a consistent online copy of the database to `path` (SQLite's backup API).
    public func backup(to path: String) throws(StoreError) {
        try Self.createOwnerOnlyFile(path)
        do {
            let destination = try DatabaseQueue(path: path)
            try pool.backup(to: destination)
            try destination.close()
        } catch {
            throw StoreError(.database, "backup to \(path) failed", cause: error)
        }
    }

    /// Closes the database; later calls fail.
    public func close() throws {
        try checkpointConnection.close()
        try pool.close()
    }

    /// Runs `body` in one write transaction, mapping storage failures to `StoreError` and letting
    /// domain errors through.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let started = ContinuousClock.now
        defer { observeTransaction(ContinuousClock.now - started) }
        do {
            let result = try await pool.write(body)
            storage.recordWritten()
            return result
        } catch {
            let mapped = Self.mapWriteError(error)
            storage.record(mapped)
            throw mapped
        }
    }

    /// Decided and store errors pass; anything else from SQLite becomes a `StoreError`.
    @Sendable static func mapWriteError(_ error: any Error) -> any Error {
        switch error {
        case let error as any DecidedError: error
        case let error as StoreError: error
        case let error as DatabaseError where error.resultCode == .SQLITE_FULL:
            StoreError(.storageFull, "the database's file system is full", cause: error)
        default:
            StoreError.isOutOfSpace(error)
                ? StoreError(.storageFull, "the database's file system is full", cause: error)
                : StoreError(.database, "write transaction failed", cause: error)
        }
    }

    /// Runs `body` in a read transaction (a consistent snapshot), on one of GRDB's reader queues.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw Self.mapReadError(error)
        }
    }

    /// Runs `body` in a read transaction (a consistent snapshot) on the calling thread, for the
    /// point reads of a request (a few rows by key, microseconds from the page cache). GRDB's
    /// asynchronous read hops to a semaphore queue, then to a reader's queue, then back: three
    /// thread switches that cost a quote more CPU than its queries (measured in bench/notes.md).
    /// Readers are never exhausted by this: a thread holds one only while it runs `body`, and
    /// there are more readers than threads running tasks. Not for scans (they would hold a
    /// thread of the cooperative pool): those use `read`.
    func readNow<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.read(body)
        } catch {
            throw Self.mapReadError(error)
        }
    }

    static func mapReadError(_ error: any Error) -> any Error {
        error is any DecidedError ? error : StoreError(.database, "read failed", cause: error)
    }
}

extension SQLiteStore {
    public func ledgerSum() async throws -> Money {
        try await read { db in
            Money(fen: try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(SUM(amount_fen), 0) FROM ledger_entry")) ?? 0)
        }
    }

    public func ledgerBalance(of account: String) async throws -> Money {
        try await read { db in
            Money(
                fen: try Int64.fetchOne(
                    db.cachedStatement(sql: "SELECT COALESCE(SUM(amount_fen), 0) FROM ledger_entry WHERE account = ?"),
                    arguments: [account]) ?? 0)
        }
    }
}
