import Foundation
import GRPCProtobuf
import GongjiProto
import SwiftProtobuf
import Testing

@testable import GongjiCore
@testable import GongjiServer

/// Golden messages for consumers of `gongji.v1` in other languages (Tests/wire-golden,
/// `scripts/check-c-consumer` decodes and re-encodes them with protobuf-c): what the Swift code
/// encodes — a payment answer, a settlement answer, an error's `google.rpc.Status` — must stay
/// byte for byte what the files hold, and the requests a C client encoded must decode here to
/// the values it meant and encode back to the same bytes. `GONGJI_WRITE_GOLDEN=1` rewrites the
/// Swift side's files after a deliberate change.
@Suite("wire: golden messages shared with other languages")
struct WireGoldenTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("wire-golden")
    static let authorizer = try! ResidentID.parse("150102198003151312", today: CivilDate(year: 2026, month: 12, day: 1)!)
    static let child = try! ResidentID.parse("150102201006012427", today: CivilDate(year: 2026, month: 12, day: 1)!)

    static func encoded(_ message: some SwiftProtobuf.Message) throws -> Data {
        var options = BinaryEncodingOptions()
        options.useDeterministicOrdering = true
        return try message.serializedBytes(options: options)
    }

    func check(_ name: String, _ bytes: Data) throws {
        let url = Self.directory.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["GONGJI_WRITE_GOLDEN"] == "1" { try bytes.write(to: url) }
        let golden = try Data(contentsOf: url)
        #expect(bytes == golden, "\(name): the Swift encoding changed; other languages read the golden file")
    }

    static var payment: PaymentRecord {
        PaymentRecord(
            id: "pay-0001", bindingID: "bind-0001", authorizer: authorizer, authorizerName: "王建国", member: child, memberName: "王小明",
            region: .hohhot,
            lines: [
                PremiumLine(
                    year: 2027, amount: .yuan(405), category: nil, isLate: false, benefitStart: CivilDate(year: 2027, month: 1, day: 1))
            ],
            total: .yuan(405), postings: [Posting(part: .carryOver, amount: .yuan(300)), Posting(part: .currentYear, amount: .yuan(105))],
            external: nil, receiptNumber: "GJ202612050000000001", verificationCode: "A1A90C09542EFACACC18", createdAt: 1_796_450_400, seq: 1
        )
    }

    @Test("a payment answer, a settlement answer, a binding whose optional limit is 0, an error's status: as the golden files hold")
    func responses() throws {
        let record = Self.payment
        try check(
            "pay_premium_response.binpb",
            try Self.encoded(
                Gongji_V1_PayPremiumResponse.with {
                    $0.payment = Gongji_V1_Payment(record)
                    $0.receipt = Gongji_V1_Receipt(record)
                }))
        let hospital = Institution(
            code: try InstitutionCode.parse("H15010000001"), name: "呼和浩特市第一医院", kind: .hospital, region: .hohhot,
            validFrom: CivilDate(year: 2024, month: 1, day: 1)!, validTo: nil)
        let split = SettlementSplit(
            amount: .yuan(100), acctPay: .zero, acctMulaidPay: .yuan(80), cashPay: .yuan(20),
            postings: [
                SettlementPosting(owner: Self.authorizer, part: .carryOver, amount: .yuan(80), bindingID: "bind-0001", accountYear: 2026)
            ],
            family: [FamilyFundUse(bindingID: "bind-0001", authorizer: Self.authorizer, amount: .yuan(80), note: nil)], familyZeroNote: nil)
        let settlement = SettlementRecord(
            settlementID: "S-0001", institution: hospital, patient: Self.child, patientName: "王小明", split: split, status: .settled,
            settledAt: 1_796_450_400, reversedAt: nil, seq: 1)
        try check(
            "settle_response.binpb", try Self.encoded(Gongji_V1_SettleResponse.with { $0.settlement = Gongji_V1_Settlement(settlement) }))
        // proto3 `optional`: a limit of 0 is sent (presence), unlike an absent one.
        try check(
            "get_binding_response_zero_limit.binpb",
            try Self.encoded(
                Gongji_V1_GetBindingResponse.with {
                    $0.binding = .with {
                        $0.bindingID = "bind-0001"
                        $0.medicalLimitFen = 0
                    }
                }))
        let refusal = DomainError.credentialNotPatientsOwn(patient: Self.child)
        try check("status_credential_not_patients_own.binpb", Data(try refusal.rpcStatus.serializedBytes() as [UInt8]))
    }

    @Test("requests a C client encoded decode to what it meant and encode back to the same bytes")
    func requests() throws {
        let pay = try Data(contentsOf: Self.directory.appendingPathComponent("pay_premium_request.binpb"))
        let payment = try Gongji_V1_PayPremiumRequest(serializedBytes: pay)
        #expect(payment.requestID == "pay-0001" && payment.bindingID == "bind-0001" && payment.years == [2027])
        #expect(payment.expectedTotalFen == 40500 && payment.external.amountFen == 500 && payment.external.reference == "现金-0001")
        #expect(try Self.encoded(payment) == pay)
        let settle = try Data(contentsOf: Self.directory.appendingPathComponent("settle_request.binpb"))
        let order = try Gongji_V1_SettleRequest(serializedBytes: settle)
        #expect(order.institutionCode == "H15010000001" && order.settlementID == "S-0001" && order.patientIDNumber == Self.child.value)
        #expect(
            order.credential.type == .electronicVoucher && order.credential.holderIDNumber == Self.child.value && order.amountFen == 10000)
        #expect(try Self.encoded(order) == settle)
    }
}
