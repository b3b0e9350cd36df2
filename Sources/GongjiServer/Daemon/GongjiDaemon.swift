import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GongjiCore
import GongjiPostgres
import GongjiProto
import GongjiSQLite
import GongjiStorage
import GongjiTransport
import Logging
import NIOSSL
import PostgresNIO
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
    import Glibc
#endif

/// The composition root: builds every part of the daemon from a configuration. `gongjid` and the
/// tests call the same function.
public final class GongjiDaemon: Sendable {
    /// The gRPC server.
    public let server: GRPCServer<MessageLimitedTransport>
    /// The use cases.
    public let service: GongjiService
    /// The store behind the service.
    public let store: any FamilyAccountStore
    /// The SQLite store, in the embedded mode (checkpoints, backup and close need it as such).
    public let sqlite: SQLiteStore?
    /// The PostgreSQL store, when several daemons share one database.
    public let postgres: PostgresStore?
    /// Whether writes fail for lack of space or the database is out of reach.
    let storage: StorageStatus
    /// The configuration it was built from.
    public let config: GongjiConfig
    let health: HealthState
    let logger: Logger
    /// The server certificate, key and client CAs, reloadable.
    public let tlsMaterial: TLSMaterial
    /// Calls, payments, uploads, transactions, connections.
    public let metrics: DaemonMetrics
    /// The Prometheus endpoint, when `metrics` is configured.
    public let metricsServer: MetricsServer?
    /// Tracing, when `tracing` is configured.
    public let tracing: CallTracing?

    /// Opens the store, loads policies and keys, and builds the server. Fails with an error that
    /// names the configuration key or file at fault.
    public static func build(config: GongjiConfig, clock: any GongjiClock = SystemClock(), logger: Logger) async throws -> GongjiDaemon {
        try TLSMaterial.checkReadable(certificate: config.tls.certificate, privateKey: config.tls.privateKey, clientCA: config.tls.clientCA)
        let secrets = try Secrets(keyFile: config.secrets.keyFile)
        let book: PolicyBook
        do { book = try PolicyLoader.load(directory: config.policies.directory) } catch {
            throw ConfigError(key: "policies.directory", problem: error.message)
        }
        try ConfigCheck.checkStorage(config)
        let metrics = DaemonMetrics()
        let storage = StorageStatus()
        let opened = try await openStore(config, metrics: metrics, storage: storage, logger: logger)
        let store: any FamilyAccountStore = opened.postgres.map { $0 as any FamilyAccountStore } ?? opened.sqlite!
        let sqlite = opened.sqlite
        let postgres = opened.postgres
        let blobs: (any DocumentBlobs)? = postgres.map { PostgresDocumentBlobs(store: $0) }
        let documents = try DocumentStore(
            directory: config.documents.directory, key: secrets.documentKey,
            uploadBytesMax: config.uploadBytesMax, storage: storage, blobs: blobs)
        let state = RuntimeState(policies: book, roles: RoleBook(config))
        let events = EventFeed(
            store: store, signal: postgres?.eventSignal ?? sqlite!.eventSignal, followersMax: config.eventFollowersMax,
            slowAfter: .seconds(config.slowFollowerSeconds), delivered: { metrics.recordEventDelivered(ageSeconds: $0) },
            logger: logger)
        let service = GongjiService(
            store: store, documents: documents, secrets: secrets, retentionSeconds: config.retentionSeconds,
            state: state, clock: clock, events: events, logger: logger)
        state.setPolicies(try await service.applyStoredAvailability(to: book))
        try await service.removeOrphanDocumentFiles()
        let material = try TLSMaterial(
            certificate: config.tls.certificate, privateKey: config.tls.privateKey, clientCA: config.tls.clientCA)
        let tracing: CallTracing?
        do { tracing = try config.tracing.map { try CallTracing($0, logger: logger) } } catch {
            throw ConfigError(key: "tracing", problem: "\(error)")
        }
        return GongjiDaemon(
            config: config, service: service, store: store, sqlite: sqlite, postgres: postgres, storage: storage,
            tlsMaterial: material, metrics: metrics, tracing: tracing, logger: logger)
    }

    /// Closes the database (the SQLite file, or the PostgreSQL pool).
    public func closeStore() throws {
        postgres?.close()
        try sqlite?.close()
    }

    /// The configured store: SQLite (`database.path`) or PostgreSQL (`database.postgresql`).
    static func openStore(
        _ config: GongjiConfig, metrics: DaemonMetrics, storage: StorageStatus,
        logger: Logger
    ) async throws -> (sqlite: SQLiteStore?, postgres: PostgresStore?) {
        if let settings = config.database.postgresql { return (nil, try await openPostgres(settings, storage: storage, logger: logger)) }
        return (try openSQLite(config.database.path, metrics: metrics, storage: storage), nil)
    }

    static func openSQLite(_ path: String, metrics: DaemonMetrics, storage: StorageStatus) throws -> SQLiteStore {
        do {
            return try SQLiteStore(
                path: path, observeTransaction: { metrics.recordTransaction($0) },
                observeBatchSize: { metrics.recordBatchSize($0) }, storage: storage)
        } catch  where error.code == .configuration {
            throw ConfigError(key: "database.path", problem: error.message)
        }
    }

    public static func openPostgres(
        _ settings: GongjiConfig.DatabaseSection.PostgreSQL, storage: StorageStatus,
        logger: Logger
    ) async throws -> PostgresStore {
        let configurations: [PostgresClient.Configuration]
        do {
            configurations = try PostgresStore.configurations(
                url: settings.url, tls: try postgresTLS(settings), poolSize: settings.poolSize ?? 20)
        } catch {
            throw ConfigError(key: "database.postgresql", problem: "\(error)")
        }
        do {
            return try await PostgresStore(configurations: configurations, logger: logger, storage: storage)
        } catch {
            throw ConfigError(key: "database.postgresql.url", problem: "cannot open the database: \(error)")
        }
    }

    private init(
        config: GongjiConfig, service: GongjiService, store: any FamilyAccountStore, sqlite: SQLiteStore?, postgres: PostgresStore?,
        storage: StorageStatus, tlsMaterial: TLSMaterial, metrics: DaemonMetrics, tracing: CallTracing?, logger: Logger
    ) {
        self.tracing = tracing
        self.store = store
        self.sqlite = sqlite
        self.postgres = postgres
        self.storage = storage
        self.metrics = metrics
        self.metricsServer = config.metrics.map { MetricsServer(host: $0.host, port: $0.port, metrics: metrics) }
        self.config = config
        self.service = service
        self.logger = logger
        self.tlsMaterial = tlsMaterial
        self.health = HealthState(storage: storage)
        Self.observeAtScrape(
            metrics: metrics, health: health, storage: storage, tlsMaterial: tlsMaterial,
            sqlitePath: sqlite.map { _ in config.database.path })
        if let sqlite {
            metrics.onScrape { metrics in metrics.gauge("gongji_db_group_commit_queue_depth", Double(sqlite.groupCommitQueueDepth)) }
        }
        let events = service.events
        metrics.onScrape { metrics in metrics.gauge("gongji_event_followers", Double(events?.followers ?? 0)) }
        if let postgres {
            postgres.statistics.onLease { metrics.recordPoolWait($0) }
            metrics.onScrape { metrics in
                metrics.gauge("gongji_db_connections_in_use", Double(postgres.statistics.inUse))
                metrics.recordPrimaryMoves(total: postgres.primaryMoves)
            }
        }
        var transportConfig = StreamTransportConfig()
        transportConfig.rpc.maxRequestPayloadSize = MessageLimitedTransport.transportCeiling(for: config.messageBytesMax)
        transportConfig.http2.maxConcurrentStreams = config.concurrentStreamsMax
        transportConfig.http2.targetWindowSize = config.windowBytes
        transportConfig.connection.maxIdleTime = .seconds(config.idleTimeoutSeconds)
        transportConfig.connection.maxGraceTime = .seconds(config.shutdownGraceSeconds)
        let listener = GongjiListener(
            host: config.listen.host, port: config.listen.port, material: tlsMaterial,
            limits: .init(
                connectionsMax: config.connectionsMax, handshakeTimeout: .seconds(config.handshakeTimeoutSeconds),
                graceTime: .seconds(config.shutdownGraceSeconds),
                pressureIdleTime: .seconds(max(1, config.idleTimeoutSeconds / 4))),
            peers: service.state.peers, metrics: metrics, events: RateLimitedLog(logger: logger))
        // The frame aligner between TLS and HTTP/2 (`HTTP2FrameAligner`) waits for frames of at most this size.
        transportConfig.http2.maxFrameSize = listener.limits.frameBytesMax
        let transport = MessageLimitedTransport(
            base: GongjiServerTransport(listener: listener, config: transportConfig),
            messageBytesMax: config.messageBytesMax)
        let gongjiServices = [
            Gongji_V1_BindingService.descriptor, Gongji_V1_DocumentService.descriptor, Gongji_V1_ReviewService.descriptor,
            Gongji_V1_PremiumService.descriptor, Gongji_V1_RegistryService.descriptor, Gongji_V1_OperationsService.descriptor,
            Gongji_V1_SettlementService.descriptor, Gongji_V1_EventService.descriptor, Gongji_V1_WalletService.descriptor,
        ].map(\.fullyQualifiedService)
        let services: [any RegistrableRPCService] = [
            BindingHandler(service: service),
            DocumentHandler(service: service, metrics: metrics),
            ReviewHandler(service: service),
            PremiumHandler(service: service, metrics: metrics),
            RegistryHandler(service: service, importBytesMax: config.importBytesMax),
            OperationsHandler(service: service),
            SettlementHandler(service: service, metrics: metrics),
            EventHandler(service: service),
            WalletHandler(service: service),
            HealthHandler(state: health, services: Set(gongjiServices)),
            ReflectionHandler(index: DescriptorIndex(base64: gongjiFileDescriptorSetBase64)),
        ]
        let interceptor = AccessInterceptor(
            state: service.state, callTimeout: .seconds(config.callTimeoutSeconds), deadlines: CallDeadlines(),
            metrics: metrics, logger: logger, tracing: tracing)
        server = GRPCServer(transport: transport, services: services, interceptors: [interceptor])
    }

    /// The gauges read at each scrape: health (`gongji_serving`), storage (`gongji_storage_full`,
    /// `gongji_database_unavailable`, and on SQLite the database's file system), and the time left
    /// on the server certificate and the client CA (`gongji_certificate_expiry_seconds`).
    static func observeAtScrape(
        metrics: DaemonMetrics, health: HealthState, storage: StorageStatus, tlsMaterial: TLSMaterial, sqlitePath: String?
    ) {
        let directory = sqlitePath.map { ($0 as NSString).deletingLastPathComponent }
        metrics.onScrape { metrics in
            metrics.gauge("gongji_serving", health.isServing ? 1 : 0)
            metrics.gauge("gongji_storage_full", storage.isFull ? 1 : 0)
            metrics.gauge("gongji_database_unavailable", storage.isUnreachable ? 1 : 0)
            var space = statvfs()
            if let directory, statvfs(directory, &space) == 0 {
                // What an unprivileged writer may still use, and the whole.
                metrics.gauge("gongji_database_filesystem_avail_bytes", Double(space.f_bavail) * Double(space.f_frsize))
                metrics.gauge("gongji_database_filesystem_size_bytes", Double(space.f_blocks) * Double(space.f_frsize))
            }
            let now = Date()
            for (certificate, notValidAfter) in tlsMaterial.expiries {
                metrics.gauge(
                    "gongji_certificate_expiry_seconds", notValidAfter.timeIntervalSince(now), dimensions: [("certificate", certificate)])
            }
        }
    }

    /// Re-reads the configuration file and applies what can change at run time: TLS certificate,
    /// key and client CAs (from their configured paths), roles, region policies, the log level and
    /// the tracing sample ratio.
    /// Everything is checked first; on any problem nothing changes and the error names the file.
    public func reload(configPath: String) async throws {
        let fresh = try GongjiConfig.load(path: configPath)
        let book: PolicyBook
        do { book = try PolicyLoader.load(directory: fresh.policies.directory) } catch {
            throw ConfigError(key: "policies.directory", problem: error.message)
        }
        let withAvailability = try await service.applyStoredAvailability(to: book)
        try tlsMaterial.reload()
        service.state.setRoles(RoleBook(fresh))
        service.state.setPolicies(withAvailability)
        setJSONLogLevel(fresh.log.level)
        if let tracing, let settings = fresh.tracing { tracing.setSampleRatio(settings.ratio) }
        // Only the ratio is reloadable: turning tracing on or off, or another collector, needs a restart.
        let tracingChanged =
            fresh.tracing.map {
                var settings = $0
                settings.sampleRatio = config.tracing?.sampleRatio
                return settings
            } != config.tracing
        for (key, changed) in [
            ("listen", fresh.listen != config.listen), ("database", fresh.database != config.database),
            ("documents", fresh.documents != config.documents), ("limits", fresh.limits != config.limits),
            ("tracing", tracingChanged),
        ] where changed {
            logger.warning("configuration change needs a restart", metadata: ["config.key": "\(key)"])
        }
        logger.notice("configuration reloaded", metadata: ["policies": "\(book.policies.count)"])
    }

    /// The port the server listens on, once it does.
    public func listeningPort() async throws -> Int {
        guard let address = await server.transport.listeningAddress, let port = address.ipv4?.port ?? address.ipv6?.port else {
            throw ConfigError(
                key: "listen.port",
                problem:
                    "cannot listen on \(config.listen.host):\(config.listen.port) (in use, not permitted, or not an address of this machine)"
            )
        }
        return port
    }

    /// The long-lived parts, in start order, for a `ServiceGroup`.
    public func services(notifier: SystemdNotifier = SystemdNotifier(environment: [:]), configPath: String? = nil) -> [any Service] {
        // The checkpointer starts first so that it stops last, after the in-flight calls.
        var services: [any Service] = [DocumentJanitor(service: service, metrics: metrics, logger: logger), MemoryTrimService()]
        // The exporter starts first so that it stops last: the calls' spans are flushed after them.
        if let tracing { services.insert(tracing.service, at: 0) }
        if let sqlite {
            services += [CheckpointService(store: sqlite, logger: logger), StorageWatch(config: config, storage: storage, logger: logger)]
        }
        if let postgres {
            services += [
                DatabaseWatch(store: postgres, logger: logger), AvailabilityWatch(service: service, logger: logger),
                EventListener(store: postgres),
            ]
        }
        services.append(EventJanitor(service: service, retentionSeconds: config.eventRetentionSeconds, logger: logger))
        services.append(WalletReturns(service: service, logger: logger))
        if let metricsServer { services.append(metricsServer) }
        if let configPath { services.append(ReloadService(daemon: self, configPath: configPath, notifier: notifier, logger: logger)) }
        if let interval = notifier.watchdogInterval { services.append(WatchdogService(notifier: notifier, interval: interval)) }
        services.append(GRPCServerService(server: server, health: health, events: service.events, notifier: notifier, logger: logger))
        return services
    }
}

/// Runs the gRPC server as a lifecycle service: on graceful shutdown it reports NOT_SERVING and
/// stops accepting calls, letting in-flight ones finish.
struct GRPCServerService: Service {
    let server: GRPCServer<MessageLimitedTransport>
    let health: HealthState
    /// Followers of the journal are ended first, with where to resume (their streams never end by themselves).
    let events: EventFeed?
    let notifier: SystemdNotifier
    let logger: Logger

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await server.serve()
        } onGracefulShutdown: {
            notifier.send("STOPPING=1\nSTATUS=stopping: finishing in-flight calls")
            logger.notice("stopping: no new calls accepted, in-flight calls finish")
            health.markNotServing()
            events?.stop()
            server.beginGracefulShutdown()
        }
    }
}

/// Removes uploads no binding uses once their retention has passed (R-DOC-4), every minute (or
/// sooner for short retentions).
struct DocumentJanitor: Service {
    let service: GongjiService
    let metrics: DaemonMetrics
    let logger: Logger

    func run() async throws {
        await repeatUntilShutdown(every: .seconds(max(1, min(60, service.retentionSeconds / 10)))) {
            do {
                _ = try await service.removeExpiredDocuments()
                metrics.recordCleanup(at: Date())
                let (count, bytes) = try await service.documentTotals()
                metrics.gauge("gongji_documents_stored", Double(count))
                metrics.gauge("gongji_documents_stored_bytes", Double(bytes))
            } catch {
                logger.error("removing expired uploads failed", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// R-EVT-3: removes the events past their retention, every hour (and once at start).
struct EventJanitor: Service {
    let service: GongjiService
    let retentionSeconds: Int
    let logger: Logger

    func run() async throws {
        await repeatUntilShutdown(every: .seconds(3600)) {
            do { _ = try await service.removeExpiredEvents(retentionSeconds: retentionSeconds) } catch {
                logger.error("removing expired events failed", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// R-XP-4: returns the wallet transfers not accepted by their return time — every 30 s (and
/// once at start, so that a restart returns what fell due while the daemon was down). A transfer
/// past its return time already reads as returned; this moves its money back. Exactly once: the
/// return changes the transfer's status and the account in one transaction (on PostgreSQL, one
/// daemon at a time, under the transfer's row lock).
struct WalletReturns: Service {
    let service: GongjiService
    let logger: Logger

    func run() async throws {
        await repeatUntilShutdown(every: .seconds(30)) {
            do { try await service.returnDueTransfers() } catch {
                logger.error("returning due wallet transfers failed", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// With several daemons on one PostgreSQL database: wakes this daemon's followers of the journal
/// when another daemon commits events (LISTEN; see `PostgresStore.followCommittedEvents`).
struct EventListener: Service {
    let store: PostgresStore

    func run() async throws {
        await cancelWhenGracefulShutdown { await store.followCommittedEvents() }
    }
}

/// Runs the store's WAL checkpoints off the write path (see `SQLiteStore+Checkpoint.swift`) every 100 ms.
struct CheckpointService: Service {
    let store: SQLiteStore
    let logger: Logger

    func run() async throws {
        try await store.setAutomaticCheckpoints(false)
        await repeatUntilShutdown(every: .milliseconds(100)) {
            do { try await store.checkpoint() } catch {
                logger.warning("WAL checkpoint failed", metadata: ["error": "\(error)"])
            }
        }
        try await store.setAutomaticCheckpoints(true)
    }
}

/// Runs `body`, then waits `interval`, until graceful shutdown begins.
func repeatUntilShutdown(every interval: Duration, _ body: @escaping @Sendable () async -> Void) async {
    try? await cancelWhenGracefulShutdown {
        while !Task.isCancelled {
            await body()
            try await Task.sleep(for: interval)
        }
    }
}

/// While writes fail for lack of space (health NOT_SERVING), tries every second to write in the
/// database's and the documents' directories; once both take a write again, health is SERVING.
struct StorageWatch: Service {
    let config: GongjiConfig
    let storage: StorageStatus
    let logger: Logger

    func run() async throws {
        let directories = [(config.database.path as NSString).deletingLastPathComponent, config.documents.directory]
        try? await cancelWhenGracefulShutdown {
            var wasFull = false
            while !Task.isCancelled {
                let full = storage.isFull && !storage.probe(directories: directories)
                if full && !wasFull {
                    logger.critical(
                        "writes fail: no space left on the file system; health is NOT_SERVING until they succeed",
                        metadata: ["database.path": "\(config.database.path)", "documents.directory": "\(config.documents.directory)"])
                } else if wasFull && !full {
                    logger.notice("writes succeed again; health is SERVING")
                }
                wasFull = full
                try await Task.sleep(for: .seconds(1))
            }
        }
    }
}

/// Reloads on SIGHUP (`ExecReload=`); a bad new file is refused with a log line naming it and the
/// running configuration stays. Signals arrive through swift-service-lifecycle's
/// `UnixSignalsSequence`, which buffers them: none is lost while a reload runs.
struct ReloadService: Service {
    let daemon: GongjiDaemon
    let configPath: String
    let notifier: SystemdNotifier
    let logger: Logger

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in hangups { await reload() }
        }
    }

    func reload() async {
        logger.notice("SIGHUP: reloading the configuration", metadata: ["config.path": "\(configPath)"])
        notifier.send("RELOADING=1\nSTATUS=reloading the configuration")
        do {
            try await daemon.reload(configPath: configPath)
            notifier.send("READY=1\nSTATUS=serving (configuration reloaded)")
        } catch {
            logger.error("reload refused; the running configuration stays", metadata: ["error": "\(error)"])
            notifier.send("READY=1\nSTATUS=serving (reload refused: \(error))")
        }
    }
}

/// While PostgreSQL is out of reach, asks it every second whether it is back, so that health
/// turns SERVING again without waiting for a call; the pool reconnects by itself.
struct DatabaseWatch: Service {
    let store: PostgresStore
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var wasDown = false
            while !Task.isCancelled {
                var down = false
                if store.storage.isUnreachable { down = !(await store.ping()) }
                if down && !wasDown {
                    logger.critical("the PostgreSQL database is out of reach; health is NOT_SERVING until it answers")
                } else if wasDown && !down {
                    logger.notice("the PostgreSQL database answers again; health is SERVING")
                }
                wasDown = down
                try await Task.sleep(for: .seconds(1))
            }
        }
    }
}

/// With several daemons on one PostgreSQL database, re-reads the operators' availability switches
/// every `interval`, so that a region suspended or resumed through any daemon is so on this one
/// within that interval and one query (R-MULTI-1; README: "Several daemons"). Everything else an
/// operator or authorizer changes at run time (institutions, a binding's limits and state) is read
/// from the database inside the call that uses it.
public struct AvailabilityWatch: Service {
    /// How often the switches are read.
    public static let interval: Duration = .milliseconds(500)
    let service: GongjiService
    let logger: Logger

    /// A watch over `service`'s store.
    public init(service: GongjiService, logger: Logger) {
        self.service = service
        self.logger = logger
    }

    public func run() async throws {
        await repeatUntilShutdown(every: Self.interval) {
            // While the database is out of reach, DatabaseWatch says so; the switches stay as last read.
            do { try await service.refreshAvailability() } catch {
                logger.debug("re-reading the availability switches failed", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// The TLS mode of the connection to PostgreSQL.
func postgresTLS(_ settings: GongjiConfig.DatabaseSection.PostgreSQL) throws -> PostgresClient.Configuration.TLS {
    var tls = TLSConfiguration.makeClientConfiguration()
    if let caFile = settings.caFile {
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
    }
    switch settings.tls ?? "disable" {
    case "require": return .require(tls)
    case "prefer": return .prefer(tls)
    default: return .disable
    }
}
