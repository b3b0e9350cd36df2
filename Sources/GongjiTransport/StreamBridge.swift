import GRPCCore
import GRPCNIOTransportCore
import NIOConcurrencyHelpers
import NIOCore

/// Joins one HTTP/2 stream, after its gRPC state machine (`GRPCServerStreamHandler`), to the task
/// that serves the call: request parts are queued for the task's `inbound` sequence (reads are held
/// back while `highWatermark` parts wait, so HTTP/2 flow control pushes back on the client), and
/// the task's response parts are written to the stream, from its loop directly when the task runs
/// there and through the loop's queue otherwise; a writer waits while the stream is not writable.
///
/// Locks are `NIOLockedValueBox` (a pthread mutex): the task may move between threads between two
/// calls, and Swift's `Mutex` keys its lock by the caller's thread (README, Development).
final class StreamBridge: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = RPCRequestPart<GRPCNIOTransportBytes>
    typealias OutboundIn = RPCResponsePart<GRPCNIOTransportBytes>
    typealias OutboundOut = RPCResponsePart<GRPCNIOTransportBytes>
    typealias Part = RPCRequestPart<GRPCNIOTransportBytes>

    /// Parts queued before reads are held back, and the count below which they resume.
    static let highWatermark = 8
    static let lowWatermark = 2

    struct State {
        var parts = CircularBuffer<Part>(initialCapacity: 2)
        /// Set when no more parts will come: nil while open, the error when the stream failed.
        var end: Result<Void, any Error>?
        var reader: UnsafeContinuation<Part?, any Error>?
        /// The loop asked for a read that was held back because `highWatermark` parts wait.
        var readHeld = false
        var writable = true
        var writers: [UnsafeContinuation<Void, any Error>] = []
        /// Why writes fail: the stream closed or failed.
        var closed: (any Error)?
    }

    let channel: any Channel
    let state = NIOLockedValueBox(State())
    /// The handler's context; touched on the stream's loop only.
    private var context: ChannelHandlerContext?
    /// Whether the call wrote its status; on the loop only.
    private var statusWritten = false

    init(channel: any Channel) {
        self.channel = channel
    }

    var inbound: Inbound { Inbound(bridge: self) }
    var outbound: Outbound { Outbound(bridge: self) }

    // MARK: The stream's side (on its loop)

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        let reader: UnsafeContinuation<Part?, any Error>? = state.withLockedValue { state in
            if let reader = state.reader {
                state.reader = nil
                return reader
            }
            if state.end == nil { state.parts.append(part) }
            return nil
        }
        reader?.resume(returning: part)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed? = event as? ChannelEvent { finishInbound(.success(())) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finishInbound(.failure(error))
        fail(writers: error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let closed = RPCError(code: .unavailable, message: "The stream closed.")
        finishInbound(.failure(closed))
        fail(writers: closed)
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        let writable = context.channel.isWritable
        let writers: [UnsafeContinuation<Void, any Error>] = state.withLockedValue { state in
            state.writable = writable
            guard writable else { return [] }
            defer { state.writers = [] }
            return state.writers
        }
        for writer in writers { writer.resume() }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        let hold = state.withLockedValue { state -> Bool in
            guard state.parts.count >= Self.highWatermark, state.end == nil else { return false }
            state.readHeld = true
            return true
        }
        if !hold { context.read() }
    }

    private func finishInbound(_ end: Result<Void, any Error>) {
        let reader: UnsafeContinuation<Part?, any Error>? = state.withLockedValue { state in
            guard state.end == nil else { return nil }
            state.end = end
            defer { state.reader = nil }
            return state.reader
        }
        switch end {
        case .success: reader?.resume(returning: nil)
        case .failure(let error): reader?.resume(throwing: error)
        }
    }

    private func fail(writers error: any Error) {
        let writers: [UnsafeContinuation<Void, any Error>] = state.withLockedValue { state in
            if state.closed == nil { state.closed = error }
            defer { state.writers = [] }
            return state.writers
        }
        for writer in writers { writer.resume(throwing: error) }
    }

    // MARK: The call's side (any thread)

    /// The next request part; nil after the last.
    func next() async throws -> Part? {
        if let ready = take(reader: nil) { return try ready.get() }
        // A cancelled call stops waiting (its deadline, or the client gone): the reader is taken
        // and failed under the lock that stores it, so neither side can miss the other.
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { continuation in
                take(reader: continuation).map { continuation.resume(with: $0) }
            }
        } onCancel: {
            let reader: UnsafeContinuation<Part?, any Error>? = state.withLockedValue { state in
                defer { state.reader = nil }
                return state.reader
            }
            reader?.resume(throwing: CancellationError())
        }
    }

    /// Under the lock: the first queued part (letting a held read through once fewer than
    /// `lowWatermark` wait), else the end, else — with `reader` — a cancellation or `reader`
    /// stored to wait. Nil when there is nothing yet.
    private func take(reader: UnsafeContinuation<Part?, any Error>?) -> Result<Part?, any Error>? {
        let (result, resumeReading): (Result<Part?, any Error>?, Bool) = state.withLockedValue { state in
            if let part = state.parts.popFirst() {
                let resume = state.readHeld && state.parts.count < Self.lowWatermark
                if resume { state.readHeld = false }
                return (.success(part), resume)
            }
            if let end = state.end { return (end.map { nil }, false) }
            guard let reader else { return (nil, false) }
            if Task.isCancelled { return (.failure(CancellationError()), false) }
            state.reader = reader
            return (nil, false)
        }
        if resumeReading { onLoop { $0.read() } }
        return result
    }

    /// Writes a response part to the stream (flushed: the gRPC handler holds a unary response's
    /// message back until its status), then waits while the stream is not writable.
    func write(_ part: RPCResponsePart<GRPCNIOTransportBytes>) async throws {
        if let closed = state.withLockedValue({ $0.closed }) { throw closed }
        onLoop { context in
            if case .status = part { self.statusWritten = true }
            context.writeAndFlush(self.wrapOutboundOut(part), promise: nil)
        }
        guard !state.withLockedValue({ $0.writable }) else { return }
        try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Void, any Error>) in
                enum Now {
                    case go
                    case fail(any Error)
                    case wait
                }
                let now: Now = state.withLockedValue { state in
                    if let closed = state.closed { return .fail(closed) }
                    if state.writable { return .go }
                    if Task.isCancelled { return .fail(CancellationError()) }
                    state.writers.append(continuation)
                    return .wait
                }
                switch now {
                case .go: continuation.resume()
                case .fail(let error): continuation.resume(throwing: error)
                case .wait: break
                }
            }
        } onCancel: {
            let writers: [UnsafeContinuation<Void, any Error>] = state.withLockedValue { state in
                defer { state.writers = [] }
                return state.writers
            }
            for writer in writers { writer.resume(throwing: CancellationError()) }
        }
    }

    /// The call failed without a status: the stream is reset, as an `NIOAsyncChannel` writer
    /// finished with an error does (the error goes through the gRPC handler).
    func finish(throwing error: any Error) {
        onLoop { $0.pipeline.fireErrorCaught(error) }
    }

    /// The call's task returned. A stream whose call was cancelled, or that ended without a status,
    /// is closed (reset); one with a status closes itself once HTTP/2 has sent it.
    func callEnded(cancelled: Bool) {
        onLoop { context in
            if cancelled || !self.statusWritten { context.close(mode: .all, promise: nil) }
        }
    }

    /// Runs `body` with the handler's context on the stream's loop: at once when called there,
    /// else queued to it (in order with other queued work). Nothing runs once the handler is gone.
    private func onLoop(_ body: @escaping @Sendable (ChannelHandlerContext) -> Void) {
        if channel.eventLoop.inEventLoop {
            if let context { body(context) }
        } else {
            channel.eventLoop.execute {
                if let context = self.context { body(context) }
            }
        }
    }

    // MARK: The call's views

    struct Inbound: AsyncSequence, Sendable {
        typealias Element = Part
        typealias Failure = any Error
        let bridge: StreamBridge

        struct AsyncIterator: AsyncIteratorProtocol {
            let bridge: StreamBridge
            mutating func next() async throws -> Part? { try await bridge.next() }
        }

        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(bridge: bridge) }
    }

    struct Outbound: ClosableRPCWriterProtocol {
        typealias Element = RPCResponsePart<GRPCNIOTransportBytes>
        let bridge: StreamBridge

        func write(_ element: Element) async throws { try await bridge.write(element) }

        func write(contentsOf elements: some Sequence<Element>) async throws {
            for element in elements { try await bridge.write(element) }
        }

        func finish() {}

        func finish(throwing error: any Error) { bridge.finish(throwing: error) }
    }
}
