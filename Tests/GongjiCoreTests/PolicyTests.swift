import Foundation
import GongjiCore
import Testing

@Suite("Region policies as data")
struct PolicyTests {
    @Test("the three shipped policies load with the values of domain.md")
    func shippedPolicies() {
        let hohhot = ShippedPolicies.hohhot
        #expect(hohhot.region == .hohhot)
        #expect(hohhot.member.limit == 6)
        #expect(hohhot.review == .immediate)
        #expect(hohhot.payment.memberBalanceMustBeZero)
        #expect(hohhot.premiumYear(2025)?.categoryAmounts["subsistence_allowance"] == .yuan(200))
        let ulanqab = ShippedPolicies.load("ulanqab")
        #expect(ulanqab.availability.suspended, "R-SUSP-1: ulanqab ships suspended as its source describes")
        #expect(ulanqab.availability.hotline == "12393")
        #expect(ulanqab.premiumYear(2024)?.amount == .yuan(375))
        #expect(ulanqab.premiumYear(2025)?.amount == .yuan(405))
        #expect(ulanqab.member.newbornDays == 90)
        let maanshan = ShippedPolicies.load("maanshan")
        #expect(maanshan.review == .reviewer)
        #expect(maanshan.member.limit == nil)
        #expect(maanshan.payment.balanceParts == [.carryOver])
        #expect(maanshan.premiumYear(2025)?.amount == nil, "R-PAY-2: maanshan's amount is not published")
        #expect(maanshan.premiumYear(2025)?.windowStart == CivilDate(year: 2024, month: 9, day: 5))
        #expect(maanshan.premiumYear(2025)?.windowEnd == CivilDate(year: 2024, month: 12, day: 31))
    }

    static func shippedText(_ name: String) -> String {
        try! String(contentsOf: ShippedPolicies.directory.appendingPathComponent("\(name).json5"), encoding: .utf8)
    }

    static func refusal(_ text: String) -> DomainError? {
        do {
            _ = try RegionPolicy.decode(json5: Data(text.utf8), source: "test.json5")
            return nil
        } catch { return error }
    }

    @Test(
        "a malformed or inconsistent policy is refused naming the file and the field",
        arguments: [
            ("amount_fen: 40500", "amount_fen: -1", "premiums[0].amount_fen"),
            ("region: 150100", "region: 990100", "region"),
            ("region: 150100,", "", "region"),
            ("limit: 6", "limit: 0", "member.limit"),
            ("window_end: \"2025-02-28\"", "window_end: \"2024-08-01\"", "premiums[0].window_end"),
            ("window_end: \"2025-02-28\"", "window_end: \"2026-01-01\"", "premiums[0].window_end"),
            ("window_start: \"2024-09-01\"", "window_start: \"2024-02-30\"", "premiums[0].window_start"),
            ("review: \"immediate\"", "review: \"sometimes\"", "review"),
            ("waiting_period_days: 90", "waiting_period_days: 400", "payment.waiting_period_days"),
            (
                "balance_parts: [\"carry_over\", \"current_year\"]", "balance_parts: [\"carry_over\", \"carry_over\"]",
                "payment.balance_parts"
            ),
            ("subsistence_allowance: 20000", "Subsistence: 20000", "premiums[0].category_amounts_fen"),
            ("insurance_types: [\"resident\"]", "insurance_types: [\"none\"]", "member.insurance_types"),
        ])
    func refused(original: String, replacement: String, field: String) throws {
        let text = Self.shippedText("hohhot")
        #expect(text.contains(original))
        let error = try #require(Self.refusal(text.replacingOccurrences(of: original, with: replacement)))
        #expect(error.source == "test.json5")
        #expect(error.field == field, "\(error)")
        #expect(!error.problem.isEmpty)
    }

    @Test("overlapping collection windows of two years are refused")
    func overlappingWindows() throws {
        let text = Self.shippedText("ulanqab").replacingOccurrences(of: "window_end: \"2024-02-29\"", with: "window_end: \"2024-09-01\"")
        let error = try #require(Self.refusal(text))
        #expect(error.field == "premiums[1].window_start")
        #expect(error.problem.contains("overlaps"))
    }

    @Test("a year listed twice is refused")
    func duplicateYear() throws {
        let text = Self.shippedText("ulanqab").replacingOccurrences(of: "year: 2024,", with: "year: 2025,")
        #expect(try #require(Self.refusal(text)).field == "premiums[1].year")
    }

    @Test("not JSON at all is refused")
    func garbage() {
        #expect(Self.refusal("{ region: ") != nil)
        #expect(Self.refusal("") != nil)
    }

    @Test("a policy book picks the authorizer's region, or a province-wide policy")
    func policyBook() throws {
        let book = try PolicyBook([ShippedPolicies.hohhot, ShippedPolicies.ulanqab, ShippedPolicies.maanshanPublished])
        #expect(book.policy(forAuthorizerIn: .hohhot)?.region == .hohhot)
        #expect(book.policy(forAuthorizerIn: .hefei)?.region == .maanshan, "maanshan's authorizer scope is Anhui")
        #expect(book.policy(forAuthorizerIn: RegionCode(150200)!) == nil, "Baotou: no policy, hohhot is city-scoped")
        #expect(throws: DomainError.self) { try PolicyBook([ShippedPolicies.hohhot, ShippedPolicies.hohhot]) }
        let resumed = book.settingAvailability(.init(suspended: true, alternativeChannels: ["x"], hotline: nil), for: .hohhot)
        #expect(resumed.policy(of: .hohhot)?.availability.suspended == true)
    }

    @Test("canonical JSON decodes back to the same policy")
    func canonicalRoundTrip() throws {
        let policy = ShippedPolicies.hohhot
        #expect(try RegionPolicy.decode(json5: policy.canonicalJSON(), source: "x") == policy)
    }

    /// Inputs the fuzzer found (scripts/fuzz): Foundation's JSON5 scanner stopped the process on
    /// invalid UTF-8 in an unquoted key. Now they are refused as text that is not UTF-8.
    static let fuzzFindings: [[UInt8]] = [[0x7B, 0xFC, 0x7D, 0x65, 0x7D, 0x0A, 0x0A], [0x7B, 0xFA, 0x00, 0x1A, 0xFA, 0x00]]

    @Test("policy bytes the fuzzer found are an error, not a crash", arguments: fuzzFindings)
    func fuzzFinding(bytes: [UInt8]) {
        #expect(throws: DomainError.self) { try RegionPolicy.decode(json5: Data(bytes), source: "found.json5") }
    }
}
