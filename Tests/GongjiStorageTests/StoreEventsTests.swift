import Foundation
import GongjiCore
import GongjiPostgres
import Logging
import PostgresNIO
import Testing

extension World {
    /// The hospital, and an authorizer holding 1000.00 with two children bound: 王小明 (`b1`) and 王小红 (`b2`).
    func familyAtHospital() async throws -> (authorizer: ResidentID, child: ResidentID, other: ResidentID) {
        _ = try await store.upsertInstitution(World.hospital, key: nil, now: now)
        let authorizer = try await employee(World.id(1), balance: .yuan(1000))
        let child = try await resident(World.id(2, born: "2010-06-01"), name: "王小明")
        let other = try await resident(World.id(3, born: "2012-02-02"), name: "王小红")
        _ = try await bind(authorizer, child, name: "王小明", id: "b1")
        _ = try await bind(authorizer, other, name: "王小红", id: "b2")
        return (authorizer, child, other)
    }
}

/// The event journal part of the store contract (R-EVT-1, R-EVT-3), on every backend.
@Suite("store contract: events")
struct StoreEventsTests {
    @Test(
        "R-EVT-1 each payment, settlement, reversal and binding change writes its event in the same transaction, in one order",
        arguments: Backend.all)
    func journal(backend: Backend) async throws {
        let world = try await World(backend)
        let (authorizer, child, other) = try await world.familyAtHospital()
        _ = try await world.store.pay(
            world.order("b1", total: .yuan(405)), endUser: authorizer, paymentID: "pay-1", key: nil, policies: world.policies,
            today: world.today, now: world.now)
        _ = try await world.settle(child, .yuan(100), id: "s1")
        _ = try await world.store.reverseSettlement(
            institution: World.hospital.code, settlementID: "s1", policies: world.policies, today: world.today, now: world.now)
        _ = try await world.store.changeBinding(id: "b2", .revoke(by: authorizer), key: nil, actor: world.actor, now: world.now)
        // Refused changes write nothing.
        #expect(
            await refusal {
                try await world.store.pay(
                    world.order("b1", total: .yuan(405)), endUser: authorizer, paymentID: "pay-2", key: nil,
                    policies: world.policies, today: world.today, now: world.now
                ).record
            } != nil)

        let events = try await world.store.events(after: 0, of: nil, limit: 100)
        #expect(
            events.map(\.kind) == [.bindingCreated, .bindingCreated, .premiumPaid, .settled, .settlementReversed, .bindingEnded],
            "\(events.map(\.kind))")
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.position < $1.position }, "positions grow")
        let paid = try #require(events.first { $0.kind == .premiumPaid })
        #expect(paid.authorizer == authorizer && paid.member == child && paid.bindingID == "b1" && paid.reference == "pay-1")
        #expect(paid.amount == .yuan(405) && paid.parts == [.currentYear] && paid.balanceAfter == .yuan(595))
        #expect(paid.memberNameMasked == "王**" && paid.at == world.now)
        let settled = try #require(events.first { $0.kind == .settled })
        #expect(settled.amount == .yuan(100) && settled.balanceAfter == .yuan(495) && settled.reference == "s1")
        #expect(settled.institution?.name == World.hospital.name && settled.institution?.kind == .hospital)
        let reversed = try #require(events.first { $0.kind == .settlementReversed })
        #expect(reversed.amount == .yuan(100) && reversed.balanceAfter == .yuan(595))
        // R-EVT-2: a person's events are those he or she is a party to.
        #expect(try await world.store.events(after: 0, of: other, limit: 100).map(\.kind) == [.bindingCreated, .bindingEnded])
        #expect(try await world.store.events(after: 0, of: authorizer, limit: 100) == events)
        // Paging: after a position, at most a limit.
        let page = try await world.store.events(after: events[1].position, of: child, limit: 2)
        #expect(page.map(\.kind) == [.premiumPaid, .settled])
        #expect(try await world.store.eventsRemovedThrough() == 0)
    }

    @Test("R-EVT-3 the clean-up removes the events past their retention and remembers the newest it removed", arguments: Backend.all)
    func retention(backend: Backend) async throws {
        let world = try await World(backend)
        let authorizer = try await world.employee(World.id(1), balance: .yuan(1000))
        let child = try await world.resident(World.id(2, born: "2010-06-01"), name: "王小明")
        _ = try await world.bind(authorizer, child, name: "王小明", id: "b1")
        let later = world.withNow(world.now + 86_400)
        _ = try await later.store.pay(
            later.order("b1", total: .yuan(405)), endUser: authorizer, paymentID: "pay-1", key: nil, policies: later.policies,
            today: later.today, now: later.now)
        let before = try await world.store.events(after: 0, of: nil, limit: 10)
        #expect(before.count == 2)
        // Kept for 12 hours, a day later: the binding's event goes, the payment's stays.
        #expect(try await world.store.removeExpiredEvents(now: later.now + 3600, retentionSeconds: 43_200) == 1)
        #expect(try await world.store.events(after: 0, of: nil, limit: 10) == [before[1]])
        #expect(try await world.store.eventsRemovedThrough() == before[0].position)
        #expect(try await world.store.removeExpiredEvents(now: later.now + 3600, retentionSeconds: 43_200) == 0)
        #expect(try await world.store.eventsRemovedThrough() == before[0].position, "nothing removed, the horizon stays")
    }

    @Test("R-EVT-1 on PostgreSQL positions are commit order: a transaction positioning events waits for one that positioned earlier")
    func commitOrderedPositions() async throws {
        guard Backend.postgresURL != nil else { return }
        let (store, schema) = try await Backend.makePostgres()
        let world = try World(store: store)
        let authorizer = try await world.employee(World.id(1), balance: .yuan(1000))
        let child = try await world.resident(World.id(2, born: "2010-06-01"), name: "王小明")
        _ = try await world.bind(authorizer, child, name: "王小明", id: "b1")
        let start = try await world.store.events(after: 0, of: nil, limit: 10).last?.position ?? 0
        try await Backend.withOtherSession(in: schema) { c, logger in
            // A transaction that positions an event (as every use case does, under the journal's
            // lock) and has yet to commit.
            _ = try await c.query("BEGIN", logger: logger)
            _ = try await c.query("SELECT pg_advisory_xact_lock(\(unescaped: PostgresStore.eventLockArguments))", logger: logger)
            let early = try await c.query(
                """
                INSERT INTO event (kind, at, authorizer, member, member_name_masked, parts)
                VALUES ('binding_created', 1, \(authorizer.value), \(child.value), '王**', '') RETURNING seq
                """, logger: logger
            ).collect().first?.decode(Int64.self)
            // Meanwhile a payment commits through the store on another connection: it must wait.
            let payment = Task {
                try await world.store.pay(
                    world.order("b1", total: .yuan(405)), endUser: authorizer, paymentID: "pay-1", key: nil,
                    policies: world.policies, today: world.today, now: world.now)
            }
            try await Task.sleep(for: .milliseconds(500))
            // A follower reading now sees neither: the later position cannot appear before the earlier one.
            #expect(try await world.store.events(after: start, of: nil, limit: 10).isEmpty)
            _ = try await c.query("COMMIT", logger: logger)
            _ = try await payment.value
            let seen = try await world.store.events(after: start, of: nil, limit: 10)
            #expect(seen.map(\.kind) == [.bindingCreated, .premiumPaid])
            #expect(seen.first?.position == early && seen[0].position < seen[1].position)
        }
    }
}

/// R-CTL-1 in the store contract, on every backend.
@Suite("store contract: freezing family use")
struct StoreFreezeTests {
    @Test(
        "R-CTL-1 a frozen binding pays nothing from family funds and refuses premiums; the whole account freezes every open binding; each change is an event",
        arguments: Backend.all)
    func freeze(backend: Backend) async throws {
        let world = try await World(backend)
        let (authorizer, child, other) = try await world.familyAtHospital()
        let frozen = try await world.store.changeBinding(
            id: "b1", .freeze(by: authorizer, frozen: true), key: nil, actor: world.actor, now: world.now)
        #expect(frozen.binding.isFrozen)
        #expect(try await world.store.binding(id: "b1")?.binding.isFrozen == true, "stored")
        let settled = try await world.settle(child, .yuan(100), id: "s1")
        #expect(settled.split.acctMulaidPay == .zero && settled.split.cashPay == .yuan(100) && settled.split.familyZeroNote == .frozen)
        #expect(
            await refusal {
                try await world.store.pay(
                    world.order("b1", total: .yuan(405)), endUser: authorizer, paymentID: "pay-1", key: nil, policies: world.policies,
                    today: world.today, now: world.now
                ).record
            } == "FAMILY_USE_FROZEN")
        // The member can neither lift nor freeze.
        #expect(
            await refusal {
                try await world.store.changeBinding(
                    id: "b1", .freeze(by: child, frozen: false), key: nil, actor: world.actor, now: world.now)
            } == "NOT_AUTHORIZER")
        // The whole account: b2 freezes too; then both are lifted.
        let all = try await world.store.freezeFamilyUse(
            of: authorizer, frozen: true, key: world.key("f1"), actor: world.actor, now: world.now)
        #expect(Set(all.map(\.id)) == ["b1", "b2"] && all.allSatisfy(\.isFrozen))
        #expect(try await world.settle(other, .yuan(50), id: "s2").split.familyZeroNote == .frozen)
        let lifted = try await world.store.freezeFamilyUse(of: authorizer, frozen: false, key: nil, actor: world.actor, now: world.now)
        #expect(lifted.allSatisfy { !$0.isFrozen })
        #expect(try await world.settle(child, .yuan(100), id: "s3").split.acctMulaidPay == .yuan(100))
        // A retry of the first whole-account freeze answers as it did, changing nothing.
        #expect(
            try await world.store.freezeFamilyUse(of: authorizer, frozen: true, key: world.key("f1"), actor: world.actor, now: world.now)
                .allSatisfy { !$0.isFrozen })
        let kinds = try await world.store.events(after: 0, of: authorizer, limit: 100).map(\.kind)
        #expect(
            kinds == [
                .bindingCreated, .bindingCreated, .familyUseFrozen, .familyUseFrozen, .familyUseUnfrozen, .familyUseUnfrozen, .settled,
            ], "\(kinds)")
    }
}

/// R-CTL-2 in the store contract, on every backend.
@Suite("store contract: limits per settlement and per day")
struct StoreUseLimitTests {
    @Test(
        "R-CTL-2 the limits are stored; a settlement takes at most the per-settlement limit, a day at most the daily limit",
        arguments: Backend.all)
    func limits(backend: Backend) async throws {
        let world = try await World(backend)
        let (authorizer, child, _) = try await world.familyAtHospital()
        let limited = try await world.store.changeBinding(
            id: "b1", .setUseLimits(by: authorizer, perSettlement: .yuan(60), perDay: .yuan(100), policies: world.policies), key: nil,
            actor: world.actor, now: world.now)
        #expect(limited.binding.settlementLimit == .yuan(60) && limited.binding.dailyLimit == .yuan(100))
        #expect(try await world.store.binding(id: "b1")?.binding.dailyLimit == .yuan(100), "stored")
        let first = try await world.settle(child, .yuan(80), id: "s1")
        #expect(first.split.acctMulaidPay == .yuan(60) && first.split.cashPay == .yuan(20), "per settlement")
        let second = try await world.settle(child, .yuan(80), id: "s2")
        #expect(second.split.acctMulaidPay == .yuan(40) && second.split.cashPay == .yuan(40), "what the day leaves")
        let third = try await world.settle(child, .yuan(10), id: "s3")
        #expect(third.split.acctMulaidPay == .zero && third.split.familyZeroNote == .limitReached)
        // A reversal gives the day its room back.
        _ = try await world.store.reverseSettlement(
            institution: World.hospital.code, settlementID: "s2", policies: world.policies, today: world.today, now: world.now)
        #expect(try await world.settle(child, .yuan(10), id: "s4").split.acctMulaidPay == .yuan(10))
        #expect(try await world.store.events(after: 0, of: authorizer, limit: 100).contains { $0.kind == .limitChanged })
    }
}
