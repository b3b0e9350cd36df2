import Foundation
import Testing

@testable import GongjiCore

/// R-EVT: what the core puts in the journal, and what a follower is told.
@Suite("R-EVT the event journal")
struct EventRulesTests {
    let now: Int64 = 1_728_972_000
    @Test("R-EVT-1 a payment's write-set carries its event: what, how much, which parts, the balance after, member masked")
    func paymentEvent() throws {
        let facts = premiumFacts(policy: ShippedPolicies.hohhot, current: .yuan(1000))
        let quote = try PremiumRules.quote(years: [2025], facts: facts)
        let plan = try PremiumRules.pay(years: [2025], expectedTotal: quote.total, external: nil, facts: facts)
        let writes = plan.writeSet(now: now).writes
        #expect(writes.recordsEveryEvent)
        let event = try #require(writes.events.first)
        #expect(writes.events.count == 1)
        #expect(event.kind == .premiumPaid && event.authorizer == authorizerID && event.member == plan.binding.member)
        #expect(event.amount == quote.accountPart && event.balanceAfter == plan.authorizerAccount.total)
        #expect(event.parts == [.currentYear] && event.reference == plan.paymentID && event.memberNameMasked == "王**")
        #expect(event.position == 0 && event.at == now, "the backend positions it")
    }

    @Test("R-EVT-1 a settlement writes an event per account that paid, with the institution; its reversal one per account credited")
    func settlementEvents() throws {
        let patient = Settle.record(
            employee(Settle.patient, name: "王小明"), own: PersonalAccount(owner: Settle.patient, year: 2024, currentYear: .yuan(30)))
        let facts = Settle.facts(patient: patient, bindings: [Settle.binding("b1", current: .yuan(1000))])
        let plan = try SettlementRules.settle(Settle.order(.yuan(100)), facts: facts)
        let writes = plan.writeSet(today: today, now: now).writes
        #expect(writes.recordsEveryEvent)
        #expect(writes.events.map(\.authorizer) == [Settle.patient, authorizerID])
        #expect(writes.events.map(\.amount) == [.yuan(30), .yuan(70)])
        #expect(
            writes.events.allSatisfy { $0.kind == .settled && $0.institution?.name == Settle.hospital.name && $0.member == Settle.patient })
        #expect(writes.events[1].bindingID == "b1" && writes.events[1].balanceAfter == .yuan(930))
        let record = Settle.settled(plan, on: today)
        let reversal = try #require(
            try SettlementRules.reverse(
                record, accounts: plan.accounts, terms: RegionPolicy.SettlementTerms.defaults, today: today))
        let reversed = reversal.writeSet(of: record, today: today, now: now).writes
        #expect(reversed.recordsEveryEvent && reversed.events.map(\.kind) == [.settlementReversed, .settlementReversed])
        #expect(reversed.events.map(\.amount) == [.yuan(30), .yuan(70)])
    }

    @Test("R-EVT-1 a write-set with a change but without its event is caught")
    func missingEvent() {
        let binding = activeBinding(region: .hohhot)
        let actor = ChangeActor(certificateIdentity: "t", endUser: nil, requestID: nil)
        #expect(!WriteSet([.bindingState(binding), .bindingEvent(binding, actor: actor, reason: nil)], now: now).recordsEveryEvent)
        #expect(
            WriteSet(BindingRules.changeWrites(binding, actor: actor, reason: nil, event: .bindingEnded, now: now), now: now)
                .recordsEveryEvent)
    }

    @Test("R-EVT-2 a person follows the events he or she is a party to, as authorizer or as member")
    func parties() {
        let event = AccountEvent(kind: .settled, at: now, authorizer: authorizerID, member: childID, memberName: "王小明")
        #expect(event.concerns(authorizerID) && event.concerns(childID) && !event.concerns(Settle.otherAuthorizer))
        #expect(event.memberNameMasked == "王**", "the name is masked when the event is made")
    }

    @Test("R-EVT-3 a position the clean-up removed events after is OUT_OF_RANGE naming the oldest kept; a negative one is invalid")
    func positions() {
        #expect(failure { try EventRules.checkPosition(10, removedThrough: 10) } == nil)
        #expect(failure { try EventRules.checkPosition(11, removedThrough: 10) } == nil)
        let gone = failure { try EventRules.checkPosition(9, removedThrough: 10) }
        #expect(gone?.reason == .eventPositionGone && gone?.category == .outOfRange && gone?.details["oldest_position"] == "11")
        #expect(failure { try EventRules.checkPosition(-1, removedThrough: 0) }?.reason == .invalidField)
        let slow = EventRules.tooSlow(resumeAfter: 42, seconds: 10)
        #expect(slow.reason == .followerTooSlow && slow.details["resume_after_position"] == "42")
        #expect(EventRules.stopping(resumeAfter: 7).details["resume_after_position"] == "7")
        #expect(EventRules.followersBusy(max: 64).category == .resourceExhausted)
    }
}
