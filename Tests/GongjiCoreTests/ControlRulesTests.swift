import Foundation
import Testing

@testable import GongjiCore

/// R-CTL-1: the authorizer freezes family use and lifts it; the member can do neither.
@Suite("R-CTL controls of family use")
struct ControlRulesTests {
    static func frozen(_ entry: FamilyBinding) -> FamilyBinding {
        var entry = entry
        entry.binding.isFrozen = true
        return entry
    }

    @Test(
        "R-CTL-1 worked example: the authorizer freezes; the member settles 100.00 → family part 0 (FROZEN), own account and cash settle"
    )
    func frozenSettlement() throws {
        let patient = Settle.record(
            employee(Settle.patient, name: "王小明"), own: PersonalAccount(owner: Settle.patient, year: 2024, currentYear: .yuan(30)))
        let split = try SettlementRules.preSettle(
            Settle.order(.yuan(100)),
            facts: Settle.facts(patient: patient, bindings: [Self.frozen(Settle.binding("b1", current: .yuan(1000)))]))
        #expect(split.acctPay == .yuan(30) && split.acctMulaidPay == .zero && split.cashPay == .yuan(70))
        #expect(split.familyZeroNote == .frozen && split.family.map(\.note) == [.frozen])
        // Another binding of the patient, not frozen, still pays.
        let two = try SettlementRules.preSettle(
            Settle.order(.yuan(100)),
            facts: Settle.facts(bindings: [
                Self.frozen(Settle.binding("b1", current: .yuan(1000))),
                Settle.binding("b2", authorizer: Settle.otherAuthorizer, current: .yuan(500)),
            ]))
        #expect(two.family.map(\.amount) == [.zero, .yuan(100)] && two.family.map(\.note) == [.frozen, nil])
    }

    @Test("R-CTL-1 only the authorizer freezes or lifts, an open binding only; freezing again is no error")
    func whoMayFreeze() throws {
        let binding = Binding(
            id: "b1", authorizer: authorizerID, member: childID, memberName: "王小明", relationship: .child, region: .hohhot,
            startDate: today, status: .active)
        let frozen = try BindingRules.apply(.freeze(by: authorizerID, frozen: true), to: binding, id: "b1")
        #expect(frozen.isFrozen)
        #expect(try BindingRules.apply(.freeze(by: authorizerID, frozen: true), to: frozen, id: "b1").isFrozen)
        #expect(try !BindingRules.apply(.freeze(by: authorizerID, frozen: false), to: frozen, id: "b1").isFrozen)
        #expect(failure { try BindingRules.apply(.freeze(by: childID, frozen: false), to: frozen, id: "b1") }?.reason == .notAuthorizer)
        #expect(failure { try BindingRules.apply(.freeze(by: childID, frozen: true), to: binding, id: "b1") }?.reason == .notAuthorizer)
        var revoked = binding
        revoked.status = .revoked
        #expect(
            failure { try BindingRules.apply(.freeze(by: authorizerID, frozen: true), to: revoked, id: "b1") }?.reason == .bindingRevoked)
        #expect(BindingRules.Change.freeze(by: authorizerID, frozen: true).eventKind(frozen) == .familyUseFrozen)
        #expect(BindingRules.Change.freeze(by: authorizerID, frozen: false).eventKind(binding) == .familyUseUnfrozen)
    }

    @Test("R-CTL-1 the whole account: every open binding the actor authorizes, each change with its event; the rest as they are")
    func freezeAll() {
        let actor = ChangeActor(certificateIdentity: "gw", endUser: authorizerID, requestID: "r1")
        func binding(_ id: String, authorizer: ResidentID = authorizerID, status: BindingStatus = .active, frozen: Bool = false) -> Binding
        {
            var binding = Binding(
                id: id, authorizer: authorizer, member: childID, memberName: "王小明", relationship: .child, region: .hohhot,
                startDate: today, status: status)
            binding.isFrozen = frozen
            return binding
        }
        let (bindings, writes) = BindingRules.freezeAll(
            [binding("a"), binding("b", frozen: true), binding("c", status: .revoked), binding("d", authorizer: Settle.otherAuthorizer)],
            actor: authorizerID, frozen: true, by: actor, now: 9)
        #expect(bindings.map(\.id) == ["a", "b"] && bindings.allSatisfy(\.isFrozen))
        let events = WriteSet(writes, now: 9).events
        #expect(events.map(\.bindingID) == ["a"] && events.map(\.kind) == [.familyUseFrozen], "only what changed")
        #expect(WriteSet(writes, now: 9).recordsEveryEvent)
    }

    @Test("R-CTL-1 a premium payment through a frozen binding is refused FAMILY_USE_FROZEN; lifted, it pays")
    func frozenPayment() throws {
        var binding = activeBinding(region: ShippedPolicies.ulanqab.region)
        binding.isFrozen = true
        let facts = premiumFacts(policy: ShippedPolicies.ulanqab, binding: binding, current: .yuan(800))
        let error = try #require(failure { try PremiumRules.pay(years: [2025], expectedTotal: .yuan(405), external: nil, facts: facts) })
        #expect(error.reason == .familyUseFrozen && error.category == .failedPrecondition && error.details["binding_id"] == binding.id)
        binding.isFrozen = false
        let lifted = premiumFacts(policy: ShippedPolicies.ulanqab, binding: binding, current: .yuan(800))
        #expect(try PremiumRules.pay(years: [2025], expectedTotal: .yuan(405), external: nil, facts: lifted).quote.total == .yuan(405))
    }
}

/// R-CTL-2: limits per settlement and per day beside the annual limit.
@Suite("R-CTL-2 limits per settlement and per day")
struct UseLimitTests {
    static func limited(
        _ entry: FamilyBinding, perSettlement: Money? = nil, perDay: Money? = nil, usedToday: Money = .zero
    ) -> FamilyBinding {
        var entry = entry
        entry.binding.settlementLimit = perSettlement
        entry.binding.dailyLimit = perDay
        entry.usedToday = usedToday
        return entry
    }

    @Test(
        "R-CTL-2 the family part is the least of what the annual, per-settlement and daily limits leave; a limit used up is LIMIT_REACHED",
        arguments: [
            // (annual limit, used this year, per settlement, per day, used today, asks) → family part
            (nil, 0, 5000, nil, 0, 8000, 5000),
            (nil, 0, nil, 10000, 7000, 8000, 3000),
            (nil, 0, nil, 10000, 10000, 8000, 0),
            (10000, 8000, 5000, 10000, 0, 8000, 2000),
            (nil, 0, 5000, 4000, 1000, 8000, 3000),
            (nil, 0, 0, nil, 0, 8000, 0),
            (nil, 0, nil, nil, 0, 8000, 8000),
        ] as [(Int64?, Int64, Int64?, Int64?, Int64, Int64, Int64)])
    func leastLimit(
        annual: Int64?, usedYear: Int64, perSettlement: Int64?, perDay: Int64?, usedToday: Int64, asks: Int64, family: Int64
    )
        throws
    {
        let entry = Self.limited(
            Settle.binding("b1", current: .yuan(1000), limit: annual.map(Money.init(fen:)), used: Money(fen: usedYear)),
            perSettlement: perSettlement.map(Money.init(fen:)), perDay: perDay.map(Money.init(fen:)), usedToday: Money(fen: usedToday))
        let split = try SettlementRules.preSettle(Settle.order(Money(fen: asks)), facts: Settle.facts(bindings: [entry]))
        #expect(split.acctMulaidPay == Money(fen: family))
        #expect(split.cashPay == Money(fen: asks - family))
        if family == 0 { #expect(split.familyZeroNote == .limitReached) }
    }

    @Test("R-CTL-2 only the authorizer sets the limits; above the region's maximum is refused; unset is the region's default")
    func setting() throws {
        let binding = Binding(
            id: "b1", authorizer: authorizerID, member: childID, memberName: "王小明", relationship: .child, region: .hohhot,
            startDate: today, status: .active)
        let terms = RegionPolicy.SettlementTerms(
            reversalDays: 30, medicalLimitDefault: nil, medicalLimitMax: nil, settlementLimitDefault: .yuan(300),
            settlementLimitMax: .yuan(1000), dailyLimitDefault: nil, dailyLimitMax: .yuan(2000))
        let set = try BindingRules.setUseLimits(binding, actor: authorizerID, perSettlement: .yuan(200), perDay: .yuan(500), terms: terms)
        #expect(set.settlementLimit == .yuan(200) && set.dailyLimit == .yuan(500))
        let reset = try BindingRules.setUseLimits(set, actor: authorizerID, perSettlement: nil, perDay: nil, terms: terms)
        #expect(reset.settlementLimit == .yuan(300) && reset.dailyLimit == nil)
        let above = failure {
            try BindingRules.setUseLimits(binding, actor: authorizerID, perSettlement: nil, perDay: Money(fen: 200_001), terms: terms)
        }
        #expect(
            above?.reason == .useLimitAboveMaximum && above?.details["field"] == "daily_limit_fen"
                && above?.details["maximum_fen"] == "200000")
        #expect(
            failure { try BindingRules.setUseLimits(binding, actor: childID, perSettlement: nil, perDay: nil, terms: terms) }?.reason
                == .notAuthorizer)
        #expect(
            failure {
                try BindingRules.setUseLimits(binding, actor: authorizerID, perSettlement: Money(fen: -1), perDay: nil, terms: terms)
            }?
            .reason == .amountOutOfRange)
        #expect(
            BindingRules.Change.setUseLimits(by: authorizerID, perSettlement: nil, perDay: nil, policies: try PolicyBook([])).eventKind(set)
                == .limitChanged)
    }
}
