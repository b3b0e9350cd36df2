import NIOCore
import NIOEmbedded
import Testing

@testable import GongjiServer

@Suite("the bytes HTTP/2 parses arrive as whole frames")
struct HTTP2FrameAlignerTests {
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    /// An HTTP/2 frame of `length` payload bytes (type DATA, stream 1), the payload filled with `fill`.
    static func frame(length: Int, fill: UInt8) -> [UInt8] {
        [UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), 0, 0, 0, 0, 0, 1]
            + [UInt8](repeating: fill, count: length)
    }

    /// Feeds `bytes` cut at `cuts` and returns each buffer passed on.
    static func pass(_ bytes: [UInt8], cuts: [Int], frameBytesMax: Int = 1 << 14) throws -> [[UInt8]] {
        let channel = EmbeddedChannel(handler: HTTP2FrameAligner(frameBytesMax: frameBytesMax))
        var start = 0
        for cut in cuts + [bytes.count] where cut > start {
            try channel.writeInbound(channel.allocator.buffer(bytes: bytes[start..<cut]))
            start = cut
        }
        var out: [[UInt8]] = []
        while let buffer = try channel.readInbound(as: ByteBuffer.self) { out.append(Array(buffer.readableBytesView)) }
        _ = try channel.finish()
        return out
    }

    /// The frame boundaries of `bytes` after the preface.
    static func boundaries(_ bytes: [UInt8]) -> Set<Int> {
        var set: Set<Int> = [preface.count]
        var at = preface.count
        while at + 9 <= bytes.count {
            at += 9 + (Int(bytes[at]) << 16 | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]))
            set.insert(at)
        }
        return set
    }

    @Test("reads cut anywhere reach HTTP/2 whole, in order, each ending at a frame boundary")
    func cutAnywhere() throws {
        var bytes = Self.preface
        for (index, length) in [0, 5, 16_384, 1, 300, 9, 16_000, 2].enumerated() {
            bytes += Self.frame(length: length, fill: UInt8(index + 1))
        }
        let ends = Self.boundaries(bytes)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let cuts = (0..<Int.random(in: 0...12, using: &generator)).map { _ in Int.random(in: 1..<bytes.count, using: &generator) }
                .sorted()
            let out = try Self.pass(bytes, cuts: cuts)
            #expect(out.flatMap { $0 } == bytes)
            var end = 0
            for buffer in out {
                end += buffer.count
                #expect(ends.contains(end), "a buffer ended at \(end), inside a frame (cuts \(cuts))")
            }
        }
    }

    @Test("a read of whole frames passes through unchanged; a partial frame waits for the rest")
    func partialFrameWaits() throws {
        let first = Self.preface + Self.frame(length: 10, fill: 7)
        let second = Self.frame(length: 100, fill: 8)
        #expect(try Self.pass(first + second, cuts: [first.count]) == [first, second])
        // The second frame's header and part of its payload come with the first read: only the
        // first read's whole frames go on, then the rest together.
        #expect(try Self.pass(first + second, cuts: [first.count + 20]) == [first, second])
    }

    @Test("a frame larger than the maximum is passed on at once, for HTTP/2 to refuse")
    func oversizedFramePassesThrough() throws {
        let bytes = Self.preface + Self.frame(length: 20_000, fill: 1)
        let out = try Self.pass(bytes, cuts: [Self.preface.count + 100], frameBytesMax: 1 << 14)
        #expect(out.flatMap { $0 } == bytes)
        #expect(out.first?.count == Self.preface.count + 100)
    }
}
