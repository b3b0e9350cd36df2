import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GongjiCore
import GongjiProto
import GongjiStore
import Logging
import ServiceLifecycle

/// The composition root: builds every part of the daemon from a configuration. `gongjid` and the
/// tests call the same function.
public final class GongjiDaemon: Sendable {
    /// The gRPC server.
    public let server: GRPCServer<HTTP2ServerTransport.Posix>
    /// The use cases.
    public let service: GongjiService
    /// The configuration it was built from.
    public let config: GongjiConfig
    let health: HealthState
    let logger: Logger

    /// Opens the store, loads policies and keys, and builds the server. Fails with an error that
    /// names the configuration key or file at fault.
    public static func build(config: GongjiConfig, clock: any GongjiClock = SystemClock(), logger: Logger) async throws -> GongjiDaemon {
        try checkReadable(config.tls.certificate, key: "tls.certificate")
        try checkReadable(config.tls.privateKey, key: "tls.private_key")
        try checkReadable(config.tls.clientCA, key: "tls.client_ca")
        let secrets = try Secrets(keyFile: config.secrets.keyFile)
        let book: PolicyBook
        do { book = try PolicyLoader.load(directory: config.policies.directory) } catch {
            throw ConfigError(key: "policies.directory", problem: error.description)
        }
        let store = try Store(path: config.database.path, logger: logger)
        let documents = try DocumentStore(directory: config.documents.directory, key: secrets.documentKey,
                                          uploadBytesMax: config.uploadBytesMax)
        let state = RuntimeState(policies: book, roles: RoleBook(config.roles))
        let service = GongjiService(store: store, documents: documents, secrets: secrets, retentionSeconds: config.retentionSeconds,
                                    state: state, clock: clock, logger: logger)
        state.setPolicies(try await service.applyStoredAvailability(to: book))
        return GongjiDaemon(config: config, service: service, logger: logger)
    }

    private init(config: GongjiConfig, service: GongjiService, logger: Logger) {
        self.config = config
        self.service = service
        self.logger = logger
        self.health = HealthState()
        let security = HTTP2ServerTransport.Posix.TransportSecurity.mTLS(
            certificateChain: [.file(path: config.tls.certificate, format: .pem)],
            privateKey: .file(path: config.tls.privateKey, format: .pem)
        ) { tls in
            // .mTLS trusts the system roots by default: only our client CA may issue callers.
            tls.trustRoots = .certificates([.file(path: config.tls.clientCA, format: .pem)])
            tls.clientCertificateVerification = .noHostnameVerification
        }
        let transportConfig = HTTP2ServerTransport.Posix.Config.defaults { transport in
            transport.rpc.maxRequestPayloadSize = config.messageBytesMax
            transport.http2.maxConcurrentStreams = config.concurrentStreamsMax
            transport.http2.targetWindowSize = config.windowBytes
            transport.connection.maxIdleTime = .seconds(config.idleTimeoutSeconds)
            transport.connection.maxGraceTime = .seconds(config.shutdownGraceSeconds)
        }
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: config.listen.host, port: config.listen.port),
            transportSecurity: security, config: transportConfig)
        let gongjiServices = [
            "gongji.v1.BindingService", "gongji.v1.DocumentService", "gongji.v1.ReviewService", "gongji.v1.PremiumService",
            "gongji.v1.RegistryService", "gongji.v1.OperationsService",
        ]
        let services: [any RegistrableRPCService] = [
            BindingHandler(service: service),
            DocumentHandler(service: service),
            ReviewHandler(service: service),
            PremiumHandler(service: service),
            RegistryHandler(service: service, importBytesMax: config.importBytesMax),
            OperationsHandler(service: service),
            HealthHandler(state: health, services: Set(gongjiServices)),
            ReflectionHandler(index: DescriptorIndex(base64: gongjiFileDescriptorSetBase64)),
        ]
        let interceptor = AccessInterceptor(state: service.state, callTimeout: .seconds(config.callTimeoutSeconds), logger: logger)
        server = GRPCServer(transport: transport, services: services, interceptors: [interceptor])
    }

    private static func checkReadable(_ path: String, key: String) throws(ConfigError) {
        guard FileManager.default.isReadableFile(atPath: path) else { throw ConfigError(key: key, problem: "cannot read \(path)") }
    }

    /// The port the server listens on, once it does.
    public func listeningPort() async throws -> Int {
        guard let address = try await server.listeningAddress, let port = address.ipv4?.port ?? address.ipv6?.port else {
            throw ConfigError(key: "listen", problem: "the server is not listening on an IP address")
        }
        return port
    }

    /// The long-lived parts, in start order, for a `ServiceGroup`.
    public var services: [any Service] {
        [DocumentJanitor(service: service, logger: logger), GRPCServerService(server: server, health: health, logger: logger)]
    }
}

/// Runs the gRPC server as a lifecycle service: on graceful shutdown it reports NOT_SERVING and
/// stops accepting calls, letting in-flight ones finish.
struct GRPCServerService: Service {
    let server: GRPCServer<HTTP2ServerTransport.Posix>
    let health: HealthState
    let logger: Logger

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await server.serve()
        } onGracefulShutdown: {
            logger.notice("stopping: no new calls accepted, in-flight calls finish")
            health.markNotServing()
            server.beginGracefulShutdown()
        }
    }
}

/// Removes uploads no binding uses once their retention has passed (R-DOC-4), every minute (or
/// sooner for short retentions).
struct DocumentJanitor: Service {
    let service: GongjiService
    let logger: Logger

    func run() async throws {
        let interval = Duration.seconds(max(1, min(60, service.retentionSeconds / 10)))
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { _ = try await service.removeExpiredDocuments() } catch {
                    logger.error("removing expired uploads failed", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: interval)
            }
        }
    }
}
