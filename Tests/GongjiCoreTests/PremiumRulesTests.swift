import GongjiCore
import Testing

@Suite("Premium rules (R-PAY-*)")
struct PremiumRulesTests {
    let hohhot = ShippedPolicies.hohhot
    let ulanqab = ShippedPolicies.ulanqab
    let maanshan = ShippedPolicies.maanshanPublished

    func ulanqabFacts(current: Money = .zero, carryOver: Money = .zero, paid: Set<Int> = [], on date: CivilDate = today) -> PremiumFacts {
        premiumFacts(policy: ulanqab, current: current, carryOver: carryOver, paid: paid, on: date)
    }

    @Test("R-PAY-4 worked example: ulanqab 400.00 yuan for a 405 premium fails short by 5.00; nothing changes")
    func shortBalance() throws {
        let facts = ulanqabFacts(current: .yuan(400))
        let error = try #require(failure { try PremiumRules.pay(years: [2025], expectedTotal: .yuan(405), external: nil, facts: facts) })
        #expect(error.reason == .balanceInsufficient)
        #expect(error.details["shortfall_fen"] == "500")
        #expect(error.messageZH.contains("5.00"))
    }

    @Test("R-PAY-4 worked example: ulanqab 800.00 pays 2024+2025 together: one payment of 780.00, balance 20.00")
    func twoYears() throws {
        let plan = try PremiumRules.pay(
            years: [2025, 2024], expectedTotal: .yuan(780), external: nil,
            facts: ulanqabFacts(current: .yuan(300), carryOver: .yuan(500)))
        #expect(plan.quote.total == .yuan(780))
        #expect(plan.quote.lines.map(\.year) == [2024, 2025])
        #expect(plan.quote.lines.map(\.amount) == [.yuan(375), .yuan(405)])
        let debited = Money.sum(plan.postings.map(\.amount))!
        #expect(debited == .yuan(780))
        #expect(Money.yuan(800).subtracting(debited) == .yuan(20))
        #expect(plan.postings == [Posting(part: .carryOver, amount: .yuan(500)), Posting(part: .currentYear, amount: .yuan(280))])
        #expect(plan.external == nil)
    }

    @Test("R-SUSP-2 a suspended region still quotes, saying payment is suspended and where to pay; paying fails (R-SUSP-1)")
    func suspendedQuotes() throws {
        var suspended = ulanqab
        suspended.availability.suspended = true
        let facts = premiumFacts(policy: suspended, current: .yuan(800), carryOver: .zero, paid: [], on: today)
        let quote = try PremiumRules.quote(years: [2025], facts: facts)
        #expect(quote.total == .yuan(405))
        let suspension = try #require(quote.paymentSuspension)
        #expect(suspension.alternativeChannels.contains { $0.contains("蒙速办") })
        #expect(suspension.hotline == "12393")
        #expect(
            reason { try PremiumRules.pay(years: [2025], expectedTotal: .yuan(405), external: nil, facts: facts) }
                == "FAMILY_PAYMENT_SUSPENDED")
        // Not suspended: no suspension in the quote.
        #expect(try PremiumRules.quote(years: [2025], facts: ulanqabFacts(current: .yuan(800))).paymentSuspension == nil)
    }

    @Test("R-PAY-4 a balance exactly equal to the amount pays; one fen less does not")
    func exactBalance() {
        #expect(
            reason {
                try PremiumRules.pay(years: [2025], expectedTotal: .yuan(405), external: nil, facts: ulanqabFacts(current: .yuan(405)))
            } == nil)
        #expect(
            reason {
                try PremiumRules.pay(
                    years: [2025], expectedTotal: .yuan(405), external: nil, facts: ulanqabFacts(current: Money(fen: 40499)))
            }
                == "BALANCE_INSUFFICIENT")
    }

    @Test("R-PAY-4 several years are all or nothing: 2024 + 2025 needs at least 780 yuan")
    func allOrNothing() {
        #expect(
            reason {
                try PremiumRules.pay(
                    years: [2024, 2025], expectedTotal: .yuan(780), external: nil, facts: ulanqabFacts(current: Money(fen: 77999)))
            }
                == "BALANCE_INSUFFICIENT")
        #expect(
            reason {
                try PremiumRules.pay(
                    years: [2024, 2025], expectedTotal: .yuan(780), external: nil, facts: ulanqabFacts(current: .yuan(780), paid: [2024]))
            }
                == "PREMIUM_ALREADY_PAID")
    }

    @Test("R-PAY-2 amounts by year and category; hohhot special-category child pays 200 (worked example)")
    func amounts() throws {
        let special = resident(childID, name: "王小明", category: "subsistence_allowance")
        let quote = try PremiumRules.quote(years: [2025], facts: premiumFacts(policy: hohhot, member: special, current: .yuan(1000)))
        #expect(quote.total == .yuan(200))
        #expect(quote.lines.first?.category == "subsistence_allowance")
        for category in ["extreme_poverty", "disability"] {
            let member = resident(childID, name: "王小明", category: category)
            #expect(
                try PremiumRules.quote(years: [2025], facts: premiumFacts(policy: hohhot, member: member, current: .yuan(1000))).total
                    == .yuan(200))
        }
        // A category without a special amount pays the standard.
        let other = resident(childID, name: "王小明", category: "veteran")
        #expect(
            try PremiumRules.quote(years: [2025], facts: premiumFacts(policy: hohhot, member: other, current: .yuan(1000))).total
                == .yuan(405))
        #expect(try PremiumRules.quote(years: [2024], facts: ulanqabFacts(current: .yuan(1000))).total == .yuan(375))
    }

    @Test("R-PAY-2 maanshan: while the year's amount is unpublished, quoting and paying fail clearly")
    func unpublished() {
        let facts = premiumFacts(policy: ShippedPolicies.load("maanshan"), carryOver: .yuan(1000))
        #expect(reason { try PremiumRules.quote(years: [2025], facts: facts) } == "PREMIUM_NOT_PUBLISHED")
        #expect(
            reason { try PremiumRules.pay(years: [2025], expectedTotal: .yuan(380), external: nil, facts: facts) }
                == "PREMIUM_NOT_PUBLISHED")
        #expect(reason { try PremiumRules.quote(years: [2030], facts: facts) } == "PREMIUM_YEAR_UNKNOWN")
    }

    @Test("R-PAY-3 the client's expected amount must match")
    func amountMismatch() {
        #expect(
            reason {
                try PremiumRules.pay(years: [2025], expectedTotal: .yuan(400), external: nil, facts: ulanqabFacts(current: .yuan(1000)))
            } == "AMOUNT_MISMATCH")
    }

    @Test("R-PAY-1 only an active binding whose start date has come, paid by the authorizer")
    func bindingMustBeActiveAndStarted() {
        for (status, expected) in [
            (BindingStatus.pending, "BINDING_PENDING_REVIEW"), (.revoked, "BINDING_REVOKED"), (.rejected, "BINDING_REJECTED"),
        ] {
            let facts = premiumFacts(policy: hohhot, binding: activeBinding(status: status), current: .yuan(1000))
            #expect(reason { try PremiumRules.quote(years: [2025], facts: facts) } == expected)
        }
        let future = premiumFacts(policy: hohhot, binding: activeBinding(start: today.adding(days: 1)), current: .yuan(1000))
        #expect(reason { try PremiumRules.quote(years: [2025], facts: future) } == "BINDING_NOT_STARTED")
        let starting = premiumFacts(policy: hohhot, binding: activeBinding(start: today), current: .yuan(1000))
        #expect(reason { try PremiumRules.quote(years: [2025], facts: starting) } == nil)
        let someoneElse = premiumFacts(policy: hohhot, current: .yuan(1000), actor: childID)
        #expect(reason { try PremiumRules.quote(years: [2025], facts: someoneElse) } == "NOT_AUTHORIZER")
    }

    @Test("R-BIND-6 worked example: a maanshan payment before approval fails")
    func maanshanPendingCannotPay() {
        let facts = premiumFacts(policy: maanshan, binding: activeBinding(region: .maanshan, status: .pending), carryOver: .yuan(1000))
        #expect(
            reason { try PremiumRules.pay(years: [2025], expectedTotal: .yuan(380), external: nil, facts: facts) }
                == "BINDING_PENDING_REVIEW")
    }

    @Test("R-BIND-7 payments after revocation fail")
    func revokedCannotPay() throws {
        let revoked = try BindingRules.revoke(activeBinding(), actor: authorizerID)
        #expect(
            reason {
                try PremiumRules.pay(
                    years: [2025], expectedTotal: .yuan(405), external: nil,
                    facts: premiumFacts(policy: hohhot, binding: revoked, current: .yuan(1000)))
            } == "BINDING_REVOKED")
    }

    @Test("R-PAY-5 maanshan: only carry-over pays; a shortfall may be paid externally, recorded separately")
    func maanshanCarryOver() throws {
        let facts = premiumFacts(policy: maanshan, binding: activeBinding(region: .maanshan), current: .yuan(1000), carryOver: .yuan(300))
        let quote = try PremiumRules.quote(years: [2025], facts: facts)
        #expect(quote.available == .yuan(300))
        #expect(quote.shortfall == .yuan(80))
        #expect(quote.externalShortfallAllowed)
        #expect(
            reason { try PremiumRules.pay(years: [2025], expectedTotal: .yuan(380), external: nil, facts: facts) } == "BALANCE_INSUFFICIENT"
        )
        let plan = try PremiumRules.pay(
            years: [2025], expectedTotal: .yuan(380),
            external: ExternalPayment(amount: .yuan(80), reference: " CASH-001 "), facts: facts)
        #expect(plan.postings == [Posting(part: .carryOver, amount: .yuan(300))])
        #expect(plan.external == ExternalPayment(amount: .yuan(80), reference: "CASH-001"))
        #expect(
            reason {
                try PremiumRules.pay(
                    years: [2025], expectedTotal: .yuan(380), external: ExternalPayment(amount: .yuan(79), reference: "C"), facts: facts)
            }
                == "EXTERNAL_AMOUNT_MISMATCH")
        #expect(
            reason {
                try PremiumRules.pay(
                    years: [2025], expectedTotal: .yuan(380), external: ExternalPayment(amount: .yuan(80), reference: " "), facts: facts)
            }
                == "EXTERNAL_REFERENCE_REQUIRED")
        // Regions without the external channel refuse it.
        #expect(
            reason {
                try PremiumRules.pay(
                    years: [2025], expectedTotal: .yuan(405), external: ExternalPayment(amount: .yuan(5), reference: "C"),
                    facts: ulanqabFacts(current: .yuan(400)))
            } == "EXTERNAL_PAYMENT_NOT_ALLOWED")
    }

    @Test("R-PAY-6 hohhot: the member's own account balance must be zero")
    func memberBalanceZero() {
        let withBalance = premiumFacts(
            policy: hohhot, current: .yuan(1000),
            memberAccount: PersonalAccount(owner: childID, year: 2024, carryOver: Money(fen: 1)))
        #expect(reason { try PremiumRules.quote(years: [2025], facts: withBalance) } == "MEMBER_ACCOUNT_NOT_EMPTY")
        let empty = premiumFacts(policy: hohhot, current: .yuan(1000), memberAccount: PersonalAccount(owner: childID, year: 2024))
        #expect(reason { try PremiumRules.quote(years: [2025], facts: empty) } == nil)
        let ulanqabWithBalance = premiumFacts(
            policy: ulanqab, current: .yuan(1000),
            memberAccount: PersonalAccount(owner: childID, year: 2024, carryOver: .yuan(5)))
        #expect(reason { try PremiumRules.quote(years: [2025], facts: ulanqabWithBalance) } == nil)
    }

    @Test("R-PAY-7 first and last day of the window cover the whole year; the day after is late with a waiting period")
    func windows() throws {
        let first = CivilDate(year: 2024, month: 9, day: 1)!
        let last = CivilDate(year: 2025, month: 2, day: 28)!
        for date in [first, last] {
            let line = try PremiumRules.quote(years: [2025], facts: premiumFacts(policy: hohhot, current: .yuan(1000), on: date)).lines[0]
            #expect(!line.isLate)
            #expect(line.benefitStart == CivilDate(year: 2025, month: 1, day: 1))
        }
        let late = try PremiumRules.quote(
            years: [2025], facts: premiumFacts(policy: hohhot, current: .yuan(1000), on: last.adding(days: 1))
        ).lines[0]
        #expect(late.isLate)
        #expect(late.benefitStart == last.adding(days: 1 + hohhot.payment.waitingPeriodDays))
        #expect(
            reason {
                try PremiumRules.quote(years: [2025], facts: premiumFacts(policy: hohhot, current: .yuan(1000), on: first.adding(days: -1)))
            }
                == "COLLECTION_NOT_OPEN")
        // maanshan 2025: 5 September to 31 December 2024.
        let maanshanLast = premiumFacts(
            policy: maanshan, binding: activeBinding(region: .maanshan), carryOver: .yuan(1000),
            on: CivilDate(year: 2024, month: 12, day: 31)!)
        #expect(try !PremiumRules.quote(years: [2025], facts: maanshanLast).lines[0].isLate)
        let maanshanLate = premiumFacts(
            policy: maanshan, binding: activeBinding(region: .maanshan), carryOver: .yuan(1000),
            on: CivilDate(year: 2025, month: 1, day: 1)!)
        #expect(try PremiumRules.quote(years: [2025], facts: maanshanLate).lines[0].isLate)
        // A late payment for a year with no benefit period left records the enrollment only.
        let past = try PremiumRules.quote(years: [2024], facts: ulanqabFacts(current: .yuan(1000))).lines[0]
        #expect(past.isLate && past.benefitStart == nil)
    }

    @Test(
        "R-PAY-7a a late year whose benefit period is over is enrollment only, said in the quote and the plan; a year with days left is not"
    )
    func enrollmentOnly() throws {
        let past = try PremiumRules.quote(years: [2024], facts: ulanqabFacts(current: .yuan(1000))).lines[0]
        #expect(past.isEnrollmentOnly)
        let plan = try PremiumRules.pay(years: [2024], expectedTotal: past.amount, external: nil, facts: ulanqabFacts(current: .yuan(1000)))
        #expect(plan.quote.lines[0].isEnrollmentOnly)
        let current = try PremiumRules.quote(years: [2025], facts: ulanqabFacts(current: .yuan(1000))).lines[0]
        #expect(!current.isEnrollmentOnly)
    }

    @Test("R-PAY-2a the standard and window are the member's region's, the parts the authorizer's; an unknown member region is named")
    func memberRegionStandard() throws {
        var hefei = ShippedPolicies.maanshanPublished
        hefei.region = RegionCode("340100")!
        hefei.name = "合肥市"
        hefei.premiums[0].amount = .yuan(400)
        let child = resident(childID, name: "王小明", region: hefei.region)
        var facts = premiumFacts(
            policy: ShippedPolicies.maanshanPublished, binding: activeBinding(region: .maanshan), member: child,
            current: .yuan(1000), carryOver: .yuan(500))
        facts.memberPolicy = hefei
        let quote = try PremiumRules.quote(years: [2025], facts: facts)
        #expect(quote.total == .yuan(400), "Hefei's standard")
        #expect(quote.available == .yuan(500), "Ma'anshan's parts: carry-over only")
        let plan = try PremiumRules.pay(years: [2025], expectedTotal: .yuan(400), external: nil, facts: facts)
        #expect(plan.movement.entries.contains { $0.account == "region:340100:premium_collection" && $0.amount == .yuan(400) })
        facts.memberPolicy = nil
        let unknown = failure { try PremiumRules.quote(years: [2025], facts: facts) }
        #expect(
            unknown?.reason == .memberRegionNotSupported && unknown?.details["region"] == "340100" && unknown?.details["party"] == "member")
    }

    @Test("R-PAY-8 a member-year already paid cannot be paid again")
    func alreadyPaid() {
        #expect(
            reason {
                try PremiumRules.pay(
                    years: [2025], expectedTotal: .yuan(405), external: nil, facts: ulanqabFacts(current: .yuan(1000), paid: [2025]))
            }
                == "PREMIUM_ALREADY_PAID")
    }

    @Test("R-PAY-9 postings never exceed a part's balance, so no balance goes negative")
    func neverNegative() throws {
        for (current, carry) in [(0, 405), (405, 0), (200, 205), (1, 404), (1000, 1000)] {
            let facts = ulanqabFacts(current: .yuan(Int64(current)), carryOver: .yuan(Int64(carry)))
            let plan = try PremiumRules.pay(years: [2025], expectedTotal: .yuan(405), external: nil, facts: facts)
            for posting in plan.postings {
                #expect(posting.amount > .zero)
                #expect(posting.amount <= facts.authorizerAccount!.balance(of: posting.part))
            }
            #expect(Money.sum(plan.postings.map(\.amount)) == .yuan(405))
        }
    }

    @Test("R-BIND-8 a newborn bound before enrolment can be paid for, and the payment enrolls the child")
    func newbornPayment() throws {
        let baby = resident(childID, name: "王宝宝", region: .ulanqab, type: .none)
        let facts = premiumFacts(
            policy: ulanqab, binding: activeBinding(region: .ulanqab, newborn: true), member: baby, current: .yuan(1000))
        let plan = try PremiumRules.pay(years: [2025], expectedTotal: .yuan(405), external: nil, facts: facts)
        #expect(plan.enrollsMember)
        let notNewborn = premiumFacts(policy: ulanqab, binding: activeBinding(region: .ulanqab), member: baby, current: .yuan(1000))
        #expect(reason { try PremiumRules.quote(years: [2025], facts: notNewborn) } == "MEMBER_NOT_INSURED")
    }

    @Test("R-BIND-9 one member per payment: each child's payment is decided on its own binding")
    func onePerPayment() throws {
        let second = rid(born: "20120202", sequence: 246)
        let facts = premiumFacts(policy: ulanqab, binding: activeBinding(member: second, region: .ulanqab, id: "b2"), current: .yuan(1000))
        let plan = try PremiumRules.pay(years: [2025], expectedTotal: .yuan(405), external: nil, facts: facts)
        #expect(plan.quote.lines.count == 1)
    }

    @Test("years: at least one, no duplicates, within the per-payment limit")
    func years() {
        let facts = ulanqabFacts(current: .yuan(10_000))
        #expect(reason { try PremiumRules.quote(years: [], facts: facts) } == "INVALID_FIELD")
        #expect(reason { try PremiumRules.quote(years: [2025, 2025], facts: facts) } == "INVALID_FIELD")
        #expect(reason { try PremiumRules.quote(years: [2021, 2022, 2023, 2024], facts: facts) } == "INVALID_FIELD")
    }

    @Test("R-SUSP-1 quoting and paying fail while suspended")
    func suspended() {
        let facts = premiumFacts(policy: ShippedPolicies.load("ulanqab"), current: .yuan(1000))
        #expect(
            reason { try PremiumRules.pay(years: [2025], expectedTotal: .yuan(405), external: nil, facts: facts) }
                == "FAMILY_PAYMENT_SUSPENDED")
    }
}

@Suite("Documents and fund scope")
struct DocumentAndScopeTests {
    static let jpeg: [UInt8] =
        [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01] + [0xFF, 0xD9]
    static let png: [UInt8] =
        [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52]
        + [0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82]

    @Test("R-DOC-2 JPEG and PNG are recognised from their bytes")
    func recognised() {
        #expect(ImageFormat.detect(head: Array(Self.jpeg.prefix(16)), tail: Array(Self.jpeg.suffix(12))) == .jpeg)
        #expect(ImageFormat.detect(head: Array(Self.png.prefix(16)), tail: Array(Self.png.suffix(12))) == .png)
    }

    @Test(
        "R-DOC-2 anything else is refused",
        arguments: [
            Array("%PDF-1.7 hello world".utf8),
            [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01],  // JPEG cut short
            [UInt8](repeating: 0, count: 40),
            Array("GIF89a................".utf8),
            [
                0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                0, 0, 0,
            ],
        ] as [[UInt8]])
    func refused(bytes: [UInt8]) {
        #expect(ImageFormat.detect(head: Array(bytes.prefix(16)), tail: Array(bytes.suffix(12))) == nil)
    }

    @Test("R-DOC-4 unused uploads expire after the retention time; used ones never")
    func retention() {
        #expect(!DocumentRetention.isExpired(uploadedAtUnix: 1000, isReferenced: false, nowUnix: 1999, retentionSeconds: 1000))
        #expect(DocumentRetention.isExpired(uploadedAtUnix: 1000, isReferenced: false, nowUnix: 2000, retentionSeconds: 1000))
        #expect(!DocumentRetention.isExpired(uploadedAtUnix: 1000, isReferenced: true, nowUnix: 99999, retentionSeconds: 1000))
    }

    @Test("R-SCOPE-1 funds pay premiums and designated-provider costs with the member's own credential only")
    func scope() throws {
        let binding = activeBinding()
        try FundUse.check(.premium(year: 2025), binding: binding)
        try FundUse.check(.providerCost(provider: .designatedMedicalInstitution, credentialHolder: childID), binding: binding)
        try FundUse.check(.providerCost(provider: .designatedRetailPharmacy, credentialHolder: childID), binding: binding)
        #expect(
            reason { try FundUse.check(.providerCost(provider: .other, credentialHolder: childID), binding: binding) }
                == "FUND_USE_OUT_OF_SCOPE")
        #expect(
            reason {
                try FundUse.check(.providerCost(provider: .designatedRetailPharmacy, credentialHolder: authorizerID), binding: binding)
            }
                == "CREDENTIAL_NOT_MEMBERS_OWN")
        #expect(reason { try FundUse.check(.premium(year: 2025), binding: activeBinding(status: .revoked)) } == "BINDING_REVOKED")
    }
}

@Suite("payment amounts")
struct PaymentAmountTests {
    @Test("an expected total or external part outside 0…max is AMOUNT_OUT_OF_RANGE naming the field, as a settlement's amount")
    func outOfRange() {
        let facts = premiumFacts(policy: ShippedPolicies.hohhot, current: .yuan(1000))
        #expect(
            failure { try PremiumRules.pay(years: [2025], expectedTotal: Money(fen: -1), external: nil, facts: facts) }?.details["field"]
                == "expected_total_fen")
        #expect(
            reason { try PremiumRules.pay(years: [2025], expectedTotal: Money(fen: Money.max.fen + 1), external: nil, facts: facts) }
                == "AMOUNT_OUT_OF_RANGE")
        let external = ExternalPayment(amount: Money(fen: -5), reference: "CASH-1")
        #expect(
            failure { try PremiumRules.pay(years: [2025], expectedTotal: .yuan(100), external: external, facts: facts) }?.details["field"]
                == "external.amount_fen")
    }
}

/// R-LTC-1: the long-term-care contribution, a premium of its own kind.
@Suite("Long-term-care contribution (R-LTC-1)")
struct LongTermCareRulesTests {
    /// Hohhot with a long-term-care contribution of 100.00 for 2025 (test data: the shipped policies have none).
    static var hohhotWithCare: RegionPolicy {
        var policy = ShippedPolicies.hohhot
        policy.longTermCare = [
            .init(
                year: 2025, amount: .yuan(100), categoryAmounts: ["subsistence_allowance": .yuan(20)],
                windowStart: CivilDate(year: 2024, month: 9, day: 1)!, windowEnd: CivilDate(year: 2025, month: 2, day: 28)!)
        ]
        return policy
    }

    static func facts(
        _ policy: RegionPolicy = hohhotWithCare, paid: Set<Int> = [], care: Set<Int> = [], member: Person? = nil
    ) -> PremiumFacts {
        var facts = premiumFacts(policy: policy, member: member, current: .yuan(1000), paid: paid)
        facts.kind = .longTermCare
        facts.longTermCareYears = care
        return facts
    }

    @Test(
        "R-LTC-1 worked example: hohhot with a 2025 long-term-care contribution of 100.00: quoted and paid like the premium, from family funds, once per member, year and kind; the receipt names it"
    )
    func payLongTermCare() throws {
        let quote = try PremiumRules.quote(years: [2025], facts: Self.facts())
        #expect(quote.total == .yuan(100) && quote.kind == .longTermCare)
        let order = PaymentOrder(bindingID: "b1", years: [2025], expectedTotal: .yuan(100), external: nil, kind: .longTermCare)
        let plan = try PremiumRules.pay(order, paymentID: "p-ltc", facts: Self.facts(paid: [2025]))
        #expect(plan.quote.total == .yuan(100), "the resident premium paid for 2025 does not count for the other kind")
        #expect(plan.enrolledMember == nil)
        let (writes, row) = plan.writeSet(now: 1)
        #expect(row.record.kind == .longTermCare && row.record.receiptText.hasSuffix("|long_term_care") && writes.recordsEveryEvent)
        #expect(reason { try PremiumRules.pay(order, paymentID: "p2", facts: Self.facts(care: [2025])) } == "PREMIUM_ALREADY_PAID")
        // Its own category amounts (R-PAY-2 applies to each kind).
        var special = resident(childID, name: "王小明")
        special.specialCategory = "subsistence_allowance"
        #expect(try PremiumRules.quote(years: [2025], facts: Self.facts(member: special)).total == .yuan(20))
    }

    @Test(
        "R-LTC-1 where the region has no long-term-care insurance, or the year has no standard, it is refused; a member not insured cannot pay it"
    )
    func refusals() throws {
        #expect(reason { try PremiumRules.quote(years: [2025], facts: Self.facts(ShippedPolicies.hohhot)) } == "LONG_TERM_CARE_NOT_OFFERED")
        #expect(reason { try PremiumRules.quote(years: [2024], facts: Self.facts()) } == "PREMIUM_YEAR_UNKNOWN")
        var baby = resident(childID, name: "王宝宝")
        baby.insuranceType = .none
        var facts = Self.facts(member: baby)
        facts.binding.isNewborn = true
        #expect(reason { try PremiumRules.quote(years: [2025], facts: facts) } == "MEMBER_NOT_INSURED")
        // The resident premium of the same member and year is unaffected by a paid contribution.
        var resident = Self.facts(care: [2025])
        resident.kind = .resident
        #expect(try PremiumRules.quote(years: [2025], facts: resident).total == .yuan(405))
    }

    @Test("R-LTC-1 policy: long_term_care decodes as premium years and is validated like them")
    func policy() throws {
        var policy = Self.hohhotWithCare
        try policy.validate()
        policy.longTermCare?[0].windowEnd = CivilDate(year: 2024, month: 8, day: 1)!
        #expect(failure { try policy.validate() }?.field == "long_term_care[0].window_end")
    }
}
