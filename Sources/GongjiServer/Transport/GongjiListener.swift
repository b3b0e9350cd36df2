import GongjiTransport
import Logging
import NIOCertificateReloading
import NIOCore
import NIOHTTP2
import NIOPosix
import NIOSSL
import Synchronization

/// The gRPC server transport (`StreamServerTransport`: grpc-swift-nio-transport's HTTP/2 connection
/// and stream handlers, each stream bridged to its call without an async channel) behind a listener of our
/// own, so that every accepted connection is bounded before it can cost anything:
///
/// - at most `connectionsMax` connections are open at once; one more closes the verified
///   connection idle longest (no call for 1 s, counted by `PeerDirectory`), or is closed at accept
///   when every connection has a call in progress;
/// - connections still in their handshake (TLS and the HTTP/2 preface) are a quarter of that at
///   most (`handshakingMax`), and `handshakingPerSourceMax` from one address: one more from that
///   address is closed at accept, one more past the whole budget closes the oldest unfinished
///   one, so strangers that open half-handshakes and renew them can never crowd out the callers
///   that finish theirs (`ConnectionBudget`);
/// - the TLS handshake and the HTTP/2 preface must be complete within `handshakeTimeout`
///   (a client that sends part of a ClientHello and waits is closed, certificate or not), within
///   `pressureHandshakeTimeout` while half the handshake budget is in use;
/// - once the server has sent GOAWAY (idle, age or shutdown) the connection is closed after
///   `graceTime`, whether or not the client acknowledges the PING that follows the GOAWAY;
/// - TLS 1.2 offers ECDHE with AEAD ciphers only (TLS 1.3 has nothing else);
/// - the client certificate is verified once per connection (`TLSMaterial.verify`), and the
///   identity names it carries are recorded in `peers` for the calls on that connection.
public typealias GongjiServerTransport = StreamServerTransport<GongjiListener>

/// Accepts TCP connections, wraps them in mutual TLS and hands them to the gRPC pipeline.
public struct GongjiListener: StreamTransportListener {
    /// Limits of the listener.
    public struct Limits: Sendable {
        /// Connections open at once.
        public var connectionsMax: Int
        /// Time from accept to a complete TLS handshake and HTTP/2 preface.
        public var handshakeTimeout: Duration
        /// Time a connection has after the server's GOAWAY.
        public var graceTime: Duration
        /// Connections in their handshake at once from one address.
        public var handshakingPerSourceMax: Int
        /// The handshake timeout while half the handshake budget is in use.
        public var pressureHandshakeTimeout: Duration
        /// The idle time after which a verified connection is closed while three quarters of
        /// `connectionsMax` are open (the idle timeout, shortened under pressure).
        public var pressureIdleTime: Duration
        /// The largest HTTP/2 frame a client may send (SETTINGS_MAX_FRAME_SIZE; the transport's
        /// `http2.maxFrameSize` must be the same).
        public var frameBytesMax: Int = 1 << 14

        /// Connections in their handshake at once: a quarter of `connectionsMax`, at least 16 (or
        /// `connectionsMax` when it is smaller).
        public var handshakingMax: Int { min(connectionsMax, max(16, connectionsMax / 4)) }

        /// Creates the limits.
        public init(
            connectionsMax: Int, handshakeTimeout: Duration, graceTime: Duration, handshakingPerSourceMax: Int = 16,
            pressureHandshakeTimeout: Duration = .seconds(1), pressureIdleTime: Duration = .seconds(30)
        ) {
            self.pressureIdleTime = pressureIdleTime
            self.connectionsMax = connectionsMax
            self.handshakeTimeout = handshakeTimeout
            self.graceTime = graceTime
            self.handshakingPerSourceMax = handshakingPerSourceMax
            self.pressureHandshakeTimeout = min(pressureHandshakeTimeout, handshakeTimeout)
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

    init(
        host: String, port: Int, material: TLSMaterial, limits: Limits, peers: PeerDirectory, metrics: DaemonMetrics,
        events: RateLimitedLog, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
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
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: material.certificateSources,
            privateKey: material.privateKeySource)
        tls.minimumTLSVersion = .tlsv12
        tls.cipherSuites = Self.cipherSuites
        tls.certificateVerification = .noHostnameVerification
        tls.applicationProtocols = ["grpc-exp", "h2"]
        tls.setCertificateReloader(material)
        return tls
    }

    /// Binds the listening socket; each accepted connection is counted, given a TLS handler,
    /// configured for gRPC (`connection`) and given a `ConnectionGuard`.
    public func bind(
        listening: @escaping @Sendable (any Channel) throws -> Void,
        connection: @escaping @Sendable (any Channel) throws -> Void
    ) async throws -> any Channel {
        let context = try NIOSSLContext(configuration: makeTLSConfiguration())
        let budget = ConnectionBudget(limits: limits, peers: peers)
        let (limits, peers, metrics, events, verify) = (limits, peers, metrics, events, material.verify)
        let frameBytesMax = limits.frameBytesMax
        return try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelInitializer { channel in channel.eventLoop.makeCompletedFuture { try listening(channel) } }
            .childChannelInitializer { channel in
                let source = ConnectionBudget.source(of: channel.remoteAddress)
                guard let admission = budget.admit(channel, source: source) else {
                    events.log(
                        "connection refused: too many open connections", kind: "connections_max",
                        metadata: ["limits.connections_max": "\(limits.connectionsMax)"])
                    metrics.recordRefusedConnection()
                    return channel.close()
                        .flatMapError { _ in channel.eventLoop.makeSucceededVoidFuture() }
                        .flatMapThrowing { throw ChannelError.ioOnClosedChannel }
                }
                if let evicted = admission.evicted {
                    events.log(
                        admission.evictedWasVerified
                            ? "connection closed: idle, to make room" : "connection closed: unfinished handshake, to make room",
                        kind: admission.evictedWasVerified ? "idle_evicted" : "handshake_evicted",
                        metadata: ["peer": "\(evicted.remoteAddress.map { "\($0)" } ?? "unknown")"])
                    metrics.recordRefusedConnection()
                    evicted.close(promise: nil)
                }
                let id = ObjectIdentifier(channel)
                channel.closeFuture.whenComplete { _ in budget.leave(id) }
                _ = metrics.track(channel)
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(NIOSSLServerHandler(context: context, customVerificationCallbackWithMetadata: verify))
                    try sync.addHandler(HTTP2FrameAligner(frameBytesMax: frameBytesMax))
                    try connection(channel)
                    let guardHandler = ConnectionGuard(
                        limits: limits, handshakeTimeout: admission.handshakeTimeout, peers: peers, events: events,
                        budget: budget, id: id)
                    try sync.addHandler(guardHandler, position: .after(try sync.handler(type: NIOHTTP2Handler.self)))
                }
            }
            .bind(host: host, port: port).get()
    }
}

/// The open connections, bounded: all of them by `connectionsMax`, those still in their
/// handshake by `handshakingMax` and by `handshakingPerSourceMax` per address. Past the per-address
/// budget a new connection is refused; past the whole one the oldest unfinished connection makes room: a caller
/// that completes its handshake in milliseconds is never the oldest for long, a stranger that
/// holds half-handshakes is.
final class ConnectionBudget: Sendable {
    struct Handshaking {
        let channel: any Channel
        let source: String
        let sequence: UInt64
    }

    struct Established {
        let channel: any Channel
        /// Its key in the peer directory, which counts its calls.
        let peerKey: String
    }

    struct State {
        var open = 0
        var handshaking: [ObjectIdentifier: Handshaking] = [:]
        var established: [ObjectIdentifier: Established] = [:]
        var perSource: [String: Int] = [:]
        var sequence: UInt64 = 0

        mutating func removeHandshaking(_ id: ObjectIdentifier) {
            guard let entry = handshaking.removeValue(forKey: id) else { return }
            perSource[entry.source, default: 1] -= 1
            if perSource[entry.source] == 0 { perSource[entry.source] = nil }
        }

        func oldest() -> ObjectIdentifier? {
            handshaking.min { $0.value.sequence < $1.value.sequence }?.key
        }

        /// The verified connection idle longest, without a call in progress, idle since `before`.
        func idlest(before: NIODeadline, peers: PeerDirectory) -> ObjectIdentifier? {
            established.compactMap { id, entry -> (ObjectIdentifier, NIODeadline)? in
                guard peers.isIdle(entry.peerKey, since: before), let last = peers.lastActive(entry.peerKey) else { return nil }
                return (id, last)
            }.min { $0.1 < $1.1 }?.0
        }
    }

    /// What an admitted connection gets.
    struct Admission {
        /// The connection to close to make room, if any: unfinished, or verified and idle.
        let evicted: (any Channel)?
        /// Whether `evicted` had finished its handshake.
        let evictedWasVerified: Bool
        /// Its own handshake timeout.
        let handshakeTimeout: Duration
    }

    let limits: GongjiListener.Limits
    let peers: PeerDirectory
    private let state = Mutex(State())

    init(limits: GongjiListener.Limits, peers: PeerDirectory) {
        self.limits = limits
        self.peers = peers
    }

    /// The address part of a peer (no port), the unit of the per-source budget.
    static func source(of address: NIOCore.SocketAddress?) -> String {
        address?.ipAddress ?? "unknown"
    }

    /// How long a verified connection must have been without a call before it may be closed to
    /// make room (a new connection's first call is not taken from it).
    static let idleBeforeEviction: TimeAmount = .seconds(1)

    /// Admits `channel` from `source` as handshaking, or nil when `connectionsMax` are open with
    /// none idle to close, or `source` has `handshakingPerSourceMax` unfinished.
    func admit(_ channel: any Channel, source: String) -> Admission? {
        state.withLock { state in
            // One address past its budget is refused at accept, the cheapest answer to a renewing
            // stranger; past the whole budget (strangers at many addresses) the oldest makes room.
            guard state.perSource[source, default: 0] < limits.handshakingPerSourceMax else { return nil }
            var evictedID: ObjectIdentifier?
            if state.handshaking.count >= limits.handshakingMax { evictedID = state.oldest() }
            var evicted: (any Channel)?
            var verified = false
            if let evictedID {
                evicted = state.handshaking[evictedID]?.channel
                state.removeHandshaking(evictedID)
                // Its slot in `open` is given back when it has closed (`leave`); this one takes a new one.
            } else if state.open >= limits.connectionsMax,
                let idle = state.idlest(before: .now() - Self.idleBeforeEviction, peers: peers)
            {
                // Full: the verified connection idle longest makes room (its client reconnects
                // when it next calls), before anyone is refused.
                evicted = state.established.removeValue(forKey: idle)?.channel
                verified = true
            } else if state.open * 4 >= limits.connectionsMax * 3,
                let idle = state.idlest(before: .now() - .nanoseconds(limits.pressureIdleTime.nanoseconds), peers: peers)
            {
                // Under pressure the idle timeout is shorter: one connection idle past
                // `pressureIdleTime` is closed per new connection, before the limit is reached.
                evicted = state.established.removeValue(forKey: idle)?.channel
                verified = true
            }
            guard state.open < limits.connectionsMax || evicted != nil else { return nil }
            state.open += 1
            state.sequence += 1
            state.handshaking[ObjectIdentifier(channel)] = Handshaking(channel: channel, source: source, sequence: state.sequence)
            state.perSource[source, default: 0] += 1
            let pressure = state.handshaking.count * 2 > limits.handshakingMax
            return Admission(
                evicted: evicted, evictedWasVerified: verified,
                handshakeTimeout: pressure ? limits.pressureHandshakeTimeout : limits.handshakeTimeout)
        }
    }

    /// The connection finished its handshake: it no longer counts against the handshake budgets.
    func established(_ id: ObjectIdentifier, _ channel: any Channel) {
        state.withLock { state in
            guard state.handshaking[id] != nil else { return }  // evicted meanwhile
            state.removeHandshaking(id)
            if let address = channel.remoteAddress, let key = PeerDirectory.key(for: address) {
                state.established[id] = Established(channel: channel, peerKey: key)
            }
        }
    }

    /// The connection closed.
    func leave(_ id: ObjectIdentifier) {
        state.withLock { state in
            state.removeHandshaking(id)
            state.established[id] = nil
            state.open -= 1
        }
    }
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
    private let handshakeTimeout: Duration
    private let peers: PeerDirectory
    private let events: RateLimitedLog
    private let budget: ConnectionBudget
    private let id: ObjectIdentifier
    private var handshakeDeadline: Scheduled<Void>?
    private var graceDeadline: Scheduled<Void>?
    private var prefaceSeen = false
    private var peerKey: String?

    init(
        limits: GongjiListener.Limits, handshakeTimeout: Duration, peers: PeerDirectory, events: RateLimitedLog,
        budget: ConnectionBudget, id: ObjectIdentifier
    ) {
        self.limits = limits
        self.handshakeTimeout = handshakeTimeout
        self.peers = peers
        self.events = events
        self.budget = budget
        self.id = id
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let (timeout, events) = (handshakeTimeout, events)
        handshakeDeadline = context.eventLoop.scheduleTask(in: .nanoseconds(timeout.nanoseconds)) {
            events.log(
                "connection closed: TLS handshake and HTTP/2 preface not complete in time", kind: "handshake_timeout",
                metadata: [
                    "limits.handshake_timeout_seconds": "\(timeout.components.seconds)",
                    "peer": "\(loopBound.value.remoteAddress.map { "\($0)" } ?? "unknown")",
                ])
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
            budget.established(id, context.channel)
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
            events.log(
                "TLS handshake failed", kind: "handshake_failed",
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
