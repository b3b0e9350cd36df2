import Foundation
import GongjiStorage
import Logging
import PostgresNIO
import Synchronization

/// The connection pool of the database's primary.
///
/// With one host it is that host's pool. With several (`postgres://u@a:5432,b:5432/db`: a primary
/// and its standbys, as libpq's `target_session_attrs=read-write`), it connects to the one that
/// accepts writes (`pg_is_in_recovery()` is false). When a call finds the primary gone — the
/// connection lost, no connection within the lease timeout, or a server that refuses writes
/// (SQLSTATE 25006, a standby) — the store calls `suspect()`, and the pool looks for the host that
/// accepts writes now, every 250 ms until one does, and moves to it without a restart. Calls in
/// the gap fail UNAVAILABLE (`DATABASE_UNAVAILABLE`), to be retried with their idempotency keys.
///
/// Two hosts that both accept writes (an old primary started again beside the promoted standby)
/// are an operator's error this cannot repair: the first in the URL's order is taken.
final class PrimaryPool: Sendable {
    struct Current {
        var client: PostgresClient
        var runner: Task<Void, Never>
        var host: Int
    }

    struct State {
        var current: Current
        /// How many times the pool moved to another host.
        var moves = 0
        var searching = false
        var closed = false
    }

    let configurations: [PostgresClient.Configuration]
    let logger: Logger
    private let state: Mutex<State>
    /// How long a host has to say whether it accepts writes.
    static let probeTimeout: Duration = .seconds(2)

    /// Connects to `configurations`' host that accepts writes (the only host when there is one);
    /// `.unavailable` when none does.
    init(configurations: [PostgresClient.Configuration], logger: Logger) async throws {
        precondition(!configurations.isEmpty, "a pool needs a host")
        self.configurations = configurations
        self.logger = logger
        var host = 0
        if configurations.count > 1 {
            guard let writable = await Self.writableHost(configurations, logger: logger) else {
                throw StoreError(
                    .unavailable,
                    "none of the \(configurations.count) PostgreSQL hosts accepts writes: "
                        + configurations.map { "\($0.host ?? "?"):\($0.port ?? 5432)" }.joined(separator: ", "))
            }
            host = writable
        }
        state = Mutex(State(current: Self.start(configurations[host], host: host, logger: logger)))
    }

    private static func start(_ configuration: PostgresClient.Configuration, host: Int, logger: Logger) -> Current {
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        // Started at once, so that the pool runs before the first lease.
        let runner = Task.immediate { await client.run() }
        return Current(client: client, runner: runner, host: host)
    }

    /// The current primary's pool.
    var client: PostgresClient { state.withLock { $0.current.client } }

    /// The index of the current primary in `configurations`.
    var host: Int { state.withLock { $0.current.host } }

    /// How many times the pool moved to another host: a call that fails after it began on an
    /// earlier count failed because its pool was shut down in the move (UNAVAILABLE, retry).
    var moves: Int { state.withLock { $0.moves } }

    /// Runs `body` on a connection to the current primary.
    func withConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await client.withConnection(body)
    }

    /// A call found the primary gone or read-only: with several hosts, look for the one that
    /// accepts writes now (one search at a time).
    func suspect() {
        guard configurations.count > 1 else { return }
        let start = state.withLock { state in
            guard !state.searching, !state.closed else { return false }
            state.searching = true
            return true
        }
        guard start else { return }
        Task { await self.search() }
    }

    private func search() async {
        let previous = host
        while !state.withLock({ $0.closed }) {
            if let writable = await Self.writableHost(configurations, logger: logger) {
                guard writable != previous else { break }
                let next = Self.start(configurations[writable], host: writable, logger: logger)
                let old: Current? = state.withLock { state in
                    guard !state.closed else { return nil }
                    let old = state.current
                    state.current = next
                    state.moves += 1
                    return old
                }
                guard let old else {
                    next.runner.cancel()
                    break
                }
                old.runner.cancel()
                logger.notice(
                    "the PostgreSQL primary moved; connected to the host that accepts writes",
                    metadata: [
                        "database.host": "\(configurations[writable].host ?? "?"):\(configurations[writable].port ?? 5432)",
                        "database.previous_host": "\(configurations[old.host].host ?? "?"):\(configurations[old.host].port ?? 5432)",
                    ])
                break
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
        state.withLock { $0.searching = false }
    }

    /// Stops the pool.
    func close() {
        let runner = state.withLock { state in
            state.closed = true
            return state.current.runner
        }
        runner.cancel()
    }

    /// The first host, in order, that answers within `probeTimeout` and is not in recovery.
    static func writableHost(_ configurations: [PostgresClient.Configuration], logger: Logger) async -> Int? {
        for (index, configuration) in configurations.enumerated() where await isWritable(configuration, logger: logger) {
            return index
        }
        return nil
    }

    static func isWritable(_ configuration: PostgresClient.Configuration, logger: Logger) async -> Bool {
        var single = configuration
        single.options.maximumConnections = 1
        single.options.minimumConnections = 0
        single.options.connectTimeout = .seconds(probeTimeout.components.seconds)
        let client = PostgresClient(configuration: single, backgroundLogger: logger)
        let runner = Task.immediate { await client.run() }
        defer { runner.cancel() }
        return await withTaskGroup(of: Bool?.self) { group in
            group.addTask {
                try? await client.withConnection { connection in
                    try await connection.row("SELECT pg_is_in_recovery() AS standby", logger: logger)?.bool("standby") == false
                }
            }
            group.addTask {
                try? await Task.sleep(for: probeTimeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? false
        }
    }
}
