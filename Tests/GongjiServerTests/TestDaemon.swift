import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GongjiClient
import GongjiCore
import GongjiDev
import GongjiProto
import GongjiSQLite
import GongjiServer
import GongjiStorage
import Logging
import Synchronization

/// A settable clock for tests.
final class TestClock: GongjiClock {
    private let now: Mutex<Int64>
    init(_ unix: Int64 = Int64(Date().timeIntervalSince1970)) { now = Mutex(unix) }
    func nowUnix() -> Int64 { now.withLock { $0 } }
    func advance(seconds: Int64) { now.withLock { $0 += seconds } }
}

/// A throwaway PKI written to files: CA, server, a client per role, a client of another CA.
struct TestPKI {
    let directory: URL
    let ca: DevPKI
    let clients: [String: DevPKI.Issued]
    let stranger: DevPKI.Issued
    let strangerCA: DevPKI

    static let identities = [
        "gateway": "test-gateway", "reviewer": "test-reviewer", "operator": "test-operator",
        "nobody": "test-nobody", "settlement": "test-settlement", "clinic": "test-clinic", "notifier": "test-notifier",
    ]

    init(directory: URL) throws {
        self.directory = directory
        ca = try DevPKI(name: "Test CA")
        var clients: [String: DevPKI.Issued] = [:]
        for (role, identity) in Self.identities { clients[role] = try ca.issueClient(identity: identity) }
        self.clients = clients
        strangerCA = try DevPKI(name: "Stranger CA")
        stranger = try strangerCA.issueClient(identity: "test-gateway")
        let server = try ca.issueServer()
        try ca.caCertificatePEM.write(to: directory.appendingPathComponent("ca.pem"), atomically: true, encoding: .utf8)
        try server.certificatePEM.write(to: directory.appendingPathComponent("server.pem"), atomically: true, encoding: .utf8)
        try server.privateKeyPEM.write(to: directory.appendingPathComponent("server-key.pem"), atomically: true, encoding: .utf8)
    }
}

/// A real daemon on 127.0.0.1 port 0 with real TLS, built by the same composition root as gongjid.
final class TestDaemon: Sendable {
    let directory: URL
    let config: GongjiConfig
    let daemon: GongjiDaemon
    let port: Int
    let clock: TestClock
    let pki: TestPKI
    private let task: Task<Void, any Error>

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Starts a daemon. `directory` lets a test restart on the same files.
    static func start(
        directory: URL? = nil, pki: TestPKI? = nil, clock: TestClock = TestClock(),
        limits: GongjiConfig.Limits = .defaults, policies: URL? = nil,
        metrics: GongjiConfig.Metrics? = nil, postgresql: String? = nil, tracing: GongjiConfig.Tracing? = nil,
        events: GongjiConfig.Events? = nil
    ) async throws -> TestDaemon {
        let dir = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("gongji-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let pki = try pki ?? TestPKI(directory: dir)
        let policyDir = dir.appendingPathComponent("policies")
        if !FileManager.default.fileExists(atPath: policyDir.path) {
            try FileManager.default.createDirectory(at: policyDir, withIntermediateDirectories: true)
            try DevEnvironment.writeDemoPolicies(
                from: policies ?? repositoryRoot.appendingPathComponent("deploy/policies"),
                to: policyDir, today: clock.today())
        }
        let keyFile = dir.appendingPathComponent("master.key")
        if !FileManager.default.fileExists(atPath: keyFile.path) { try Secrets.generateKeyFile(at: keyFile.path) }
        let databasePath = dir.appendingPathComponent("gongji.sqlite").path
        if postgresql == nil, !FileManager.default.fileExists(atPath: databasePath) { try SQLiteStore.create(path: databasePath) }
        let config = GongjiConfig(
            listen: .init(host: "127.0.0.1", port: 0),
            tls: .init(
                certificate: dir.appendingPathComponent("server.pem").path,
                privateKey: dir.appendingPathComponent("server-key.pem").path,
                clientCA: dir.appendingPathComponent("ca.pem").path),
            roles: [
                "gateway": [TestPKI.identities["gateway"]!], "reviewer": [TestPKI.identities["reviewer"]!],
                "operator": [TestPKI.identities["operator"]!],
                "settlement": [TestPKI.identities["settlement"]!, TestPKI.identities["clinic"]!],
                "notifier": [TestPKI.identities["notifier"]!],
            ],
            database: postgresql.map { .init(postgresql: .init(url: $0, poolSize: 8)) } ?? .init(path: databasePath),
            documents: .init(directory: dir.appendingPathComponent("documents").path),
            secrets: .init(keyFile: keyFile.path),
            policies: .init(directory: policyDir.path),
            limits: limits, metrics: metrics,
            // The hub settles for every institution; the clinic only for the demo hospital.
            settlement: .init(institutions: [TestPKI.identities["settlement"]!: ["*"], TestPKI.identities["clinic"]!: ["H15010000001"]]),
            tracing: tracing, events: events)
        var logger = Logger(label: "test")
        logger.logLevel = ProcessInfo.processInfo.environment["GONGJI_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        let daemon = try await GongjiDaemon.build(config: config, clock: clock, logger: logger)
        // R-MULTI-1: on PostgreSQL the daemon re-reads the region switches as gongjid does.
        let availability = daemon.postgres == nil ? nil : AvailabilityWatch(service: daemon.service, logger: logger)
        let task = Task {
            try await withThrowingDiscardingTaskGroup { group in
                if let metricsServer = daemon.metricsServer { group.addTask { try await metricsServer.run() } }
                if let availability { group.addTask { try await availability.run() } }
                if let tracing = daemon.tracing { group.addTask { try await tracing.service.run() } }
                // R-EVT-2: another daemon's events wake this one's followers, as in gongjid.
                if let postgres = daemon.postgres { group.addTask { await postgres.followCommittedEvents() } }
                try await daemon.server.serve()
                throw CancellationError()
            }
        }
        let port = try await daemon.listeningPort()
        return TestDaemon(directory: dir, config: config, daemon: daemon, port: port, clock: clock, pki: pki, task: task)
    }

    private init(
        directory: URL, config: GongjiConfig, daemon: GongjiDaemon, port: Int, clock: TestClock, pki: TestPKI,
        task: Task<Void, any Error>
    ) {
        self.directory = directory
        self.config = config
        self.daemon = daemon
        self.port = port
        self.clock = clock
        self.pki = pki
        self.task = task
    }

    /// Two daemons on one PostgreSQL database (`url`, or a fresh schema of the test server), the
    /// second sharing the first's directory (master key, policies) and PKI.
    static func startTwo(clock: TestClock, policies: URL? = nil, postgresql url: String? = nil) async throws -> (TestDaemon, TestDaemon) {
        let url = if let url { url } else { try await freshPostgresSchema() }
        let first = try await start(clock: clock, policies: policies, postgresql: url)
        let second = try await start(directory: first.directory, pki: first.pki, clock: clock, policies: policies, postgresql: url)
        return (first, second)
    }

    /// Stops each of `daemons`, one after the other.
    static func stop(_ daemons: TestDaemon...) async {
        for daemon in daemons { await daemon.stop() }
    }

    /// Stops the server and closes the database.
    func stop() async {
        daemon.service.events?.stop()
        daemon.server.beginGracefulShutdown()
        if daemon.metricsServer != nil || daemon.tracing != nil { task.cancel() }
        _ = try? await task.value
        try? daemon.closeStore()
    }

    /// Runs `body` with a client that presents the certificate of `role` ("gateway", "reviewer",
    /// "operator", "nobody" — trusted but without a role — "stranger" — another CA — or "none").
    func withClient<T: Sendable>(_ role: String, _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> T) async throws -> T {
        let issued: DevPKI.Issued? =
            switch role {
            case "none": nil
            case "stranger": pki.stranger
            default: pki.clients[role]
            }
        let transport = try makeClientTransport(
            host: "127.0.0.1", port: port, ca: .text(pki.ca.caCertificatePEM),
            certificate: issued.map { .text($0.certificatePEM) }, key: issued.map { .text($0.privateKeyPEM) })
        return try await withGRPCClient(transport: transport) { client in try await body(client) }
    }
}

/// Options that fail fast instead of waiting for a connection that will never be accepted.
let failFast: CallOptions = {
    var options = CallOptions.defaults
    options.waitForReady = false
    options.timeout = .seconds(10)
    return options
}()

/// Metadata naming the end user.
func endUser(_ id: String) -> Metadata { ["x-gongji-end-user": .string(id)] }

/// The gRPC status code of a failing call, or nil when it succeeds.
func statusCode<T>(_ body: () async throws -> T) async -> RPCError.Code? {
    do {
        _ = try await body()
        return nil
    } catch let error as RPCError { return error.code } catch { return .unknown }
}

/// The RPCError of a failing call.
func rpcFailure<T>(_ body: () async throws -> T) async -> RPCError? {
    do {
        _ = try await body()
        return nil
    } catch { return error as? RPCError }
}

/// A `gongjid dev` environment (throwaway PKI, configuration, an empty database) in a new
/// temporary directory named with `prefix`, and its configuration.
func makeDevEnvironment(
    _ prefix: String, today: CivilDate = SystemClock().today(),
    database: DevEnvironment.Database = .sqlite
) throws -> (DevEnvironment, GongjiConfig) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    let env = try DevEnvironment.create(
        at: dir, policySource: TestDaemon.repositoryRoot.appendingPathComponent("deploy/policies"),
        host: "127.0.0.1", port: 0, today: today, database: database)
    return (env, try GongjiConfig.load(path: env.configPath, environment: [:]))
}

/// Runs a keyed call (a request id or settlement id: a retry answers the first), again after
/// UNAVAILABLE or DEADLINE_EXCEEDED — what a gateway does, and what a test of several daemons
/// on a loaded machine needs (the whole suite shares 2 cores and one PostgreSQL server).
func retryingKeyed<T: Sendable>(attempts: Int = 6, _ call: () async throws -> T) async throws -> T {
    var attempt = 1
    while true {
        do {
            return try await call()
        } catch let error as RPCError where (error.code == .unavailable || error.code == .deadlineExceeded) && attempt < attempts {
            attempt += 1
            try await Task.sleep(for: .milliseconds(200 * attempt))
        }
    }
}
