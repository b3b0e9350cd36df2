import Foundation
import GRPCCore
import GongjiCore
import GongjiProto
import Testing

/// R-LTC-1 end to end over mutual TLS: a region with long-term-care insurance for residents.
@Suite("Long-term-care contribution", .serialized)
struct LongTermCareTests {
    /// The shipped policies, Hohhot with a long-term-care contribution of 90.00 for 2025 (test data).
    static func policies() throws -> URL {
        let dir = try policiesWithMaanshanAmount()
        let file = dir.appendingPathComponent("hohhot.json5")
        var hohhot = try RegionPolicy.decode(json5: Data(contentsOf: file), source: "hohhot")
        hohhot.longTermCare = [
            .init(
                year: 2025, amount: .yuan(90), windowStart: CivilDate(year: 2024, month: 9, day: 1)!,
                windowEnd: CivilDate(year: 2025, month: 2, day: 28)!, note: "test data")
        ]
        try hohhot.canonicalJSON().write(to: file)
        return dir
    }

    @Test(
        "R-LTC-1 over mutual TLS: quoted and paid with kind LONG_TERM_CARE beside the resident premium of the same year; the payment and receipt name the kind",
        arguments: WalletTests.backends)
    func payBoth(postgres: Bool) async throws {
        let daemon = try await TestDaemon.start(
            clock: TestClock(inWindow2025), policies: try Self.policies(), postgresql: postgres ? try await freshPostgresSchema() : nil)
        defer { Task { await daemon.stop() } }
        try await Demo.load(daemon)
        let payments = PaymentTests()
        try await daemon.withClient("gateway") { client in
            let premiums = Gongji_V1_PremiumService.Client(wrapping: client)
            let binding = try await payments.bind(
                client, authorizer: Demo.hohhotAuthorizer, member: Demo.hohhotChild, name: "王小明", version: "hohhot-2024-09",
                start: daemon.clock.today())
            let quote = try await premiums.quotePremium(
                .with {
                    $0.bindingID = binding.bindingID
                    $0.years = [2025]
                    $0.kind = .longTermCare
                }, metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
            #expect(quote.totalFen == 9000)
            let care = try await premiums.payPremium(
                .with {
                    $0.requestID = "ltc-1"
                    $0.bindingID = binding.bindingID
                    $0.years = [2025]
                    $0.expectedTotalFen = 9000
                    $0.kind = .longTermCare
                }, metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
            #expect(care.payment.kind == .longTermCare)
            let premium = try await payments.pay(
                client, "res-1", binding: binding.bindingID, years: [2025], total: 40500, as: Demo.hohhotAuthorizer)
            #expect(premium.payment.kind == .unspecified, "the resident premium, as answers said before kinds")
            let receipt = try await premiums.getReceipt(
                .with { $0.receiptNumber = care.payment.receiptNumber }, metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
            #expect(receipt.receipt.kind == .longTermCare && receipt.receipt.totalFen == 9000)
            let again = await rpcFailure {
                try await premiums.payPremium(
                    .with {
                        $0.requestID = "ltc-2"
                        $0.bindingID = binding.bindingID
                        $0.years = [2025]
                        $0.expectedTotalFen = 9000
                        $0.kind = .longTermCare
                    }, metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
            }
            #expect(again?.code == .alreadyExists && again?.reason == "PREMIUM_ALREADY_PAID")
            let verified = try await premiums.verifyReceipt(
                .with {
                    $0.receiptNumber = care.receipt.receiptNumber
                    $0.verificationCode = care.receipt.verificationCode
                }, options: failFast)
            #expect(verified.genuine && verified.receipt.kind == .longTermCare, "the verification code covers the kind")
        }
    }
}
