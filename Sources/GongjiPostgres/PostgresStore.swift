import Foundation
import GongjiCore
import GongjiStorage
import Logging
import PostgresNIO
import Synchronization

/// The store in one PostgreSQL database, shared by any number of gongjid processes.
///
/// Every mutation (a script of `GongjiStorage/UseCases.swift`, run by `run`) is one transaction
/// that first locks the rows its decision depends on (the accounts it may debit, the binding it
/// changes, the authorizer whose bindings it counts — in a fixed order, `FactsRequest`), then
/// reads the facts, lets the core decide and writes the write-set (`apply`). So two daemons
/// paying on one account at the same moment are serialised on that account's row and never
/// overspend it, while payments on different accounts run in parallel. Uniqueness (a request id,
/// a paid member-year, an open binding per pair) is enforced by the schema: a concurrent
/// duplicate fails with a unique violation and its transaction is run again from the start, when
/// it finds the first one's result (at most `attemptsMax` times; deadlocks likewise). Measured
/// against SERIALIZABLE with retries (bench/notes.md): SSI's predicate locks on the shared
/// indexes (ledger, payments, account uses) failed most concurrent transactions on *different*
/// accounts and the retries multiplied the work. Times are inputs, as in the SQLite store.
///
/// Lock order (R-MULTI-2), in every transaction that locks more than one kind of row: the
/// settlement row (a reversal), then the binding, then the person, then the accounts in ID-number
/// order (`lockAccounts`), as `FactsRequest` names them. Explicit locks are `FOR NO KEY UPDATE`: the `KEY SHARE` lock a foreign
/// key takes (a settlement posting naming its binding, a payment naming its binding) does not
/// wait for them, so a settlement holding accounts and a payment holding the binding do not wait
/// on each other. A deadlock or serialization failure the server still reports restarts the whole
/// transaction (bounded, with jitter); every statement's rows are read to the end so that such an
/// error is never lost (`PostgresConnection.run`).
public final class PostgresStore: FamilyAccountStore {
    /// How often the pool moved to another primary (failover) since start.
    public var primaryMoves: Int { pool.moves }
    /// The primary's pool (with several hosts, it follows the primary: `PrimaryPool`).
    let pool: PrimaryPool
    let logger: Logger
    /// Whether the server is reachable (and has space): health follows it.
    public let storage: StorageStatus
    /// The pool's use, for metrics: connections in use, how long calls waited for one, moves of the primary.
    public let statistics = PoolStatistics()
    /// Woken after each use case this daemon commits, and by `followCommittedEvents` for the others'.
    public let eventSignal = EventSignal()
    /// How often a transaction is tried before its serialization failure is reported.
    static let attemptsMax = 40

    /// The connection settings of each host of a `postgres://user[:password]@host[:port][,host[:port]…]/database`
    /// URL: one host, or a primary and its standbys (failover, `PrimaryPool`).
    public static func configurations(
        url: String, tls: PostgresClient.Configuration.TLS = .disable,
        poolSize: Int = 20
    ) throws(StoreError) -> [PostgresClient.Configuration] {
        guard let schemeEnd = url.range(of: "://") else { return [try configuration(url: url, tls: tls, poolSize: poolSize)] }
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let at = authority.lastIndex(of: "@")
        let userInfo = at.map { String(authority[...$0]) } ?? ""
        let hosts = (at.map { authority[authority.index(after: $0)...] } ?? authority).split(
            separator: ",", omittingEmptySubsequences: false)
        guard hosts.count > 1 else { return [try configuration(url: url, tls: tls, poolSize: poolSize)] }
        var result: [PostgresClient.Configuration] = []
        for host in hosts {
            let single = String(url[..<schemeEnd.upperBound]) + userInfo + host + String(rest[authorityEnd...])
            result.append(try configuration(url: single, tls: tls, poolSize: poolSize))
        }
        return result
    }

    /// The connection settings of a `postgres://user[:password]@host[:port]/database` URL.
    public static func configuration(
        url: String, tls: PostgresClient.Configuration.TLS = .disable,
        poolSize: Int = 20
    ) throws(StoreError) -> PostgresClient.Configuration {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? ""),
            let host = components.host, !host.isEmpty, let user = components.user
        else { throw StoreError(.configuration, "'\(url)' is not a postgres://user@host[:port]/database URL") }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        var configuration = PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: user,
            password: components.password, database: database.isEmpty ? nil : database, tls: tls)
        configuration.options.maximumConnections = poolSize
        configuration.options.connectTimeout = .seconds(5)
        for item in components.queryItems ?? [] where item.name == "search_path" {
            configuration.options.additionalStartupParameters.append(("search_path", item.value ?? "public"))
        }
        return configuration
    }

    /// Connects (the pool runs until `close()`) and applies the migrations this database lacks,
    /// under an advisory lock so that daemons starting together migrate once.
    public convenience init(
        configuration: PostgresClient.Configuration, logger: Logger, storage: StorageStatus = StorageStatus(),
        leaseTimeout: Duration = PostgresStore.defaultLeaseTimeout
    ) async throws {
        try await self.init(configurations: [configuration], logger: logger, storage: storage, leaseTimeout: leaseTimeout)
    }

    /// Connects to the host of `configurations` that accepts writes (failover: `PrimaryPool`) and
    /// migrates as `init(configuration:)` does.
    public init(
        configurations: [PostgresClient.Configuration], logger: Logger, storage: StorageStatus = StorageStatus(),
        leaseTimeout: Duration = PostgresStore.defaultLeaseTimeout
    ) async throws {
        self.leaseTimeout = leaseTimeout
        pool = try await PrimaryPool(configurations: configurations, logger: logger)
        self.logger = logger
        self.storage = storage
        do {
            try await migrate()
        } catch {
            pool.close()
            throw error
        }
    }

    /// The names of the migrations applied to the database (its `gongji_migration` table exists).
    static func appliedMigrations(on c: PostgresConnection, logger: Logger) async throws -> Set<String> {
        var names = Set<String>()
        for try await name in try await c.checkedQuery("SELECT name FROM gongji_migration", logger: logger).decode(String.self) {
            names.insert(name)
        }
        return names
    }

    /// Refuses a search path that names no schema of the database: the tables, and the advisory
    /// locks (`AdvisoryLock`), are in the first schema of it that exists.
    static func requireSchema(on c: PostgresConnection, logger: Logger) async throws {
        guard try await c.row("SELECT current_schema() IS NOT NULL AS present", logger: logger)?.bool("present") == true else {
            throw StoreError(
                .configuration,
                "the URL's search_path names no schema that exists in the database (create it first: CREATE SCHEMA)")
        }
    }

    /// Refuses a database a newer gongjid migrated: this build would not know its tables.
    static func refuseNewer(_ applied: Set<String>) throws(StoreError) {
        let unknown = applied.subtracting(PostgresSchema.migrations.map { $0.name })
        guard unknown.isEmpty else {
            throw StoreError(
                .configuration,
                "the PostgreSQL database was migrated by a newer gongjid (migrations "
                    + unknown.sorted().joined(separator: ", ") + "): run that version or a later one")
        }
    }

    /// What `gongjid check-config` reports of the database, changing nothing: reachable within
    /// `timeout`, the migrations applied and those this build would apply on start; a database
    /// migrated by a newer gongjid is refused as `run` would refuse it.
    public static func probe(
        configurations: [PostgresClient.Configuration], logger: Logger,
        timeout: Duration = .seconds(5)
    ) async throws -> (applied: Int, pending: Int) {
        var configuration = configurations[0]
        if configurations.count > 1 {
            guard let host = await PrimaryPool.writableHost(configurations, logger: logger) else {
                throw StoreError(.unavailable, "none of the \(configurations.count) PostgreSQL hosts accepts writes")
            }
            configuration = configurations[host]
        }
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let runner = Task.immediate { await client.run() }
        defer { runner.cancel() }
        let applied: Set<String>? = try await withThrowingTaskGroup(of: Set<String>?.self) { group in
            group.addTask {
                try await client.withConnection { c in
                    try await requireSchema(on: c, logger: logger)
                    guard
                        try await c.row("SELECT to_regclass('gongji_migration') IS NOT NULL AS present", logger: logger)?.bool("present")
                            == true
                    else { return [] }
                    return try await appliedMigrations(on: c, logger: logger)
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
        guard let applied else { throw StoreError(.unavailable, "no connection to the PostgreSQL database within \(timeout)") }
        try refuseNewer(applied)
        return (applied.count, PostgresSchema.migrations.filter { !applied.contains($0.name) }.count)
    }

    /// Stops the pool.
    public func close() {
        pool.close()
    }

    /// Applies missing migrations, once, whichever daemon gets the lock first.
    func migrate() async throws {
        try await pool.withConnection { connection in
            try await Self.requireSchema(on: connection, logger: logger)
            try await connection.run(
                "SELECT pg_advisory_lock(\(unescaped: AdvisoryLock.migration.arguments))", logger: logger)
            do {
                try await connection.run(
                    "CREATE TABLE IF NOT EXISTS gongji_migration (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)",
                    logger: logger)
                let applied = try await Self.appliedMigrations(on: connection, logger: logger)
                try Self.refuseNewer(applied)
                for (name, sql) in PostgresSchema.migrations where !applied.contains(name) {
                    try await connection.inTransaction("BEGIN", logger: logger) {
                        // One statement per query (the extended protocol takes one); statements end with ";\n".
                        for statement in sql.components(separatedBy: ";\n")
                        where !statement.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                            try await connection.run(PostgresQuery(unsafeSQL: statement), logger: logger)
                        }
                        try await connection.run(
                            "INSERT INTO gongji_migration (name, applied_at) VALUES (\(name), \(Int64(Date().timeIntervalSince1970)))",
                            logger: logger)
                    }
                }
            } catch {
                if !Self.connectionLost(error) {
                    try? await connection.run(
                        "SELECT pg_advisory_unlock(\(unescaped: AdvisoryLock.migration.arguments))", logger: logger)
                }
                throw Self.mapped(error)
            }
            try await connection.run(
                "SELECT pg_advisory_unlock(\(unescaped: AdvisoryLock.migration.arguments))", logger: logger)
        }
    }

    /// Runs `body` in a READ COMMITTED transaction (each statement sees what committed before it;
    /// `body` takes row locks before reading what it decides on), again from the start after a
    /// deadlock, a serialization failure or a unique violation by a concurrent transaction
    /// (whose effect the next attempt then reads). Domain errors pass; the rest becomes a `StoreError`.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let logger = self.logger
        var attempt = 0
        while true {
            attempt += 1
            do {
                let result = try await leased { connection in
                    try await connection.inTransaction("BEGIN ISOLATION LEVEL READ COMMITTED", logger: logger) {
                        try await body(connection)
                    }
                }
                storage.recordWritten()
                StoreTracing.note("gongji.attempts", attempt)
                return result
            } catch let error as PSQLError where Self.isRetryable(error) && attempt < Self.attemptsMax {
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(2 * attempt + 3))))
                continue
            } catch {
                let mapped = Self.mapped(error)
                storage.record(mapped)
                if !(mapped is any DecidedError) { storage.recordReachableIfAnswered(mapped) }
                throw mapped
            }
        }
    }

    /// Runs `body` in a read-only REPEATABLE READ transaction, so that all its queries see one
    /// snapshot. A body of one statement passes `snapshot: false`: a statement sees one snapshot
    /// of its own, and the BEGIN and COMMIT would be two more round trips.
    func read<T: Sendable>(snapshot: Bool = true, _ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let logger = self.logger
        do {
            let result = try await leased { connection in
                guard snapshot else { return try await body(connection) }
                return try await connection.inTransaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger) {
                    try await body(connection)
                }
            }
            storage.recordReachable()
            return result
        } catch {
            let mapped = Self.mapped(error)
            storage.record(mapped)
            throw mapped
        }
    }

    /// How long a request waits for a connection before it is answered DATABASE_UNAVAILABLE (the
    /// pool keeps reconnecting meanwhile; a call should not hang until its deadline).
    public static let defaultLeaseTimeout: Duration = .seconds(3)
    /// This store's wait for a connection (`defaultLeaseTimeout` in the daemon; the store
    /// contract's tests wait longer, as the whole suite shares one loaded machine).
    let leaseTimeout: Duration

    /// Runs `body` on a pooled connection, or fails `.unavailable` when none comes within
    /// `leaseTimeout` (the server is down or every connection is busy for that long).
    func leased<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let moves = pool.moves
        do {
            return try await leasedOnce(body)
        } catch {
            // The primary may have gone (or be a standby now): with several hosts, look for it.
            if Self.connectionLost(error) || Self.isReadOnly(error) { pool.suspect() }
            // The pool this call waited on was shut down when the primary moved.
            if pool.moves != moves, !(error is any DecidedError) {
                throw StoreError(.unavailable, "the PostgreSQL primary moved while the call waited for it; retry")
            }
            throw error
        }
    }

    /// One lease: `body` runs with its connection's event loop as the task's executor
    /// (`EventLoopExecutor`), so each statement is written and each answer read back on the loop
    /// that owns the connection — two thread hops per round trip fewer.
    private func leasedOnce<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let started = LeaseFlag()
        let client = pool.client
        let statistics = self.statistics
        let asked = ContinuousClock.now
        let leaseTimeout = self.leaseTimeout
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await client.withConnection { connection in
                    started.set()
                    statistics.leased(waited: ContinuousClock.now - asked)
                    defer { statistics.returned() }
                    return try await withTaskExecutorPreference(EventLoopExecutor(connection.eventLoop)) {
                        try await body(connection)
                    }
                }
            }
            group.addTask {
                try await Task.sleep(for: leaseTimeout)
                guard started.isSet else {
                    throw StoreError(.unavailable, "no connection to the PostgreSQL database within \(leaseTimeout)")
                }
                return nil
            }
            while let next = try await group.next() {
                if let result = next {
                    group.cancelAll()
                    return result
                }
            }
            throw StoreError(.database, "the connection task ended without a result")
        }
    }

    /// Asks the server whether it is there (health probes while it was not).
    public func ping() async -> Bool {
        do {
            let logger = self.logger
            _ = try await leased { connection in
                try await connection.run("SELECT 1", logger: logger)
                return true
            }
            storage.recordReachable()
            return true
        } catch {
            storage.record(Self.mapped(error))
            return false
        }
    }

    /// Locks a binding, then its authorizer's account (the order every use case keeps).
    static func lockBindingAndAccount(_ bindingID: String, on c: PostgresConnection, logger: Logger) async throws {
        try await c.run(try Prepared<HotPath.LockBindingAndAccount>(bindingID), logger: logger)
    }

    /// Locks the accounts of `owners` (those that exist), in ID order so that transactions
    /// locking several never deadlock each other.
    static func lockAccounts(_ owners: [ResidentID], on c: PostgresConnection, logger: Logger) async throws {
        let ids = Array(Set(owners.map(\.value))).sorted()
        guard !ids.isEmpty else { return }
        try await c.run(try Prepared<HotPath.LockAccounts>(ids), logger: logger)
    }

    /// Whether the server refused a write because it is a standby (SQLSTATE 25006): after a
    /// failover, a connection to the old primary's address that now serves a standby.
    static func isReadOnly(_ error: any Error) -> Bool {
        (error as? PSQLError)?.serverInfo?[.sqlState] == "25006"
    }

    static func isRetryable(_ error: PSQLError) -> Bool {
        guard error.code == .server, let state = error.serverInfo?[.sqlState] else { return false }
        return state == "40001" || state == "40P01" || state == "23505"
    }

    /// Whether a server error says the server is going away or not taking work: class 08
    /// (connection exception), 57P01–57P03 (shut down by an administrator or a crash, starting up),
    /// 53300 (too many connections). A transaction it ended did not commit, or its COMMIT's answer
    /// was lost: either way the client retries with the same key or id, which returns the original.
    static func isUnavailable(sqlState: String) -> Bool {
        sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03", "53300"].contains(sqlState)
    }

    /// Whether `error` means the connection is gone (closed, or ended by the server): the server
    /// has rolled its transaction back, and a ROLLBACK sent on it would wait for an answer that
    /// never comes.
    static func connectionLost(_ error: any Error) -> Bool {
        if let error = error as? StoreError { return error.code == .unavailable }
        guard let error = error as? PSQLError else { return false }
        return error.code != .server || isUnavailable(sqlState: error.serverInfo?[.sqlState] ?? "")
    }

    /// Decided and store errors pass; an unreachable database is `.unavailable`; the rest `.database`.
    /// A server error's message names its SQLSTATE and the statement that failed (its SQL text,
    /// which carries placeholders, never values), so that an operator can tell contention from a
    /// fault; postgres-nio's own description of a `PSQLError` says nothing, on purpose.
    static func mapped(_ error: any Error) -> any Error {
        switch error {
        case let error as any DecidedError: return error
        case let error as StoreError: return error
        case let error as PSQLError where error.code != .server:
            return StoreError(.unavailable, "the PostgreSQL database is unreachable (\(error.code))\(statementName(error))")
        case let error as PSQLError where isUnavailable(sqlState: error.serverInfo?[.sqlState] ?? ""):
            return StoreError(.unavailable, "the PostgreSQL server is shutting down or not accepting connections: " + serverText(error))
        case let error as PSQLError where isReadOnly(error):
            return StoreError(.unavailable, "the PostgreSQL server does not accept writes (a standby): " + serverText(error))
        case let error as PSQLError:
            if error.serverInfo?[.sqlState] == "53100" {
                return StoreError(.storageFull, "the PostgreSQL server's disk is full: " + serverText(error))
            }
            return StoreError(.database, "PostgreSQL: " + serverText(error))
        default:
            return StoreError(.database, "PostgreSQL failed", cause: error)
        }
    }

    /// `SQLSTATE 40P01 deadlock detected, in 'SELECT …'`: the server's code and message (never its
    /// detail, which may quote the values of a row) and the statement.
    static func serverText(_ error: PSQLError) -> String {
        "SQLSTATE \(error.serverInfo?[.sqlState] ?? "?") \(error.serverInfo?[.message] ?? "\(error.code)")\(statementName(error))"
    }

    /// `, in 'SELECT id_number FROM account WHERE …'`: the start of the failing statement's SQL.
    static func statementName(_ error: PSQLError) -> String {
        guard let sql = error.query?.sql else { return "" }
        let words = sql.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).joined(separator: " ")
        return ", in '\(words.count > 96 ? words.prefix(95) + "…" : words)'"
    }
}

// MARK: Rows

extension PostgresConnection {
    /// Runs `query`, refusing at once on a connection the server has closed. (postgres-nio 1.33
    /// writes a query to its channel without a promise: once the channel is closed and its
    /// handlers are gone, the write fails where nobody hears it and the query waits forever.
    /// Every query of this module goes through here.)
    func checkedQuery(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        guard !isClosed else { throw StoreError(.unavailable, "the connection to the PostgreSQL server was closed") }
        return try await self.query(query, logger: logger)
    }

    /// Runs `body` between `begin` and COMMIT; on an error, rolls back — unless the connection is
    /// gone, when the server has rolled back already and a ROLLBACK would wait for no answer.
    func inTransaction<T>(_ begin: PostgresQuery, logger: Logger, _ body: () async throws -> T) async throws -> T {
        try await run(begin, logger: logger)
        do {
            let result = try await body()
            try await run("COMMIT", logger: logger)
            return result
        } catch {
            if !PostgresStore.connectionLost(error) { try? await run("ROLLBACK", logger: logger) }
            throw error
        }
    }

    /// Runs `query` and collects its rows.
    func rows(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRandomAccessRow] {
        var result: [PostgresRandomAccessRow] = []
        for try await row in try await checkedQuery(query, logger: logger) { result.append(row.makeRandomAccess()) }
        return result
    }

    /// Runs `query` and returns its first row, if any.
    func row(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRandomAccessRow? {
        try await rows(query, logger: logger).first
    }

    /// Runs a statement to its end. The rows are read (and dropped), never left unread:
    /// postgres-nio answers a query once its first rows arrive, and an error the server reports
    /// after them — a deadlock detected while `SELECT … FOR NO KEY UPDATE` waits for its second
    /// row, say — surfaces only to whoever reads on. Left unread, it was lost, the transaction was
    /// aborted without anyone knowing, and the next statement failed with 25P02 ("current
    /// transaction is aborted"), which is no reason to retry: contention answered INTERNAL.
    func run(_ query: PostgresQuery, logger: Logger) async throws {
        for try await _ in try await checkedQuery(query, logger: logger) {}
    }
}

extension PostgresRandomAccessRow {
    func string(_ column: String) throws -> String { try self[column].decode(String.self) }
    func optionalString(_ column: String) throws -> String? { try self[column].decode(String?.self) }
    func int(_ column: String) throws -> Int64 { try self[column].decode(Int64.self) }
    func optionalInt(_ column: String) throws -> Int64? { try self[column].decode(Int64?.self) }
    func bool(_ column: String) throws -> Bool { try self[column].decode(Bool.self) }
    func money(_ column: String) throws -> Money { Money(fen: try int(column)) }
    func id(_ column: String) throws -> ResidentID { try ResidentID.stored(try string(column)) }
}

/// Whether a lease reached its connection.
///
/// An atomic, as `PoolStatistics`'s count of leases: `leasedOnce`'s closure updates them on both
/// sides of the hop from the connection's event loop back to the caller's executor, and a
/// `Mutex` there crashed in release builds — Swift 6.3's optimizer kept the address of the
/// Mutex's thread id (a C thread-local) across the hop, so the closure locked with the id of the
/// thread it had left ("Call to unlock Mutex on a thread which hasn't acquired the lock"). An
/// atomic uses no thread id. `scripts/check-thread-locals` finds the pattern in a release binary.
final class LeaseFlag: Sendable {
    private let value = Atomic(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

/// How the connection pool is used: read by the daemon's metrics at each scrape
/// (`gongji_db_connections_in_use`, `gongji_db_pool_wait_seconds`, `gongji_db_primary_moves_total`).
public final class PoolStatistics: Sendable {
    /// An atomic, not a Mutex: see `LeaseFlag`.
    private let leases = Atomic(0)
    /// Told how long each lease waited (set once, by the daemon, before calls come). Boxed: a
    /// closure kept directly in a `Mutex` is passed `inout` through `withLock`'s generic
    /// parameter, and Swift wrapped it in two more reabstraction thunks at every read — after
    /// 100,000 leases each one ran a chain of 200,000 thunks (found seeding `bench/run
    /// --postgresql`: the daemon spent 90% of its CPU there, and a long enough chain overflows
    /// the stack).
    private let observer = Mutex<LeaseObserver?>(nil)

    private final class LeaseObserver: Sendable {
        let observe: @Sendable (Duration) -> Void
        init(_ observe: @escaping @Sendable (Duration) -> Void) { self.observe = observe }
    }

    init() {}

    /// Connections leased now.
    public var inUse: Int { leases.load(ordering: .relaxed) }

    /// Has `observe` told of every lease's wait for a connection.
    public func onLease(_ observe: @escaping @Sendable (Duration) -> Void) {
        let box = LeaseObserver(observe)
        observer.withLock { $0 = box }
    }

    func leased(waited: Duration) {
        leases.add(1, ordering: .relaxed)
        observer.withLock { $0 }?.observe(waited)
    }

    func returned() { leases.subtract(1, ordering: .relaxed) }
}
