import Crypto
import Foundation
import GongjiCore

extension GongjiService {
    /// R-PAY-2, R-PAY-4, R-PAY-5, R-PAY-7: quotes the premium.
    public func quote(
        bindingID: String, years: [Int], kind: PremiumKind = .resident, endUser: ResidentID, at time: ClockReading
    ) async throws -> PremiumQuote {
        var facts = try await store.premiumFacts(bindingID: bindingID, endUser: endUser, policies: state.policies, today: time.today)
        facts.kind = kind
        return try PremiumRules.quote(years: years, facts: facts)
    }

    /// R-PAY-*: pays exactly once per request id; a retry answers the original payment, marked as a replay.
    public func pay(
        _ order: PaymentOrder, endUser: ResidentID, key: IdempotencyKey?, at time: ClockReading
    ) async throws -> Answered<PaymentRecord> {
        let paid = try await store.pay(
            order, endUser: endUser, paymentID: makeID(), key: key, policies: state.policies,
            today: time.today, now: time.now)
        let record = paid.record
        logger.info(
            paid.isReplay ? "premium payment retried: the original answered" : "premium paid",
            metadata: [
                "payment.id": "\(record.id)", "payment.total_fen": "\(record.total.fen)", "binding.id": "\(order.bindingID)",
                "end_user": "\(endUser.masked)",
            ])
        return Answered(signed(record), isReplay: paid.isReplay)
    }

    /// The record with its receipt's verification code: HMAC-SHA256 of the receipt's text under
    /// the daemon's receipt key (computed on read; the store does not hold it).
    func signed(_ record: PaymentRecord) -> PaymentRecord {
        var result = record
        let mac = HMAC<SHA256>.authenticationCode(for: Data(record.receiptText.utf8), using: secrets.receiptKey)
        result.verificationCode = mac.prefix(10).hexEncoded(uppercase: true)
        return result
    }

    /// A payment the end user made or that was made for the end user.
    public func payment(id: String, for endUser: ResidentID) async throws -> PaymentRecord {
        signed(try PartyRules.visible(try await store.payment(id: id), to: endUser))
    }

    /// A receipt the end user may read.
    public func receipt(number: String, for endUser: ResidentID) async throws -> PaymentRecord {
        signed(try PartyRules.visible(try await store.payment(receiptNumber: number), as: "receipt", to: endUser))
    }

    /// Whether a receipt number and verification code were issued together by this daemon.
    public func verifyReceipt(number: String, code: String) async throws -> PaymentRecord? {
        guard let record = try await store.payment(receiptNumber: number).map(signed) else { return nil }
        // Constant-time comparison of the codes.
        let a = Array(record.verificationCode.utf8)
        let b = Array(code.uppercased().utf8)
        guard a.count == b.count, zip(a, b).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else { return nil }
        return record
    }
}
