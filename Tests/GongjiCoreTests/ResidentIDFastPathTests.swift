@testable import GongjiCore
import Testing

@Suite("R-ID-1 the fast path of ID parsing")
struct ResidentIDFastPathTests {
    /// Near-valid strings: a valid number with one position replaced by a digit, X, x, a letter,
    /// or a non-ASCII character, or shortened or lengthened.
    static func variants(of valid: String) -> [String] {
        let chars = Array(valid)
        var result = [valid, valid.lowercased(), String(valid.dropLast()), valid + "0", "", String(repeating: "1", count: 18)]
        for index in chars.indices {
            for replacement in ["0", "1", "5", "9", "X", "x", "A", "一", "٣"] {
                var copy = chars
                copy[index] = Character(replacement)
                result.append(String(copy))
            }
        }
        return result
    }

    @Test("R-ID-1 the byte-level fast path accepts exactly what the general path accepts, with the same value")
    func fastPathAgreesWithGeneralPath() {
        let today = CivilDate(year: 2026, month: 11, day: 23)!
        let seeds = ["11010519491231002X", "150102198003151310", "340503201001010011", "150902202611230012", "150902202611240011",
                     "440106200002290019", "440106190002290019"]
        var checked = 0
        for seed in seeds {
            for text in Self.variants(of: seed) {
                let general = try? ResidentID.parseReportingDefect(text, today: today)
                let fast = ResidentID.parseValidASCII(text, today: today)
                if let fast { #expect(fast == general, "\(text)") }
                // Whatever the fast path declines, `parse` still decides through the general path.
                #expect((try? ResidentID.parse(text, today: today)) == general, "\(text)")
                if general != nil { #expect(fast != nil, "the fast path declined a valid number \(text)") }
                checked += 1
            }
        }
        #expect(checked > 1000)
    }
}
