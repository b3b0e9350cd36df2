import Foundation
import GongjiClient
import GongjiDev
import Logging
import Testing

@testable import GongjiServer

@Suite("JSON log lines")
struct JSONLogTests {
    @Test("A log line is one JSON object: fixed fields first, metadata sorted, every string escaped")
    func lineIsValidJSON() throws {
        var line = JSONLine()
        line.field("time", "2026-11-23T07:15:38.123Z")
        line.field("message", "quote \" backslash \\ newline \n tab \t bell \u{07} 共济")
        line.key("nested")
        line.value(.dictionary(["b": .array([.string("x"), .stringConvertible(42)]), "a": .string("y")]))
        line.finish()
        #expect(line.bytes.last == 0x0A)
        #expect(!line.bytes.dropLast().contains(0x0A))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.bytes.dropLast())) as? [String: Any])
        #expect(object["message"] as? String == "quote \" backslash \\ newline \n tab \t bell \u{07} 共济")
        let nested = try #require(object["nested"] as? [String: Any])
        #expect(nested["a"] as? String == "y")
        #expect(nested["b"] as? [String] == ["x", "42"])
        #expect(String(decoding: line.bytes, as: UTF8.self).hasPrefix("{\"time\":\"2026-11-23T07:15:38.123Z\",\"message\":"))
    }

    @Test("Timestamps are RFC 3339 UTC with milliseconds")
    func timestampFormat() throws {
        let text = JSONLogHandler.timestamp()
        #expect(text.count == 24)
        #expect(text.hasSuffix("Z"))
        let parsed = try Date(text, strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true))
        #expect(abs(parsed.timeIntervalSinceNow) < 5)
    }
}

@Suite("Record ids")
struct TimeOrderedIDTests {
    @Test("Ids are UUID version 7: time first, so later ids sort after earlier ones; the rest is random")
    func timeOrdered() throws {
        var generator = SystemRandomNumberGenerator()
        let early = makeTimeOrderedID(unixMilliseconds: 1_763_880_000_000, using: &generator)
        let late = makeTimeOrderedID(unixMilliseconds: 1_763_880_000_001, using: &generator)
        let twin = makeTimeOrderedID(unixMilliseconds: 1_763_880_000_001, using: &generator)
        #expect(early < late)
        #expect(late != twin)
        for id in [early, late, twin, makeTimeOrderedID()] {
            let uuid = try #require(UUID(uuidString: id))
            #expect(id == id.lowercased())
            #expect(uuid.uuid.6 >> 4 == 7)
            #expect(uuid.uuid.8 >> 6 == 0b10)
        }
        #expect(early.hasPrefix("019aaf70-da00-7"))
    }
}
