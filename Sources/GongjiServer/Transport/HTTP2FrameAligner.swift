import NIOCore

/// Sits between TLS and HTTP/2 and hands the HTTP/2 parser whole frames only: each buffer it
/// passes on ends at a frame boundary, and the part of a frame that has not fully arrived waits
/// here (at most one frame: the connection's maximum frame size, 16 KiB).
///
/// Why: NIOHTTP2's parser appends each read to one accumulation buffer, which returns to its
/// start only when a read ends exactly at a frame boundary. Under a stream of large messages
/// (uploads of 64 KiB messages) a read almost never does, so the buffer grows (to 8 MiB in
/// bench/notes.md) and keeps that capacity. Afterwards every read of a small call is copied on
/// write into a new buffer of that capacity while earlier calls still hold slices of the old one:
/// 64 small calls in flight on a connection that once carried uploads held ~80 MiB more than on a
/// fresh connection, at half the throughput. With whole frames the parser's buffer empties after
/// every read and never grows past one read.
///
/// A frame header announcing more than `frameBytesMax` is passed on as it is, so that HTTP/2
/// refuses it (FRAME_SIZE_ERROR) instead of this handler waiting for it.
final class HTTP2FrameAligner: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The client connection preface ("PRI * HTTP/2.0…"), before the first frame.
    static let prefaceBytes = 24
    static let headerBytes = 9

    private let frameBytesMax: Int
    /// Whether the client's preface has been passed on (it waits here until complete, as a frame would).
    private var prefaceSeen = false
    /// The start of a frame that has not fully arrived.
    private var carry: ByteBuffer?
    /// Set once a frame was too large to wait for: from then on bytes pass through unchanged.
    private var passThrough = false

    init(frameBytesMax: Int) {
        self.frameBytesMax = frameBytesMax
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if passThrough {
            context.fireChannelRead(data)
            return
        }
        var input = unwrapInboundIn(data)
        let carried = carry != nil
        if var buffered = carry {
            carry = nil
            buffered.writeImmutableBuffer(input)
            input = buffered
        }
        let start = input.readerIndex
        let end = input.writerIndex
        var boundary = start
        if !prefaceSeen, end - start >= Self.prefaceBytes {
            prefaceSeen = true
            boundary += Self.prefaceBytes
        }
        if prefaceSeen {
            while end - boundary >= Self.headerBytes, let high = input.getInteger(at: boundary, as: UInt8.self),
                let low = input.getInteger(at: boundary + 1, as: UInt16.self)
            {
                let length = Int(high) << 16 | Int(low)
                guard length <= frameBytesMax else {
                    // Let HTTP/2 see it and refuse it.
                    passThrough = true
                    boundary = end
                    break
                }
                guard end - boundary >= Self.headerBytes + length else { break }
                boundary += Self.headerBytes + length
            }
        }
        if boundary == end && !carried {
            // The common case (small calls): the read is whole frames; pass it on as it came.
            context.fireChannelRead(data)
            return
        }
        if boundary < end {
            // The rest waits in a buffer of its own (never a slice of what was passed on).
            var rest = context.channel.allocator.buffer(capacity: end - boundary)
            rest.writeImmutableBuffer(input.getSlice(at: boundary, length: end - boundary)!)
            carry = rest
        }
        if boundary > start {
            context.fireChannelRead(wrapInboundOut(input.getSlice(at: start, length: boundary - start)!))
        }
    }
}
