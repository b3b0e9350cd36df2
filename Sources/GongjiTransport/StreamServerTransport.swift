import GRPCCore
import GRPCNIOTransportCore
import NIOConcurrencyHelpers
import NIOCore
import NIOExtras
import NIOHPACK
import NIOHTTP2

/// A call's stream as the server sees it.
public typealias ServerStream = RPCStream<
    RPCAsyncSequence<RPCRequestPart<GRPCNIOTransportBytes>, any Error>, RPCWriter<RPCResponsePart<GRPCNIOTransportBytes>>.Closable
>

/// The gRPC transport's settings: those of grpc-swift-nio-transport's HTTP/2 server, whose
/// connection and stream handlers this transport uses.
public struct StreamTransportConfig: Sendable {
    /// Compression algorithms accepted from clients.
    public var compression: HTTP2ServerTransport.Config.Compression = .defaults
    /// Connection management: idle time, age, grace time, keepalive. (`flushCoalescing` is not
    /// used: every response is flushed when written, the gRPC handler holding a unary response's
    /// message until its status.)
    public var connection: HTTP2ServerTransport.Config.Connection = .defaults
    /// HTTP/2 settings: window, frame size, concurrent streams.
    public var http2: HTTP2ServerTransport.Config.HTTP2 = .defaults
    /// The largest request message read before the stream is reset.
    public var rpc: HTTP2ServerTransport.Config.RPC = .defaults

    /// The defaults of grpc-swift-nio-transport.
    public init() {}
}

/// What binds the listening socket and admits connections (TLS, limits); the transport makes each
/// admitted connection speak gRPC over HTTP/2.
public protocol StreamTransportListener: Sendable {
    /// The event loops of the listening socket and its connections.
    var eventLoopGroup: any EventLoopGroup { get }

    /// Binds the listening socket. `listening` is called once with the listening channel (on its
    /// loop); `connection` with each admitted connection after the handlers that come before
    /// HTTP/2 (TLS), on the connection's loop, and returns when the connection speaks gRPC.
    func bind(
        listening: @escaping @Sendable (any Channel) throws -> Void,
        connection: @escaping @Sendable (any Channel) throws -> Void
    ) async throws -> any Channel
}

/// A gRPC server transport on grpc-swift-nio-transport's HTTP/2 connection management and
/// per-stream gRPC state machine, with one difference from its `HTTP2ServerTransport`: a stream
/// reaches the server's handler through a `StreamBridge` (one channel handler, one task), not an
/// `NIOAsyncChannel` with its sequence producer and writer, a task per connection reading streams
/// from an async sequence, and a second task group per connection. Every limit of the HTTP/2 and
/// gRPC layers is theirs (frame and header sizes, concurrent streams, message size, deadlines in
/// the metadata, idle and keepalive policing, GOAWAY and grace on shutdown).
public final class StreamServerTransport<Listener: StreamTransportListener>: ServerTransport {
    public typealias Bytes = GRPCNIOTransportBytes

    let listener: Listener
    let config: StreamTransportConfig
    let quiescing: ServerQuiescingHelper
    let address: NIOLockedValueBox<AddressState>
    let descriptors = NIOLockedValueBox<[String: MethodDescriptor]>([:])

    enum AddressState {
        case idle(EventLoopPromise<GRPCNIOTransportCore.SocketAddress?>)
        case listening(EventLoopFuture<GRPCNIOTransportCore.SocketAddress?>)
        case closed
    }

    /// Creates the transport; it listens when the server runs.
    public init(listener: Listener, config: StreamTransportConfig) {
        self.listener = listener
        self.config = config
        self.quiescing = ServerQuiescingHelper(group: listener.eventLoopGroup)
        self.address = NIOLockedValueBox(.idle(listener.eventLoopGroup.any().makePromise()))
    }

    deinit {
        if case .idle(let promise) = address.withLockedValue({ $0 }) { promise.succeed(nil) }
    }

    /// The address the transport listens on, once bound; nil when it never will be.
    public var listeningAddress: GRPCNIOTransportCore.SocketAddress? {
        get async {
            let future: EventLoopFuture<GRPCNIOTransportCore.SocketAddress?>? = address.withLockedValue {
                switch $0 {
                case .idle(let promise): promise.futureResult
                case .listening(let future): future
                case .closed: nil
                }
            }
            return try? await future?.get()
        }
    }

    public func configure(context: GRPCServerContext) {
        descriptors.withLockedValue { $0 = context.descriptorsByPath() }
    }

    public func beginGracefulShutdown() {
        quiescing.initiateShutdown(promise: nil)
    }

    public func listen(
        streamHandler: @escaping @Sendable (_ stream: RPCStream<Inbound, Outbound>, _ context: ServerContext) async -> Void
    ) async throws {
        defer { closeAddress() }
        let running = RunningStreams()
        let (config, quiescing, descriptors) = (config, quiescing, descriptors.withLockedValue { $0 })
        let serverChannel = try await listener.bind(
            listening: { channel in
                try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
            },
            connection: { channel in
                try Self.configureConnection(
                    channel, config: config, descriptors: descriptors, running: running, streamHandler: streamHandler)
            })
        let bound = serverChannel.localAddress.map { GRPCNIOTransportCore.SocketAddress($0) }
        address.withLockedValue { state in
            if case .idle(let promise) = state {
                promise.succeed(bound)
                state = .listening(promise.futureResult)
            }
        }
        await withTaskCancellationHandler {
            // The listening channel closes at shutdown (or on cancellation); the transport has
            // stopped when its connections have closed and every call's task has ended.
            try? await serverChannel.closeFuture.get()
            await running.ended()
        } onCancel: {
            serverChannel.close(promise: nil)
            running.closeConnections()
        }
    }

    private func closeAddress() {
        address.withLockedValue { state in
            if case .idle(let promise) = state { promise.succeed(nil) }
            state = .closed
        }
    }

    /// Makes an admitted connection speak gRPC: connection management (idle, age, keepalive,
    /// graceful shutdown), HTTP/2 with grpc-swift-nio-transport's settings, and for every stream its
    /// gRPC state machine and a bridge to the server's handler.
    static func configureConnection(
        _ channel: any Channel, config: StreamTransportConfig, descriptors: [String: MethodDescriptor],
        running: RunningStreams,
        streamHandler: @escaping @Sendable (ServerStream, ServerContext) async -> Void
    ) throws {
        let sync = channel.pipeline.syncOperations
        let connection = config.connection
        let management = ServerConnectionManagementHandler(
            eventLoop: channel.eventLoop,
            maxIdleTime: connection.maxIdleTime.map { TimeAmount($0) },
            maxAge: connection.maxAge.map { TimeAmount($0) },
            maxGraceTime: connection.maxGraceTime.map { TimeAmount($0) },
            keepaliveTime: TimeAmount(connection.keepalive.time),
            keepaliveTimeout: TimeAmount(connection.keepalive.timeout),
            allowKeepaliveWithoutCalls: connection.keepalive.clientBehavior.allowWithoutCalls,
            minPingIntervalWithoutCalls: TimeAmount(connection.keepalive.clientBehavior.minPingIntervalWithoutCalls),
            requireALPN: false)
        try sync.addHandler(FlushNotifier(management))

        let window = min(config.http2.targetWindowSize, Int(Int32.max))
        let frameSize = min(max(config.http2.maxFrameSize, 1 << 14), (1 << 24) - 1)
        var settings = HTTP2Settings([
            HTTP2Setting(parameter: .initialWindowSize, value: window),
            HTTP2Setting(parameter: .maxFrameSize, value: frameSize),
            HTTP2Setting(parameter: .maxHeaderListSize, value: HPACKDecoder.defaultMaxHeaderListSize),
        ])
        if let streams = config.http2.maxConcurrentStreams {
            settings.append(HTTP2Setting(parameter: .maxConcurrentStreams, value: streams))
        }
        var http2 = NIOHTTP2Handler.Configuration()
        http2.connection.targetWindowSize = window
        http2.connection.initialSettings = settings
        http2.stream.targetWindowSize = window

        let remotePeer = peerName(channel.remoteAddress)
        let localPeer = peerName(channel.localAddress)
        let (encodings, payloadMax) = (config.compression.enabledAlgorithms, config.rpc.maxRequestPayloadSize)
        // The async multiplexer is the public way to give HTTP/2 the connection manager's frame
        // delegate (keepalive policing needs to see the server's HEADERS and DATA). Its sequence of
        // streams is dropped at once, so nothing is ever queued on it: each stream starts from its
        // initializer below.
        _ = try sync.configureAsyncHTTP2Pipeline(
            mode: .server, streamDelegate: management.http2StreamDelegate, frameDelegate: management.syncView,
            configuration: http2
        ) { stream in
            stream.eventLoop.makeCompletedFuture {
                let descriptor = stream.eventLoop.makePromise(of: MethodDescriptor.self)
                let grpc = GRPCServerStreamHandler(
                    scheme: .https, acceptedEncodings: encodings, maxPayloadSize: payloadMax,
                    methodDescriptorPromise: descriptor, eventLoop: stream.eventLoop, descriptorsByPath: descriptors)
                let bridge = StreamBridge(channel: stream)
                try stream.pipeline.syncOperations.addHandlers(grpc, bridge)
                descriptor.futureResult.whenSuccess { descriptor in
                    running.start(
                        bridge: bridge, cancellation: CancellationTarget(grpc, eventLoop: stream.eventLoop), descriptor: descriptor,
                        remotePeer: remotePeer, localPeer: localPeer, streamHandler: streamHandler)
                }
            }
        }
        try sync.addHandler(management)
        running.opened(channel)
    }
}

/// An address as grpc-swift-nio-transport names peers in a `ServerContext.remotePeer` (the key
/// under which `GongjiServer`'s peer directory finds a call's connection).
public func peerName(_ address: NIOCore.SocketAddress?) -> String {
    switch address {
    case .v4(let v4)?: "ipv4:\(v4.host):\(address?.port ?? 0)"
    case .v6(let v6)?: "ipv6:[\(v6.host)]:\(address?.port ?? 0)"
    case .unixDomainSocket?: "unix:\(address?.pathname ?? "<unknown>")"
    case nil: "<unknown>"
    }
}

/// Tells the connection manager of each flush (it resets the keepalive policing after the server
/// wrote HEADERS or DATA), as grpc-swift-nio-transport's own pipeline does.
final class FlushNotifier: ChannelOutboundHandler {
    typealias OutboundIn = Any
    typealias OutboundOut = Any

    let management: ServerConnectionManagementHandler

    init(_ management: ServerConnectionManagementHandler) {
        self.management = management
    }

    func flush(context: ChannelHandlerContext) {
        management.syncView.connectionWillFlush()
        context.flush()
    }
}

/// The stream handler that a call's cancellation handle is given to, on its loop (its own hop
/// to the loop cannot be called from elsewhere: it makes a loop-bound value first).
struct CancellationTarget: @unchecked Sendable {
    let handler: GRPCServerStreamHandler
    let eventLoop: any EventLoop

    init(_ handler: GRPCServerStreamHandler, eventLoop: any EventLoop) {
        self.handler = handler
        self.eventLoop = eventLoop
    }

    func set(_ handle: ServerContext.RPCCancellationHandle) {
        if eventLoop.inEventLoop {
            handler.setCancellationHandle(handle)
        } else {
            eventLoop.execute { handler.setCancellationHandle(handle) }
        }
    }
}

/// The transport's open connections and running calls: what `listen` waits for before it returns,
/// and what it closes when cancelled.
final class RunningStreams: Sendable {
    struct State {
        var connections: [ObjectIdentifier: any Channel] = [:]
        var calls = 0
        var waiter: CheckedContinuation<Void, Never>?

        var isEmpty: Bool { connections.isEmpty && calls == 0 }
    }

    let state = NIOLockedValueBox(State())

    func opened(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        state.withLockedValue { $0.connections[id] = channel }
        channel.closeFuture.whenComplete { _ in
            self.leave { $0.connections[id] = nil }
        }
    }

    func start(
        bridge: StreamBridge, cancellation: CancellationTarget, descriptor: MethodDescriptor, remotePeer: String,
        localPeer: String,
        streamHandler: @escaping @Sendable (ServerStream, ServerContext) async -> Void
    ) {
        state.withLockedValue { $0.calls += 1 }
        Task {
            await withServerContextRPCCancellationHandle { handle in
                cancellation.set(handle)
                let stream = RPCStream(
                    descriptor: descriptor, inbound: RPCAsyncSequence(wrapping: bridge.inbound),
                    outbound: RPCWriter.Closable(wrapping: bridge.outbound))
                let context = ServerContext(
                    descriptor: descriptor, remotePeer: remotePeer, localPeer: localPeer, cancellation: handle)
                await streamHandler(stream, context)
            }
            bridge.callEnded(cancelled: Task.isCancelled)
            self.leave { $0.calls -= 1 }
        }
    }

    private func leave(_ change: (inout State) -> Void) {
        let waiter: CheckedContinuation<Void, Never>? = state.withLockedValue { state in
            change(&state)
            guard state.isEmpty, let waiter = state.waiter else { return nil }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns when no connection is open and no call runs.
    func ended() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLockedValue { state -> Bool in
                if state.isEmpty { return true }
                state.waiter = continuation
                return false
            }
            if done { continuation.resume() }
        }
    }

    func closeConnections() {
        for channel in state.withLockedValue({ Array($0.connections.values) }) { channel.close(promise: nil) }
    }
}
