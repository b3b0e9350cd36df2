/// Which premium a payment pays (R-LTC-1): the resident medical-insurance premium, or the
/// long-term-care contribution (长期护理保险) where the member's region has one.
public enum PremiumKind: String, Hashable, Sendable, CaseIterable, Codable {
    /// 城乡居民医保费.
    case resident
    /// 长期护理保险费.
    case longTermCare = "long_term_care"

    /// Its name on a receipt.
    public var chinese: String { self == .resident ? "城乡居民基本医疗保险费" : "长期护理保险费" }
}

/// The facts a premium quote or payment needs, gathered by the store.
public struct PremiumFacts: Sendable {
    /// R-LTC-1: which premium is quoted or paid.
    public var kind = PremiumKind.resident
    /// R-LTC-1: long-term-care years paid for the member through Gongji.
    public var longTermCareYears: Set<Int> = []
    /// The binding the payment goes through.
    public var binding: Binding
    /// The end user the gateway acts for.
    public var actor: ResidentID
    /// The authorizer as registered now.
    public var authorizer: Person
    /// The authorizer's account; nil when the authorizer has none (never employee-insured).
    public var authorizerAccount: PersonalAccount?
    /// The member as registered now.
    public var member: Person
    /// The member's own personal account, if the member has one (R-PAY-6).
    public var memberAccount: PersonalAccount?
    /// Premium years already paid for the member, by anyone (R-PAY-8).
    public var paidYears: Set<Int>
    /// The binding's governing policy (the authorizer's region) with its current availability;
    /// nil if the region has none: who may pay, from which parts (R-PAY-2a).
    public var policy: RegionPolicy?
    /// The policy of the region where the member is insured (or registered, for a newborn): the
    /// premium standard, window and waiting period come from it (R-PAY-2a); nil if none is loaded.
    public var memberPolicy: RegionPolicy?
    /// Today in China time.
    public var today: CivilDate
    /// R-XP-5: what the member's wallet holds through the binding (a cross-province binding pays from it).
    public var walletHolding: WalletHolding?

    /// Creates the facts.
    public init(
        binding: Binding, actor: ResidentID, authorizer: Person, authorizerAccount: PersonalAccount?,
        member: Person, memberAccount: PersonalAccount?, paidYears: Set<Int>, policy: RegionPolicy?, memberPolicy: RegionPolicy?,
        today: CivilDate, walletHolding: WalletHolding? = nil
    ) {
        self.walletHolding = walletHolding
        self.binding = binding
        self.actor = actor
        self.authorizer = authorizer
        self.authorizerAccount = authorizerAccount
        self.member = member
        self.memberAccount = memberAccount
        self.paidYears = paidYears
        self.policy = policy
        self.memberPolicy = memberPolicy
        self.today = today
    }
}

/// One premium year of a quote or payment.
public struct PremiumLine: Hashable, Sendable {
    /// The premium year.
    public var year: Int
    /// The amount for this member and year.
    public var amount: Money
    /// Whether the special-category amount applies (the category's name), else nil.
    public var category: String?
    /// Whether the payment falls after the collection window.
    public var isLate: Bool
    /// The first day of benefits for this year; nil when a late payment for a past year leaves no
    /// benefit period in it (the payment then records the enrollment only).
    public var benefitStart: CivilDate?

    /// R-PAY-7a: the year's benefit period is over; paying enrolls the member for continuity only.
    public var isEnrollmentOnly: Bool { benefitStart == nil }

    /// Creates a line.
    public init(year: Int, amount: Money, category: String?, isLate: Bool, benefitStart: CivilDate?) {
        self.year = year
        self.amount = amount
        self.category = category
        self.isLate = isLate
        self.benefitStart = benefitStart
    }
}

/// A premium quote (R-PAY-2, R-PAY-4, R-PAY-5, R-PAY-7).
public struct PremiumQuote: Hashable, Sendable {
    /// Per-year amounts.
    public var lines: [PremiumLine]
    /// The sum of the lines.
    public var total: Money
    /// The balance the region lets the account use for family members.
    public var available: Money
    /// How much of the total the account can cover.
    public var accountPart: Money
    /// What the account cannot cover.
    public var shortfall: Money
    /// Whether the shortfall may be paid through another channel.
    public var externalShortfallAllowed: Bool
    /// Set while family payment is suspended in the region (R-SUSP-2): the quote stands, paying
    /// fails, and these are the channels and hotline to use meanwhile.
    public var paymentSuspension: RegionPolicy.Availability? = nil
    /// R-LTC-1: which premium.
    public var kind = PremiumKind.resident
}

/// A debit from one part of the authorizer's account.
public struct Posting: Hashable, Sendable {
    /// The balance part.
    public var part: BalancePart
    /// The amount taken (positive).
    public var amount: Money

    /// Creates a posting.
    public init(part: BalancePart, amount: Money) {
        self.part = part
        self.amount = amount
    }
}

/// An external (non-account) part of a payment (R-PAY-5).
public struct ExternalPayment: Hashable, Sendable {
    /// The amount paid through the other channel.
    public var amount: Money
    /// The other channel's reference (e.g. a cash receipt number).
    public var reference: String

    /// Creates an external payment.
    public init(amount: Money, reference: String) {
        self.amount = amount
        self.reference = reference
    }
}

/// What a payment asks for, as the gateway sent it (validated by `PremiumRules.pay`).
public struct PaymentOrder: Hashable, Sendable {
    /// The binding paid through.
    public var bindingID: String
    /// The premium years.
    public var years: [Int]
    /// The total the client showed the end user (R-PAY-3).
    public var expectedTotal: Money
    /// The part paid through another channel, if any (R-PAY-5).
    public var external: ExternalPayment?
    /// R-LTC-1: which premium.
    public var kind: PremiumKind

    /// Creates an order.
    public init(bindingID: String, years: [Int], expectedTotal: Money, external: ExternalPayment?, kind: PremiumKind = .resident) {
        self.kind = kind
        self.bindingID = bindingID
        self.years = years
        self.expectedTotal = expectedTotal
        self.external = external
    }
}

/// Everything a payment writes, as decided by the core; the store applies it in one transaction
/// and adds only what only it can: the payment's sequence number (and so its receipt number).
public struct PaymentPlan: Hashable, Sendable {
    /// The payment's id.
    public var paymentID: String
    /// The binding paid through.
    public var binding: Binding
    /// The payer's registered name, printed on the receipt.
    public var authorizerName: String
    /// The quote the payment is based on.
    public var quote: PremiumQuote
    /// Debits from the authorizer's account parts (sum = quote.accountPart).
    public var postings: [Posting]
    /// The external part, if any (amount = quote.shortfall).
    public var external: ExternalPayment?
    /// The authorizer's account after the debits.
    public var authorizerAccount: PersonalAccount
    /// R-XP-5: the wallet's holding after a payment from it; nil for a payment from the account.
    public var walletHolding: WalletHolding?
    /// The member as enrolled by this payment (R-BIND-8: a newborn becomes resident-insured, normal,
    /// in the binding's region); nil when the member was insured already.
    public var enrolledMember: Person?
    /// The ledger movement: the account parts and the external channel pay the region's collection.
    public var movement: LedgerMovement
    /// The day the receipt is issued (China time).
    public var issuedOn: CivilDate

    /// Whether the payment enrolls a newborn member.
    public var enrollsMember: Bool { enrolledMember != nil }

    /// The receipt number of this payment once the store has given it `sequence`.
    public func receiptNumber(sequence: Int64) -> String { ReceiptNumber.make(issuedOn: issuedOn, sequence: sequence) }
}

/// Receipt numbers (电子回单号): `GJ`, the issuing day, and the payment's sequence number in ten
/// digits — unique because the sequence is.
public enum ReceiptNumber {
    /// The receipt number of the payment with `sequence` issued on `day`.
    public static func make(issuedOn day: CivilDate, sequence: Int64) -> String {
        let digits = String(sequence)
        return "GJ" + day.description.filter { $0 != "-" } + String(repeating: "0", count: max(0, 10 - digits.count)) + digits
    }
}

/// Pure decisions on premium quotes and payments (R-PAY-*).
public enum PremiumRules {
    /// Quotes the premium for `years`.
    public static func quote(years: [Int], facts: PremiumFacts) throws(DomainError) -> PremiumQuote {
        guard let account = facts.authorizerAccount else { throw .authorizerNotEmployeeInsured() }
        guard let policy = facts.policy else { throw .authorizerRegionNotSupported(facts.binding.region) }
        // R-XP-5: from the wallet, the member may pay too.
        guard facts.actor == facts.binding.authorizer || (facts.paysFromWallet && facts.actor == facts.binding.member) else {
            throw .notAuthorizer()
        }
        try checkBinding(facts)
        try checkYears(years, policy: policy)
        // R-PAY-2a: the standard is the member's region's.
        guard let standard = facts.memberPolicy else { throw .memberRegionNotSupported(facts.member.region) }
        if policy.payment.memberBalanceMustBeZero, let account = facts.memberAccount, account.total != .zero {
            throw .payment(
                .memberAccountNotEmpty, "the member's own personal account still holds \(account.total.yuanString) yuan",
                "被共济人本人个人账户余额不为零", ["member_balance_fen": String(account.total.fen)])
        }
        var lines: [PremiumLine] = []
        for year in years.sorted() { lines.append(try line(year: year, facts: facts, policy: standard)) }
        guard let total = Money.sum(lines.map(\.amount)),
            case let available = facts.paysFromWallet
                ? (facts.walletHolding.map { Money.sum([$0.currentYear, $0.carryOver]) ?? .zero } ?? .zero)
                : account.usable(policy.payment.balanceParts)
        else { throw .amountOutOfRange("total") }
        let accountPart = Money.min(total, available)
        // R-SUSP-2: a quote moves no money, so it answers while payment is suspended, and says so.
        return PremiumQuote(
            lines: lines, total: total, available: available, accountPart: accountPart,
            shortfall: total.subtracting(accountPart)!, externalShortfallAllowed: policy.payment.externalShortfall,
            paymentSuspension: policy.availability.suspended ? policy.availability : nil, kind: facts.kind)
    }

    /// Decides a payment: the client's expected total must match (R-PAY-3); the account must cover
    /// it, or — where allowed — an external part covers exactly the shortfall (R-PAY-4, R-PAY-5).
    public static func pay(_ order: PaymentOrder, paymentID: String, facts: PremiumFacts) throws(DomainError) -> PaymentPlan {
        var facts = facts
        facts.kind = order.kind
        let (expectedTotal, external) = (order.expectedTotal, order.external)
        // Amounts as a settlement's: AMOUNT_OUT_OF_RANGE naming the field.
        guard expectedTotal.isValidAmount else { throw .amountOutOfRange("expected_total_fen") }
        if let external { guard external.amount.isValidAmount else { throw .amountOutOfRange("external.amount_fen") } }
        let quote = try quote(years: order.years, facts: facts)
        // R-CTL-1: the authorizer froze family use through this binding.
        if facts.binding.isFrozen { throw .familyUseFrozen(facts.binding) }
        // R-SUSP-1: paying fails while the region is suspended, naming the alternatives.
        if quote.paymentSuspension != nil, let policy = facts.policy { throw .suspended(policy) }
        guard expectedTotal == quote.total else {
            throw .payment(
                .amountMismatch, "the premium is \(quote.total.yuanString) yuan, the request expected \(expectedTotal.yuanString)",
                "缴费金额与应缴金额不一致", ["expected_fen": String(expectedTotal.fen), "actual_fen": String(quote.total.fen)],
                category: .invalidArgument)
        }
        if let external, external.amount != .zero {
            guard quote.externalShortfallAllowed else {
                throw .payment(
                    .externalPaymentNotAllowed, "this region does not accept an external part", "本地区不支持其他渠道补足差额",
                    category: .invalidArgument)
            }
            let reference = external.reference.trimmingWhitespace
            guard TextLimits.externalReference.admits(reference) else {
                throw .payment(
                    .externalReferenceRequired, "the external part needs the other channel's reference (\(TextLimits.externalReference))",
                    "请提供其他渠道缴费凭证号", category: .invalidArgument)
            }
            guard external.amount == quote.shortfall else {
                throw .payment(
                    .externalAmountMismatch, "the external part must be exactly the shortfall \(quote.shortfall.yuanString) yuan",
                    "其他渠道补足金额应等于差额",
                    [
                        "shortfall_fen": String(quote.shortfall.fen),
                        "external_fen": String(external.amount.fen),
                    ])
            }
        } else if quote.shortfall > .zero {
            throw .balanceInsufficient(shortfall: quote.shortfall, available: quote.available, total: quote.total)
        }
        var (postings, account) = facts.authorizerAccount!.debiting(upTo: quote.accountPart, from: facts.policy!.payment.balanceParts)
        var holding: WalletHolding? = nil
        if facts.paysFromWallet, let held = facts.walletHolding {
            // R-XP-5: from what the wallet holds, by the part it came from; the account is not touched.
            (postings, holding) = held.debiting(quote.accountPart, order: facts.policy!.payment.balanceParts)
            account = facts.authorizerAccount!
        }
        precondition(Money.sum(postings.map(\.amount)) == quote.accountPart, "postings must cover the account part")
        let externalPart =
            quote.shortfall > .zero ? external.map { ExternalPayment(amount: $0.amount, reference: $0.reference.trimmingWhitespace) } : nil
        let binding = facts.binding
        var entries = postings.map { posting in
            LedgerEntry(
                holding == nil
                    ? LedgerAccount.person(binding.authorizer, posting.part)
                    : LedgerAccount.wallet(binding.member, binding: binding.id, posting.part),
                Money(fen: -posting.amount.fen))
        }
        if let externalPart { entries.append(LedgerEntry(LedgerAccount.external(binding.region), Money(fen: -externalPart.amount.fen))) }
        // R-PAY-2a: the premium goes to the collection of the member's region.
        let premiumRegion = facts.memberPolicy?.region ?? binding.region
        entries.append(LedgerEntry(LedgerAccount.premiumCollection(premiumRegion), quote.total))
        // R-BIND-8: paying for a newborn enrolls the member as resident-insured in the binding's region.
        var enrolled: Person? = nil
        if facts.member.insuranceType == .none, facts.kind == .resident {
            var member = facts.member
            member.insuranceType = .resident
            member.status = .normal
            member.region = premiumRegion
            enrolled = member
        }
        return PaymentPlan(
            paymentID: paymentID, binding: binding, authorizerName: facts.authorizer.name, quote: quote,
            postings: postings, external: externalPart, authorizerAccount: account, walletHolding: holding, enrolledMember: enrolled,
            movement: LedgerMovement("payment:\(paymentID)", entries), issuedOn: facts.today)
    }

    static func checkBinding(_ facts: PremiumFacts) throws(DomainError) {
        try BindingRules.checkUsable(facts.binding, authorizer: facts.authorizer, today: facts.today)
        // R-LTC-1: the long-term-care contribution is for an insured member (a newborn is enrolled by the resident premium).
        if facts.member.insuranceType == .none, !facts.binding.isNewborn || facts.kind == .longTermCare {
            throw .payment(.memberNotInsured, "the member is not enrolled in basic medical insurance", "被共济人未参加基本医疗保险")
        }
    }

    static func checkYears(_ years: [Int], policy: RegionPolicy) throws(DomainError) {
        guard !years.isEmpty else {
            throw .invalidField("years", "name at least one premium year", zh: "请选择缴费年度")
        }
        guard years.count <= policy.payment.yearsPerPaymentMax else {
            throw .invalidField("years", "at most \(policy.payment.yearsPerPaymentMax) years per payment", zh: "一次缴费年度过多")
        }
        guard Set(years).count == years.count else {
            throw .invalidField("years", "a year is named twice", zh: "缴费年度重复")
        }
    }

    static func line(year: Int, facts: PremiumFacts, policy: RegionPolicy) throws(DomainError) -> PremiumLine {
        if facts.kind == .longTermCare, policy.longTermCare == nil {
            throw .payment(
                .longTermCareNotOffered, "\(policy.name) has no long-term-care insurance for residents", "该地区未开展居民长期护理保险",
                ["region": policy.region.description])
        }
        guard let entry = facts.kind == .resident ? policy.premiumYear(year) : policy.longTermCareYear(year) else {
            throw .payment(
                .premiumYearUnknown, "\(policy.name) has no \(facts.kind.rawValue) premium data for \(year)", "该年度缴费标准尚未公布",
                ["year": String(year), "kind": facts.kind.rawValue])
        }
        guard !(facts.kind == .resident ? facts.paidYears : facts.longTermCareYears).contains(year) else {
            throw .payment(
                .premiumAlreadyPaid,
                "the member's \(facts.kind == .resident ? "premium" : "long-term-care contribution") for \(year) is already paid",
                "该成员\(year)年度\(facts.kind.chinese)已缴纳", ["year": String(year), "kind": facts.kind.rawValue], category: .alreadyExists)
        }
        let category = facts.member.specialCategory.flatMap { entry.categoryAmounts[$0] == nil ? nil : $0 }
        guard let amount = category.flatMap({ entry.categoryAmounts[$0] }) ?? entry.amount else {
            throw .payment(
                .premiumNotPublished, "the \(year) premium standard of \(policy.name) is not published yet",
                "\(year)年度缴费标准尚未公布", ["year": String(year)])
        }
        let today = facts.today
        guard today >= entry.windowStart else {
            throw .payment(
                .collectionNotOpen, "collection for \(year) opens on \(entry.windowStart)", "\(year)年度集中参保期尚未开始",
                ["year": String(year), "window_start": entry.windowStart.description])
        }
        // R-PAY-7: inside the window the whole year is covered; a late payment is accepted and
        // benefits start after the waiting period (never before the year begins).
        let isLate = today > entry.windowEnd
        let start =
            isLate
            ? Swift.max(today.adding(days: policy.payment.waitingPeriodDays), CivilDate.firstOfYear(year))
            : CivilDate.firstOfYear(year)
        let benefitStart = start <= CivilDate.lastOfYear(year) ? start : nil
        return PremiumLine(year: year, amount: amount, category: category, isLate: isLate, benefitStart: benefitStart)
    }
}

extension PremiumFacts {
    /// R-XP-5: a cross-province binding pays from the member's wallet, never from the account.
    public var paysFromWallet: Bool {
        member.insuranceType != .none && WalletRules.crossesProvinces(policyRegion: binding.region, memberRegion: member.region)
    }
}
