import Foundation

/// A new id for a stored record: a UUID version 7 (RFC 9562), lowercase, e.g.
/// `019ab1c2-3d4e-7f00-8a1b-2c3d4e5f6a7b`. The first 48 bits are the Unix time in milliseconds,
/// so records made one after another get neighbouring keys: the indexes on ids grow at their end
/// instead of at random pages, which keeps each group-committed transaction small. The other
/// 74 bits are random, so ids stay unguessable.
public func makeTimeOrderedID() -> String {
    var generator = SystemRandomNumberGenerator()
    return makeTimeOrderedID(unixMilliseconds: UInt64(Date().timeIntervalSince1970 * 1000), using: &generator)
}

/// A UUID version 7 for the given time, random bits from `generator`.
func makeTimeOrderedID(unixMilliseconds: UInt64, using generator: inout some RandomNumberGenerator) -> String {
    let random = generator.next() as UInt64
    let more = generator.next() as UInt64
    var bytes = [UInt8](repeating: 0, count: 16)
    for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: unixMilliseconds >> (8 * (5 - index))) }
    for index in 6..<16 { bytes[index] = UInt8(truncatingIfNeeded: (index < 14 ? random : more) >> (8 * (index % 8))) }
    bytes[6] = 0x70 | (bytes[6] & 0x0F)  // version 7
    bytes[8] = 0x80 | (bytes[8] & 0x3F)  // variant 10
    return UUID(
        uuid: (
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
            bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
        )
    ).uuidString.lowercased()
}
