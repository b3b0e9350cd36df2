import Foundation
import GongjiCore
import Testing

extension World {
    static let hospital = Institution(
        code: try! InstitutionCode.parse("H15010000001"), name: "内蒙古医科大学附属医院", kind: .hospital,
        region: .hohhot, validFrom: CivilDate(year: 2024, month: 1, day: 1)!, validTo: nil)

    func settleOrder(_ patient: ResidentID, _ amount: Money, id: String, holder: ResidentID? = nil) -> SettlementOrder {
        SettlementOrder(
            institutionCode: World.hospital.code.value, settlementID: id, patientIDNumber: patient.value,
            credential: Credential(kind: .idCard, holderIDNumber: (holder ?? patient).value), amount: amount, today: World.today)
    }

    func settle(_ patient: ResidentID, _ amount: Money, id: String, content: String = "") async throws -> SettlementRecord {
        try await store.settle(
            settleOrder(patient, amount, id: id), scope: .all,
            key: IdempotencyKey(
                scope: "Settle:H15010000001", requestID: id, fingerprint: Data((content.isEmpty ? "\(amount.fen)" : content).utf8),
                kind: .settlement),
            policies: policies, today: today, now: now
        ).record
    }
}

/// The settlement part of the store contract (UseCases.swift: settle, reverseSettlement).
@Suite("store contract: settlements")
struct StoreSettlementsTests {
    @Test("institutions are upserted and read; an import carries them too", arguments: Backend.all)
    func institutions(backend: Backend) async throws {
        let world = try await World(backend)
        let first = try await world.store.upsertInstitution(World.hospital, key: world.key("i1"), now: world.now)
        #expect(first.created && first.institution == World.hospital)
        var renamed = World.hospital
        renamed.name = "附属医院"
        #expect(try await !world.store.upsertInstitution(renamed, key: nil, now: world.now).created)
        #expect(try await world.store.institution(World.hospital.code)?.name == "附属医院")
        let pharmacy = Institution(
            code: try InstitutionCode.parse("P15010000002"), name: "大药房", kind: .pharmacy, region: .hohhot,
            validFrom: world.today, validTo: nil)
        let summary = try await world.store.importRows([.institution(pharmacy)], today: world.today, now: world.now)
        #expect(summary.institutionsUpserted == 1)
        #expect(try await world.store.institution(pharmacy.code) == pharmacy)
    }

    @Test(
        "a settlement moves money once: balances, ledger, account uses; a retry returns it; the id with other content is refused",
        arguments: Backend.all)
    func settle(backend: Backend) async throws {
        let world = try await World(backend)
        _ = try await world.store.upsertInstitution(World.hospital, key: nil, now: world.now)
        let authorizer = try await world.employee(World.id(1), balance: .yuan(1000))
        let child = try await world.resident(World.id(2, born: "2010-06-01"), name: "王小明")
        _ = try await world.bind(authorizer, child, name: "王小明", id: "b1")
        let split = try await world.store.preSettle(
            world.settleOrder(child, .yuan(100), id: ""), scope: .all, policies: world.policies,
            today: world.today)
        #expect(split.acctMulaidPay == .yuan(100))
        #expect(try await world.store.person(authorizer)?.account?.total == .yuan(1000), "a pre-settlement moves nothing")
        let record = try await world.settle(child, .yuan(100), id: "S1")
        #expect(record.status == .settled && record.split.acctMulaidPay == .yuan(100) && record.patientName == "王小明")
        #expect(try await world.store.settle(child, .yuan(100), id: "S1", world: world) == record, "a retry returns the original")
        let retry = try await world.store.settle(
            world.settleOrder(child, .yuan(100), id: "S1"), scope: .all,
            key: IdempotencyKey(scope: "Settle:H15010000001", requestID: "S1", fingerprint: Data("10000".utf8), kind: .settlement),
            policies: world.policies, today: world.today, now: world.now)
        #expect(retry.isReplay && retry.record == record, "the retry says it is one")
        #expect(await refusal { try await world.settle(child, .yuan(90), id: "S1", content: "other") } == "SETTLEMENT_ID_REUSED")
        #expect(try await world.store.person(authorizer)?.account?.total == .yuan(900))
        #expect(try await world.store.ledgerBalance(of: LedgerAccount.institution(World.hospital.code)) == .yuan(100))
        #expect(try await world.store.ledgerSum() == .zero)
        #expect(try await world.store.settlement(institution: World.hospital.code, settlementID: "S1") == record)
        let uses = try await world.store.accountUses(of: authorizer, as: .authorizer, before: nil, limit: 10)
        #expect(uses.map(\.kind) == [.settlement] && uses[0].member == child && uses[0].institution?.name == World.hospital.name)
        #expect(try await world.store.accountUses(of: child, as: .member, before: nil, limit: 10).map(\.amount) == [.yuan(100)])
    }

    @Test("R-SETL-5 a reversal twice moves money once; R-SETL-7 the day's settlements and totals", arguments: Backend.all)
    func reverse(backend: Backend) async throws {
        let world = try await World(backend)
        _ = try await world.store.upsertInstitution(World.hospital, key: nil, now: world.now)
        let authorizer = try await world.employee(World.id(1), balance: .yuan(1000))
        let child = try await world.resident(World.id(2, born: "2010-06-01"), name: "王小明")
        _ = try await world.bind(authorizer, child, name: "王小明", id: "b1")
        _ = try await world.settle(child, .yuan(100), id: "S1")
        _ = try await world.settle(child, .yuan(40), id: "S2")
        let reversed = try await world.store.reverseSettlement(
            institution: World.hospital.code, settlementID: "S1", policies: world.policies,
            today: world.today, now: world.now + 60)
        let again = try await world.store.reverseSettlement(
            institution: World.hospital.code, settlementID: "S1", policies: world.policies,
            today: world.today, now: world.now + 120)
        #expect(reversed.status == .reversed && again == reversed)
        #expect(try await world.store.person(authorizer)?.account?.total == .yuan(960))
        #expect(try await world.store.ledgerSum() == .zero)
        #expect(
            await refusal {
                try await world.store.reverseSettlement(
                    institution: World.hospital.code, settlementID: "nope",
                    policies: world.policies, today: world.today, now: world.now)
            }
                == "SETTLEMENT_NOT_FOUND")
        let (settled, reversals) = try await world.store.settlements(of: World.hospital.code, on: world.today)
        #expect(settled.map(\.settlementID) == ["S1", "S2"] && reversals.map(\.settlementID) == ["S1"])
        let totals = try await world.store.settlementTotals(region: .hohhot, on: world.today)
        #expect(
            totals.settledCount == 2 && totals.settledAcctMulaidPay == .yuan(140) && totals.reversedCount == 1
                && totals.reversedAcctMulaidPay == .yuan(100))
        let uses = try await world.store.accountUses(of: authorizer, as: .authorizer, before: nil, limit: 10)
        #expect(uses.map(\.kind) == [.reversal, .settlement, .settlement])
    }

    @Test("R-SETL-4 concurrent settlements and premium payments on one account never overspend it", arguments: Backend.all)
    func concurrent(backend: Backend) async throws {
        let world = try await World(backend)
        _ = try await world.store.upsertInstitution(World.hospital, key: nil, now: world.now)
        let authorizer = try await world.employee(World.id(1), balance: .yuan(1000))
        var children: [ResidentID] = []
        for index in 0..<5 {
            let child = try await world.resident(World.id(10 + index, born: "2010-06-01"), name: "孩子\(index)")
            _ = try await world.bind(authorizer, child, name: "孩子\(index)", id: "b\(index)")
            children.append(child)
        }
        let patients = children
        let results = await withTaskGroup(of: Money.self) { group in
            for index in 0..<30 {
                let child = patients[index % patients.count]
                group.addTask {
                    if index % 6 == 0 {
                        let paid = try? await world.store.pay(
                            world.order("b\(index % patients.count)", total: .yuan(405)), endUser: authorizer,
                            paymentID: "p\(index)", key: nil, policies: world.policies, today: world.today,
                            now: world.now
                        ).record
                        return paid?.accountPart ?? .zero
                    }
                    let settled = try? await world.settle(child, .yuan(90), id: "S\(index)")
                    return settled?.split.acctMulaidPay ?? .zero
                }
            }
            return await group.reduce(into: [Money]()) { $0.append($1) }
        }
        let spent = Money.sum(results)!
        let left = try #require(try await world.store.person(authorizer)?.account)
        #expect(left.currentYear >= .zero && left.carryOver >= .zero)
        #expect(spent.adding(left.total) == .yuan(1000), "the sum debited equals the balance spent")
        #expect(try await world.store.ledgerSum() == .zero)
    }
}

extension FamilyAccountStore {
    /// Settles through `world` (a retry of `World.settle` with the same content).
    func settle(_ patient: ResidentID, _ amount: Money, id: String, world: World) async throws -> SettlementRecord {
        try await world.settle(patient, amount, id: id)
    }
}
