import GRPCCore
import GRPCNIOTransportHTTP2
import GongjiTransport

/// The server transport with `limits.message_bytes_max` enforced per request message, so that an
/// oversized message is answered RESOURCE_EXHAUSTED with `MESSAGE_TOO_LARGE` and its details.
///
/// The HTTP/2 transport itself can only reset a stream whose message exceeds its own limit (the
/// client then sees CANCELLED or UNAVAILABLE, with no status). So the transport's limit is set to
/// `transportCeiling(for:)` (4 × the configured limit, at most 256 MiB) and this wrapper refuses,
/// with a status, every message between the configured limit and that ceiling. A message above
/// the ceiling is still reset by the transport without being read.
public struct MessageLimitedTransport: ServerTransport {
    public typealias Bytes = GRPCNIOTransportBytes

    let base: GongjiServerTransport
    let messageBytesMax: Int

    /// The largest message the HTTP/2 transport reads before it resets the stream.
    public static func transportCeiling(for messageBytesMax: Int) -> Int {
        max(messageBytesMax, min(messageBytesMax * 4, 256 << 20))
    }

    public func configure(context: GRPCServerContext) { base.configure(context: context) }

    public func listen(
        streamHandler: @escaping @Sendable (_ stream: RPCStream<Inbound, Outbound>, _ context: ServerContext) async -> Void
    ) async throws {
        let limit = messageBytesMax
        try await base.listen { stream, context in
            let inbound = RPCAsyncSequence(wrapping: SizeCheckedParts(base: stream.inbound, limit: limit))
            await streamHandler(RPCStream(descriptor: stream.descriptor, inbound: inbound, outbound: stream.outbound), context)
        }
    }

    public func beginGracefulShutdown() { base.beginGracefulShutdown() }

    /// The listening address, once bound.
    public var listeningAddress: GRPCNIOTransportCore.SocketAddress? {
        get async { await base.listeningAddress }
    }
}

/// Request parts, failing at the first message larger than `limit` bytes.
struct SizeCheckedParts: AsyncSequence, Sendable {
    typealias Element = RPCRequestPart<GRPCNIOTransportBytes>
    typealias Failure = any Error
    let base: RPCAsyncSequence<Element, any Error>
    let limit: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: RPCAsyncSequence<Element, any Error>.AsyncIterator
        let limit: Int

        mutating func next() async throws -> Element? {
            let part = try await base.next()
            if case .message(let bytes)? = part, bytes.count > limit {
                throw requestError(
                    .resourceExhausted, reason: .messageTooLarge,
                    message: "a request message of \(bytes.count) bytes exceeds limits.message_bytes_max (\(limit) bytes)",
                    zh: "请求消息过大", metadata: ["size_bytes": "\(bytes.count)", "limit_bytes": "\(limit)"])
            }
            return part
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), limit: limit) }
}
