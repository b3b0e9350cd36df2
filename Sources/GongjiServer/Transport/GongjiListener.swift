import GRPCNIOTransportHTTP2
import Logging
import NIOCertificateReloading
import NIOCore
import NIOHTTP2
import NIOPosix
import NIOSSL
import Synchronization

/// The gRPC server transport: grpc-swift-nio-transport's HTTP/2 pipeline behind a listener of our
/// own, so that every accepted connection is bounded before it can cost anything:
///
/// - at most `connectionsMax` connections are open at once; one more is closed at accept;
/// - the TLS handshake and the HTTP/2 preface must be complete within `handshakeTimeout`
///   (a client that sends part of a ClientHello and waits is closed, certificate or not);
/// - once the server has sent GOAWAY (idle, age or shutdown) the connection is closed after
///   `graceTime`, whether or not the client acknowledges the PING that follows the GOAWAY;
/// - TLS 1.2 offers ECDHE with AEAD ciphers only (TLS 1.3 has nothing else);
/// - the client certificate is verified once per connection (`TLSMaterial.verify`), and the
///   identity names it carries are recorded in `peers` for the calls on that connection.
public typealias GongjiServerTransport = HTTP2ServerTransport.Custom<GongjiListener>

/// Accepts TCP connections, wraps them in mutual TLS and hands them to the gRPC pipeline.
public struct GongjiListener: HTTP2ServerTransport.ListenerFactory {
    /// Limits of the listener.
    public struct Limits: Sendable {
        /// Connections open at once.
        public var connectionsMax: Int
        /// Time from accept to a complete TLS handshake and HTTP/2 preface.
        public var handshakeTimeout: Duration
        /// Time a connection has after the server's GOAWAY.
        public var graceTime: Duration

        /// Creates the limits.
        public init(connectionsMax: Int, handshakeTimeout: Duration, graceTime: Duration) {
            self.connectionsMax = connectionsMax
            self.handshakeTimeout = handshakeTimeout
            self.graceTime = graceTime
        }
    }

    /// TLS 1.2 suites: ECDHE key exchange with an AEAD cipher, nothing else (no CBC, no SHA-1, no
    /// static RSA). TLS 1.3 suites are all AEAD and are not affected by this list.
    public static let cipherSuites = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    let host: String
    let port: Int
    let material: TLSMaterial
    let limits: Limits
    let peers: PeerDirectory
    let metrics: DaemonMetrics
    let events: RateLimitedLog
    /// The event loops of the connections.
    public let eventLoopGroup: any EventLoopGroup

    init(host: String, port: Int, material: TLSMaterial, limits: Limits, peers: PeerDirectory, metrics: DaemonMetrics,
         events: RateLimitedLog, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.host = host
        self.port = port
        self.material = material
        self.limits = limits
        self.peers = peers
        self.metrics = metrics
        self.events = events
        self.eventLoopGroup = eventLoopGroup
    }

    /// The server's TLS configuration: mutual TLS against the current client CAs (checked by
    /// `TLSMaterial.verify`), TLS 1.2 or later, ALPN for gRPC, reloadable certificate and key.
    func makeTLSConfiguration() throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: material.certificateSources,
                                                           privateKey: material.privateKeySource)
        tls.minimumTLSVersion = .tlsv12
        tls.cipherSuites = Self.cipherSuites
        tls.certificateVerification = .noHostnameVerification
        tls.applicationProtocols = ["grpc-exp", "h2"]
        tls.setCertificateReloader(material)
        return tls
    }

    /// Binds the listening socket; each accepted connection is counted, given a TLS handler and a
    /// `ConnectionGuard`, and configured for gRPC.
    public func makeListeningChannel(
        listenerConfigurator: HTTP2ServerTransport.ListenerConfigurator,
        connectionConfigurator: HTTP2ServerTransport.ConnectionConfigurator
    ) async throws -> NIOAsyncChannel<HTTP2ServerTransport.ConnectionConfigurator.ConnectionChannel, Never> {
        let context = try NIOSSLContext(configuration: makeTLSConfiguration())
        let open = ConnectionCount()
        let (limits, peers, metrics, events, verify) = (limits, peers, metrics, events, material.verify)
        return try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelInitializer { listenerConfigurator.configure(channel: $0) }
            .bind(host: host, port: port) { channel in
                guard open.enter(max: limits.connectionsMax) else {
                    events.log("connection refused: too many open connections", kind: "connections_max",
                               metadata: ["limits.connections_max": "\(limits.connectionsMax)"])
                    metrics.recordRefusedConnection()
                    return channel.close()
                        .flatMapError { _ in channel.eventLoop.makeSucceededVoidFuture() }
                        .flatMapThrowing { throw ChannelError.ioOnClosedChannel }
                }
                channel.closeFuture.whenComplete { _ in open.leave() }
                _ = metrics.track(channel)
                return channel.eventLoop.makeCompletedFuture {
                    let handler = NIOSSLServerHandler(context: context, customVerificationCallbackWithMetadata: verify)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }.flatMap {
                    connectionConfigurator.configure(channel: channel, tls: .configured(requireALPN: false))
                }.flatMapThrowing { configured in
                    let sync = channel.pipeline.syncOperations
                    let guardHandler = ConnectionGuard(limits: limits, peers: peers, events: events)
                    try sync.addHandler(guardHandler, position: .after(try sync.handler(type: NIOHTTP2Handler.self)))
                    return configured
                }
            }
    }
}

/// Open connections, bounded.
final class ConnectionCount: Sendable {
    private let count = Atomic<Int>(0)

    /// Counts one more connection unless `max` are open already.
    func enter(max: Int) -> Bool {
        let after = count.wrappingAdd(1, ordering: .relaxed).newValue
        guard after <= max else {
            count.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func leave() { count.wrappingSubtract(1, ordering: .relaxed) }
}

/// Sits after the HTTP/2 handler of a connection. Closes the connection when no HTTP/2 frame has
/// arrived within the handshake timeout (the first frame proves TLS and the preface complete),
/// records the caller's identity at that first frame, and closes the connection a grace time
/// after the server's first GOAWAY.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private let limits: GongjiListener.Limits
    private let peers: PeerDirectory
    private let events: RateLimitedLog
    private var handshakeDeadline: Scheduled<Void>?
    private var graceDeadline: Scheduled<Void>?
    private var prefaceSeen = false
    private var peerKey: String?

    init(limits: GongjiListener.Limits, peers: PeerDirectory, events: RateLimitedLog) {
        self.limits = limits
        self.peers = peers
        self.events = events
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let (timeout, events) = (limits.handshakeTimeout, events)
        handshakeDeadline = context.eventLoop.scheduleTask(in: .nanoseconds(timeout.nanoseconds)) {
            events.log("connection closed: TLS handshake and HTTP/2 preface not complete in time", kind: "handshake_timeout",
                       metadata: ["limits.handshake_timeout_seconds": "\(timeout.components.seconds)",
                                  "peer": "\(loopBound.value.remoteAddress.map { "\($0)" } ?? "unknown")"])
            loopBound.value.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimers()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !prefaceSeen {
            prefaceSeen = true
            handshakeDeadline?.cancel()
            handshakeDeadline = nil
            recordPeer(context: context)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if graceDeadline == nil, case .goAway = unwrapOutboundIn(data).payload {
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            graceDeadline = context.eventLoop.scheduleTask(in: .nanoseconds(limits.graceTime.nanoseconds)) {
                loopBound.value.close(promise: nil)
            }
        }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !prefaceSeen, error is NIOSSLError || error is BoringSSLError {
            events.log("TLS handshake failed", kind: "handshake_failed",
                       metadata: ["error": "\(error)", "peer": "\(context.remoteAddress.map { "\($0)" } ?? "unknown")"])
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimers()
        if let peerKey { peers.remove(peerKey, connection: ObjectIdentifier(context.channel)) }
        context.fireChannelInactive()
    }

    private func cancelTimers() {
        handshakeDeadline?.cancel()
        handshakeDeadline = nil
        graceDeadline?.cancel()
        graceDeadline = nil
    }

    /// The client's certificate names, once per connection, keyed as the calls see the peer.
    private func recordPeer(context: ChannelHandlerContext) {
        guard let address = context.channel.remoteAddress, let key = PeerDirectory.key(for: address),
              let ssl = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self),
              let leaf = ssl.peerValidatedCertificateChain?.first
        else { return }
        peerKey = key
        peers.insert(key, connection: ObjectIdentifier(context.channel), names: IdentityNames(leaf))
    }
}
