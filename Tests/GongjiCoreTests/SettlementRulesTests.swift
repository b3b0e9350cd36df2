import Foundation
import Testing

@testable import GongjiCore

/// Fixtures of settlement decisions: a Hohhot hospital, a patient, bindings as the store gathers them.
enum Settle {
    static let hospital = Institution(
        code: try! InstitutionCode.parse("H15010000001"), name: "内蒙古医科大学附属医院", kind: .hospital,
        region: .hohhot, validFrom: CivilDate(year: 2024, month: 1, day: 1)!, validTo: nil)
    static let pharmacy = Institution(
        code: try! InstitutionCode.parse("P34050000002"), name: "马鞍山大药房", kind: .pharmacy,
        region: .maanshan, validFrom: CivilDate(year: 2024, month: 1, day: 1)!,
        validTo: CivilDate(year: 2024, month: 12, day: 31)!)
    static let patient = childID
    static let otherAuthorizer = rid("150102", born: "19550101", sequence: 901)

    static func order(
        _ amount: Money, institution: Institution = hospital, patient: ResidentID = patient, holder: ResidentID? = nil,
        id: String = "S-1", kind: Credential.Kind? = .electronicVoucher
    ) -> SettlementOrder {
        SettlementOrder(
            institutionCode: institution.code.value, settlementID: id, patientIDNumber: patient.value,
            credential: Credential(kind: kind, holderIDNumber: (holder ?? patient).value), amount: amount, today: today)
    }

    static func record(_ person: Person, own: PersonalAccount? = nil) -> PersonRecord {
        PersonRecord(person: person, paidYears: [], account: own)
    }

    static func binding(
        _ id: String, authorizer: ResidentID = authorizerID, current: Money = .zero, carryOver: Money = .zero,
        policy: RegionPolicy = ShippedPolicies.hohhot, status: BindingStatus = .active, limit: Money? = nil,
        used: Money = .zero, start: CivilDate = CivilDate(year: 2024, month: 1, day: 1)!
    ) -> FamilyBinding {
        var binding = Binding(
            id: id, authorizer: authorizer, member: patient, memberName: "王小明", relationship: .child,
            region: policy.region, startDate: start, status: status)
        binding.medicalLimit = limit
        return FamilyBinding(
            binding: binding,
            authorizerAccount: PersonalAccount(owner: authorizer, year: 2024, currentYear: current, carryOver: carryOver),
            policy: policy, usedThisYear: used)
    }

    static func facts(
        patient person: PersonRecord = record(resident(patient, name: "王小明")), bindings: [FamilyBinding] = [],
        institution: Institution? = hospital, scope: InstitutionScope = .all, on date: CivilDate = today
    ) -> SettlementFacts {
        SettlementFacts(
            scope: scope, institution: institution, patient: person, patientPolicy: ShippedPolicies.hohhot,
            bindings: bindings, today: date)
    }

    /// A settled record of `plan`, as the store would keep it.
    static func settled(_ plan: SettlementPlan, on day: CivilDate = today) -> SettlementRecord {
        SettlementRecord(
            settlementID: plan.settlementID, institution: plan.institution, patient: plan.patient.id,
            patientName: plan.patient.name, split: plan.split, status: .settled,
            settledAt: day.unixSecondsAtNoonInChina, reversedAt: nil, seq: 1)
    }
}

extension CivilDate {
    /// Noon of this day in China, Unix seconds.
    var unixSecondsAtNoonInChina: Int64 {
        Int64(CivilDate(year: 1970, month: 1, day: 1)!.days(until: self)) * 86400 + 4 * 3600
    }
}

@Suite("R-SETL settlement at designated institutions")
struct SettlementRulesTests {
    @Test(
        "R-SETL-3 worked example: an employee member with 30.00 of his own, authorizer 1,000.00, asks 100.00 → 30.00 own, 70.00 family, no cash"
    )
    func ownAccountFirst() throws {
        let patient = Settle.record(
            employee(Settle.patient, name: "王小明"), own: PersonalAccount(owner: Settle.patient, year: 2024, currentYear: .yuan(30)))
        let split = try SettlementRules.preSettle(
            Settle.order(.yuan(100)),
            facts: Settle.facts(patient: patient, bindings: [Settle.binding("b1", current: .yuan(1000))]))
        #expect(split.acctPay == .yuan(30) && split.acctMulaidPay == .yuan(70) && split.cashPay == .zero)
        #expect(split.postings.map(\.owner) == [Settle.patient, authorizerID])
        #expect(split.familyZeroNote == nil && split.family.map(\.amount) == [.yuan(70)])
    }

    @Test("R-SETL-3 worked example: a resident bound by two authorizers (200.00 older, 500.00) asks 300.00 → 200.00 then 100.00")
    func bindingsOldestFirst() throws {
        let split = try SettlementRules.preSettle(
            Settle.order(.yuan(300)),
            facts: Settle.facts(bindings: [
                Settle.binding("older", current: .yuan(200)),
                Settle.binding("newer", authorizer: Settle.otherAuthorizer, current: .yuan(500)),
            ]))
        #expect(split.family.map(\.amount) == [.yuan(200), .yuan(100)])
        #expect(split.acctPay == .zero && split.acctMulaidPay == .yuan(300) && split.cashPay == .zero)
    }

    @Test("R-SETL-3 worked example: Ma'anshan carry-over 50.00 and current 900.00, asks 120.00 → 50.00 family, 70.00 cash")
    func regionParts() throws {
        let split = try SettlementRules.preSettle(
            Settle.order(.yuan(120)),
            facts: Settle.facts(
                patient: Settle.record(resident(Settle.patient, name: "王小明", region: .maanshan)),
                bindings: [
                    Settle.binding("m", current: .yuan(900), carryOver: .yuan(50), policy: ShippedPolicies.maanshanPublished)
                ]))
        #expect(split.acctMulaidPay == .yuan(50) && split.cashPay == .yuan(70))
        #expect(split.postings.map(\.part) == [.carryOver])
    }

    @Test("R-SETL-8 worked example: limit 100.00 with 80.00 used, asks 50.00 → 20.00 family, 30.00 cash; exactly used → LIMIT_REACHED")
    func annualLimit() throws {
        let partly = try SettlementRules.preSettle(
            Settle.order(.yuan(50)),
            facts: Settle.facts(bindings: [
                Settle.binding("b", current: .yuan(1000), limit: .yuan(100), used: .yuan(80))
            ]))
        #expect(partly.acctMulaidPay == .yuan(20) && partly.cashPay == .yuan(30))
        let used = try SettlementRules.preSettle(
            Settle.order(.yuan(50)),
            facts: Settle.facts(bindings: [
                Settle.binding("b", current: .yuan(1000), limit: .yuan(100), used: .yuan(100))
            ]))
        #expect(used.acctMulaidPay == .zero && used.cashPay == .yuan(50) && used.familyZeroNote == .limitReached)
        let premiumsOnly = try SettlementRules.preSettle(
            Settle.order(.yuan(50)),
            facts: Settle.facts(bindings: [
                Settle.binding("b", current: .yuan(1000), limit: .zero)
            ]))
        #expect(premiumsOnly.familyZeroNote == .limitReached, "0 = premiums only")
    }

    @Test("R-SETL-3 a balance exactly equal to the amount pays it all, and leaves the account at zero")
    func exactBalance() throws {
        let plan = try SettlementRules.settle(
            Settle.order(.yuan(405)), facts: Settle.facts(bindings: [Settle.binding("b", current: .yuan(405))]))
        #expect(plan.split.acctMulaidPay == .yuan(405) && plan.split.cashPay == .zero)
        #expect(plan.accounts == [PersonalAccount(owner: authorizerID, year: 2024)])
    }

    @Test("R-SETL-2 the authorizer's card presented for the child is refused (冒用); a credential without a type is invalid")
    func ownCredential() {
        let facts = Settle.facts(bindings: [Settle.binding("b", current: .yuan(1000))])
        #expect(
            reason { try SettlementRules.settle(Settle.order(.yuan(100), holder: authorizerID), facts: facts) }
                == "CREDENTIAL_NOT_PATIENTS_OWN")
        #expect(reason { try SettlementRules.settle(Settle.order(.yuan(100), kind: nil), facts: facts) } == "INVALID_FIELD")
    }

    @Test("R-SETL-1 only loaded, valid institutions the caller acts for; codes are H or P and 11 digits")
    func institutions() {
        let facts = Settle.facts(bindings: [Settle.binding("b", current: .yuan(1000))])
        #expect(
            reason { try SettlementRules.settle(Settle.order(.yuan(1)), facts: Settle.facts(institution: nil)) } == "INSTITUTION_NOT_FOUND")
        #expect(
            reason { try SettlementRules.settle(Settle.order(.yuan(1)), facts: Settle.facts(scope: .only(["H15010000009"]))) }
                == "INSTITUTION_NOT_ALLOWED")
        #expect(
            reason {
                try SettlementRules.settle(
                    Settle.order(.yuan(1), institution: Settle.pharmacy),
                    facts: Settle.facts(institution: Settle.pharmacy, on: CivilDate(year: 2025, month: 1, day: 1)!))
            }
                == "INSTITUTION_NOT_VALID")
        let bad = SettlementOrder(
            institutionCode: "X15010000001", settlementID: "S-1", patientIDNumber: Settle.patient.value,
            credential: Credential(kind: .idCard, holderIDNumber: Settle.patient.value), amount: .yuan(1), today: today)
        #expect(reason { try SettlementRules.settle(bad, facts: facts) } == "INVALID_FIELD")
        #expect(
            reason {
                try Institution.validated(
                    code: "H15010000001", name: "x", kind: .pharmacy, regionCode: "150100",
                    validFrom: "2024-01-01", validTo: "")
            } == "INVALID_FIELD")
        #expect(
            reason {
                try Institution.validated(
                    code: "P15010000001", name: "x", kind: .pharmacy, regionCode: "150100",
                    validFrom: "2024-02-01", validTo: "2024-01-01")
            } == "INVALID_FIELD")
        #expect(reason { try SettlementRules.settle(Settle.order(.zero), facts: facts) } == "AMOUNT_OUT_OF_RANGE")
        #expect(reason { try SettlementRules.settle(Settle.order(.yuan(1), id: ""), facts: facts) } == "INVALID_FIELD")
    }

    @Test("R-SETL-6 a revoked binding, a suspended region or a binding not yet started leaves the family part at zero and says why")
    func familyZero() throws {
        var suspended = ShippedPolicies.hohhot
        suspended.availability.suspended = true
        for (binding, note) in [
            (Settle.binding("b", current: .yuan(500), status: .revoked), FamilyFundNote.bindingNotActive),
            (Settle.binding("b", current: .yuan(500), policy: suspended), .regionSuspended),
            (Settle.binding("b", current: .yuan(500), start: today.adding(days: 1)), .bindingNotStarted),
            (Settle.binding("b"), .balanceEmpty),
        ] {
            let split = try SettlementRules.preSettle(Settle.order(.yuan(100)), facts: Settle.facts(bindings: [binding]))
            #expect(split.acctMulaidPay == .zero && split.cashPay == .yuan(100) && split.familyZeroNote == note, "\(note)")
        }
        let none = try SettlementRules.preSettle(Settle.order(.yuan(100)), facts: Settle.facts())
        #expect(none.familyZeroNote == .noBinding && none.family.isEmpty)
    }

    @Test(
        "R-SETL-4 a settlement moves money in one balanced movement and never below zero",
        arguments: [Money.yuan(1), .yuan(199), .yuan(200), .yuan(701), .yuan(5000)])
    func balanced(amount: Money) throws {
        let plan = try SettlementRules.settle(
            Settle.order(amount),
            facts: Settle.facts(bindings: [
                Settle.binding("a", current: .yuan(150), carryOver: .yuan(50)),
                Settle.binding("b", authorizer: Settle.otherAuthorizer, current: .yuan(500)),
            ]))
        #expect(Money.sum(plan.movement.entries.map(\.amount)) == .zero)
        #expect(plan.accounts.allSatisfy { $0.currentYear >= .zero && $0.carryOver >= .zero })
        #expect(plan.split.acctPay.adding(plan.split.acctMulaidPay)!.adding(plan.split.cashPay) == amount)
        #expect(plan.split.acctMulaidPay == Money.min(amount, .yuan(700)))
    }

    @Test("R-SETL-5 a reversal credits every posting back once, to carry-over once the year has rolled over; not after the period")
    func reversal() throws {
        let plan = try SettlementRules.settle(
            Settle.order(.yuan(300)),
            facts: Settle.facts(bindings: [
                Settle.binding("b", current: .yuan(200), carryOver: .yuan(200))
            ]))
        let record = Settle.settled(plan)
        let after = plan.accounts[0]
        let terms = RegionPolicy.SettlementTerms(reversalDays: 30, medicalLimitDefault: nil, medicalLimitMax: nil)
        let reversal = try #require(try SettlementRules.reverse(record, accounts: [after], terms: terms, today: today.adding(days: 30)))
        #expect(reversal.accounts == [PersonalAccount(owner: authorizerID, year: 2024, currentYear: .yuan(200), carryOver: .yuan(200))])
        #expect(Money.sum(reversal.movement.entries.map(\.amount)) == .zero)
        #expect(
            reason { try SettlementRules.reverse(record, accounts: [after], terms: terms, today: today.adding(days: 31)) }
                == "REVERSAL_PERIOD_PASSED")
        var reversed = record
        reversed.status = .reversed
        #expect(
            try SettlementRules.reverse(reversed, accounts: [after], terms: terms, today: today) == nil, "a second reversal moves nothing")
        // The account rolled over into 2025 since: the current-year debit comes back as carry-over.
        let rolled = try after.rolledOver(into: 2025)
        let later = try #require(try SettlementRules.reverse(record, accounts: [rolled], terms: terms, today: today.adding(days: 20)))
        #expect(later.accounts[0].currentYear == .zero && later.accounts[0].carryOver == .yuan(400))
        #expect(later.credits.allSatisfy { $0.part == .carryOver })
    }

    @Test("R-SETL-7 reconciliation lists ids on one side only or different, and totals the day")
    func reconciliation() throws {
        let plan = try SettlementRules.settle(
            Settle.order(.yuan(100), id: "A"), facts: Settle.facts(bindings: [Settle.binding("b", current: .yuan(1000))]))
        let a = Settle.settled(plan)
        var b = Settle.settled(
            try SettlementRules.settle(
                Settle.order(.yuan(50), id: "B"), facts: Settle.facts(bindings: [Settle.binding("b", current: .yuan(1000))])))
        b.status = .reversed
        let claim = ReconciliationClaim(
            count: 3, acctPaySum: .zero, acctMulaidPaySum: .yuan(160),
            entries: [
                ReconciliationEntry(settlementID: "A", acctPay: .zero, acctMulaidPay: .yuan(100), reversed: false),
                ReconciliationEntry(settlementID: "B", acctPay: .zero, acctMulaidPay: .yuan(50), reversed: false),
                ReconciliationEntry(settlementID: "C", acctPay: .zero, acctMulaidPay: .yuan(10), reversed: false),
            ])
        let report = SettlementRules.reconcile(claim, settled: [a, b], reversedThatDay: [b])
        #expect(report.totals.settledCount == 2 && report.totals.settledAcctMulaidPay == .yuan(150) && report.totals.reversedCount == 1)
        #expect(!report.headerMatches)
        #expect(report.differences.map(\.settlementID) == ["B", "C"])
        #expect(report.differences.map(\.kind) == [.different, .onlyInstitution])
        let matching = ReconciliationClaim(count: 1, acctPaySum: .zero, acctMulaidPaySum: .yuan(100), entries: [claim.entries[0]])
        let clean = SettlementRules.reconcile(matching, settled: [a], reversedThatDay: [])
        #expect(clean.headerMatches && clean.differences.isEmpty)
    }

    @Test("R-SETL-8 only the authorizer sets a limit; a region may cap it and give a default")
    func setLimit() throws {
        let binding = activeBinding()
        let terms = RegionPolicy.SettlementTerms(reversalDays: 30, medicalLimitDefault: .yuan(500), medicalLimitMax: .yuan(2000))
        #expect(try BindingRules.setMedicalLimit(binding, actor: authorizerID, limit: .zero, terms: terms).medicalLimit == .zero)
        #expect(
            try BindingRules.setMedicalLimit(binding, actor: authorizerID, limit: .yuan(2000), terms: terms).medicalLimit == .yuan(2000))
        #expect(try BindingRules.setMedicalLimit(binding, actor: authorizerID, limit: nil, terms: terms).medicalLimit == .yuan(500))
        #expect(
            reason { try BindingRules.setMedicalLimit(binding, actor: authorizerID, limit: Money(fen: 200_001), terms: terms) }
                == "MEDICAL_LIMIT_ABOVE_MAXIMUM")
        #expect(reason { try BindingRules.setMedicalLimit(binding, actor: childID, limit: .zero, terms: terms) } == "NOT_AUTHORIZER")
        #expect(
            reason { try BindingRules.setMedicalLimit(activeBinding(status: .revoked), actor: authorizerID, limit: .zero, terms: terms) }
                == "BINDING_REVOKED")
    }

    @Test("R-SETL-9 every settlement and reversal is a ledger movement summing to zero, naming the institution")
    func ledger() throws {
        let plan = try SettlementRules.settle(
            Settle.order(.yuan(100)), facts: Settle.facts(bindings: [Settle.binding("b", current: .yuan(1000))]))
        #expect(plan.movement.entries.contains { $0.account == "institution:H15010000001" && $0.amount == .yuan(100) })
        #expect(plan.movement.name == "settlement:H15010000001:S-1")
    }
}
