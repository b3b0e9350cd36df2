import GRPCCore
import GRPCNIOTransportCore
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@testable import GongjiTransport

/// Counts the reads that reach the head of the stream's pipeline (the reads HTTP/2 would serve).
final class ReadCounter: ChannelOutboundHandler, @unchecked Sendable {
    typealias OutboundIn = Any
    var reads = 0

    func read(context: ChannelHandlerContext) {
        reads += 1
        context.read()
    }
}

final class Flag: Sendable {
    private let value = Atomic(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

@Suite("a stream reaches its call through StreamBridge", .timeLimit(.minutes(1)))
struct StreamBridgeTests {
    typealias Part = RPCRequestPart<GRPCNIOTransportBytes>

    static func message(_ byte: UInt8) -> Part {
        .message(GRPCNIOTransportBytes([byte]))
    }

    static func bridged() async throws -> (NIOAsyncTestingChannel, StreamBridge, ReadCounter) {
        let channel = NIOAsyncTestingChannel()
        let bridge = StreamBridge(channel: channel)
        let counter = ReadCounter()
        try await channel.pipeline.addHandler(counter)
        try await channel.pipeline.addHandler(bridge)
        return (channel, bridge, counter)
    }

    @Test("request parts arrive in order, and the sequence ends when the client half-closes")
    func inOrder() async throws {
        let (channel, bridge, _) = try await Self.bridged()
        try await channel.writeInbound(Part.metadata([:]))
        for byte in UInt8(1)...3 { try await channel.writeInbound(Self.message(byte)) }
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        var bytes: [UInt8] = []
        var sawMetadata = false
        for try await part in bridge.inbound {
            switch part {
            case .metadata: sawMetadata = true
            case .message(let message): bytes += message.withUnsafeBytes { Array($0) }
            }
        }
        #expect(sawMetadata)
        #expect(bytes == [1, 2, 3])
    }

    @Test("reads are held back while 8 parts wait and resume when fewer than 2 do (flow control pushes back)")
    func backpressure() async throws {
        let (channel, bridge, counter) = try await Self.bridged()
        for byte in UInt8(0)..<10 { try await channel.writeInbound(Self.message(byte)) }
        let before = try await channel.testingEventLoop.submit { counter.reads }.get()
        channel.read()
        await channel.testingEventLoop.run()
        #expect(try await channel.testingEventLoop.submit { counter.reads }.get() == before, "a read passed with 10 parts waiting")
        for _ in 0..<8 { _ = try await bridge.next() }
        await channel.testingEventLoop.run()
        #expect(try await channel.testingEventLoop.submit { counter.reads }.get() == before, "reads resumed with 2 parts waiting")
        _ = try await bridge.next()
        await channel.testingEventLoop.run()
        #expect(try await channel.testingEventLoop.submit { counter.reads }.get() == before + 1, "the held read was not let through")
    }

    @Test("a call waiting for a request part stops waiting when its task is cancelled (its deadline passed)")
    func cancelledReader() async throws {
        let (_, bridge, _) = try await Self.bridged()
        let waiting = Task { try await bridge.next() }
        try await Task.sleep(for: .milliseconds(50))
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
    }

    @Test("a reset stream fails the waiting reader and every later write")
    func reset() async throws {
        let (channel, bridge, _) = try await Self.bridged()
        let waiting = Task { try await bridge.next() }
        try await Task.sleep(for: .milliseconds(50))
        channel.pipeline.fireErrorCaught(RPCError(code: .cancelled, message: "reset"))
        await #expect(throws: RPCError.self) { try await waiting.value }
        await #expect(throws: RPCError.self) { try await bridge.write(.status(Status(code: .ok, message: ""), [:])) }
    }

    @Test("responses are written in order; a writer waits while the stream is not writable")
    func writes() async throws {
        let (channel, bridge, _) = try await Self.bridged()
        try await bridge.write(.metadata([:]))
        try await channel.testingEventLoop.submit {
            channel.isWritable = false
            channel.pipeline.fireChannelWritabilityChanged()
        }.get()
        let written = Flag()
        let writer = Task {
            try await bridge.write(.message(GRPCNIOTransportBytes([7])))
            written.set()
        }
        try await Task.sleep(for: .milliseconds(50))
        await channel.testingEventLoop.run()
        #expect(!written.isSet, "the writer went on while the stream was not writable")
        var parts: [RPCResponsePart<GRPCNIOTransportBytes>] = []
        while let part = try await channel.readOutbound(as: RPCResponsePart<GRPCNIOTransportBytes>.self) { parts.append(part) }
        #expect(parts.count == 2, "the message is written before the writer waits")
        try await channel.testingEventLoop.submit {
            channel.isWritable = true
            channel.pipeline.fireChannelWritabilityChanged()
        }.get()
        try await writer.value
        #expect(written.isSet)
        try await bridge.write(.status(Status(code: .ok, message: ""), [:]))
        await channel.testingEventLoop.run()
        let last = try await channel.readOutbound(as: RPCResponsePart<GRPCNIOTransportBytes>.self)
        guard case .status(let status, _)? = last else {
            Issue.record("expected the status, got \(String(describing: last))")
            return
        }
        #expect(status.code == .ok)
    }
}
