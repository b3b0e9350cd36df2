import Crypto
import Foundation
import GongjiCore
import GongjiStore

extension GongjiService {
    /// The domain facts for a quote or payment.
    func premiumFacts(_ stored: StoredPaymentFacts, endUser: ResidentID, policies: PolicyBook, today: CivilDate) throws -> PremiumFacts {
        guard let account = stored.authorizer.account else {
            throw DomainError(reason: "AUTHORIZER_NOT_EMPLOYEE_INSURED", category: .failedPrecondition,
                              message: "the authorizer has no personal account", messageZH: "授权人无个人账户")
        }
        return PremiumFacts(
            binding: stored.binding, actor: endUser, authorizer: stored.authorizer.person, authorizerAccount: account,
            member: stored.member.person, memberAccount: stored.member.account, paidYears: stored.paidYears,
            policy: policies.policy(of: stored.binding.region), today: today)
    }

    /// R-PAY-2, R-PAY-4, R-PAY-5, R-PAY-7: quotes the premium.
    public func quote(bindingID: String, years: [Int], endUser: ResidentID) async throws -> PremiumQuote {
        let stored = try await store.paymentFacts(bindingID: bindingID, endUser: endUser)
        return try PremiumRules.quote(years: years, facts: premiumFacts(stored, endUser: endUser, policies: state.policies, today: clock.today()))
    }

    /// R-PAY-*: pays exactly once per request id.
    public func pay(bindingID: String, years: [Int], expectedTotal: Money, external: ExternalPayment?, endUser: ResidentID,
                    key: IdempotencyKey?, paymentID: String = makeTimeOrderedID()) async throws -> PaymentRecord {
        let policies = state.policies
        let today = clock.today()
        let receiptKey = secrets.receiptKey
        let record = try await store.pay(
            bindingID: bindingID, endUser: endUser, key: key, paymentID: paymentID, now: clock.nowUnix(), today: today,
            sign: { Self.verificationCode($0, key: receiptKey) }
        ) { stored in
            let facts = try self.premiumFacts(stored, endUser: endUser, policies: policies, today: today)
            return try PremiumRules.pay(years: years, expectedTotal: expectedTotal, external: external, facts: facts)
        }
        logger.info("premium paid", metadata: [
            "payment.id": "\(record.id)", "payment.total_fen": "\(record.total.fen)", "binding.id": "\(bindingID)",
            "end_user": "\(endUser.masked)",
        ])
        return record
    }

    /// The receipt code: HMAC-SHA256 of the receipt's text under the daemon's receipt key.
    static func verificationCode(_ text: String, key: SymmetricKey) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key)
        return mac.prefix(10).hexEncoded(uppercase: true)
    }

    /// A payment the end user made or that was made for the end user.
    public func payment(id: String, for endUser: ResidentID) async throws -> PaymentRecord {
        guard let record = try await store.payment(id: id) else { throw DomainError.notParty("payment") }
        try PartyRules.requireParty(endUser, authorizer: record.authorizer, member: record.member, of: "payment")
        return record
    }

    /// A receipt the end user may read.
    public func receipt(number: String, for endUser: ResidentID) async throws -> PaymentRecord {
        guard let record = try await store.payment(receiptNumber: number) else { throw DomainError.notParty("receipt") }
        try PartyRules.requireParty(endUser, authorizer: record.authorizer, member: record.member, of: "receipt")
        return record
    }

    /// Whether a receipt number and verification code were issued together by this daemon.
    public func verifyReceipt(number: String, code: String) async throws -> PaymentRecord? {
        guard let record = try await store.payment(receiptNumber: number) else { return nil }
        let expected = Self.verificationCode(record.receiptText, key: secrets.receiptKey)
        // Constant-time comparison of the codes.
        let a = Array(expected.utf8), b = Array(code.uppercased().utf8)
        guard a.count == b.count, zip(a, b).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else { return nil }
        return record
    }
}
