import Foundation
import GongjiCore
import Testing

/// The registry part of the store contract (UseCases.swift: registry, credits, import, rollover, availability).
@Suite("store contract: registry, credits, rollover, availability")
struct StoreRegistryTests {
    @Test(
        "upsert creates, then replaces; an employee gets an empty account in the current year; a retry returns the first answer",
        arguments: Backend.all)
    func upsert(backend: Backend) async throws {
        let world = try await World(backend)
        let id = World.id(1)
        let person = Person(id: id, name: "王建国", insuranceType: .employee, status: .normal, region: .hohhot)
        let first = try await world.store.upsertPerson(person, paidYears: [2023], key: world.key("u1"), today: world.today, now: world.now)
        #expect(first.created && first.record.paidYears == [2023])
        #expect(first.record.account == PersonalAccount(owner: id, year: 2024))
        let retry = try await world.store.upsertPerson(person, paidYears: [2023], key: world.key("u1"), today: world.today, now: world.now)
        #expect(retry.created, "a retry returns the stored answer")
        var renamed = person
        renamed.name = "王建华"
        let second = try await world.store.upsertPerson(renamed, paidYears: [], key: world.key("u2"), today: world.today, now: world.now)
        #expect(!second.created && second.record.person.name == "王建华" && second.record.paidYears.isEmpty)
        #expect(
            await refusal {
                try await world.store.upsertPerson(
                    person, paidYears: [], key: world.key("u1", content: "other"),
                    today: world.today, now: world.now)
            } == "REQUEST_ID_REUSED")
        #expect(try await world.store.person(World.id(2)) == nil)
    }

    @Test(
        "credits go to the current-year part once per reference, with a balanced ledger movement; every refusal changes nothing",
        arguments: Backend.all)
    func credits(backend: Backend) async throws {
        let world = try await World(backend)
        let rich = try await world.employee(World.id(1), balance: .zero)
        let other = try await world.employee(World.id(2), balance: .zero)
        let child = try await world.resident(World.id(3, born: "2010-06-01"), name: "王小明")
        let applied = try await world.store.credit(
            rich, amount: .yuan(100), part: .currentYear, reference: "R1", key: world.key("c1"), now: world.now)
        #expect(applied.applied && applied.account.currentYear == .yuan(100))
        let again = try await world.store.credit(rich, amount: .yuan(100), part: .currentYear, reference: "R1", key: nil, now: world.now)
        #expect(!again.applied && again.account.currentYear == .yuan(100), "a reference applies once")
        let retried = try await world.store.credit(
            rich, amount: .yuan(100), part: .currentYear, reference: "R1", key: world.key("c1"), now: world.now)
        #expect(retried.applied, "a retry returns the first answer")
        #expect(
            await refusal {
                try await world.store.credit(other, amount: .yuan(1), part: .currentYear, reference: "R1", key: nil, now: world.now)
            }
                == "CREDIT_REFERENCE_REUSED")
        #expect(
            await refusal {
                try await world.store.credit(child, amount: .yuan(1), part: .currentYear, reference: "R2", key: nil, now: world.now)
            }
                == "NOT_EMPLOYEE_INSURED")
        #expect(
            await refusal {
                try await world.store.credit(World.id(9), amount: .yuan(1), part: .currentYear, reference: "R3", key: nil, now: world.now)
            }
                == "PERSON_NOT_FOUND")
        #expect(
            await refusal {
                try await world.store.credit(rich, amount: Money.max, part: .currentYear, reference: "R4", key: nil, now: world.now)
            }
                == "AMOUNT_OUT_OF_RANGE")
        #expect(try await world.store.person(rich)?.account?.currentYear == .yuan(100))
        #expect(try await world.store.ledgerBalance(of: LedgerAccount.person(rich, .currentYear)) == .yuan(100))
        #expect(try await world.store.ledgerBalance(of: LedgerAccount.platformFunding) == .yuan(-100))
        #expect(try await world.store.ledgerSum() == .zero)
    }

    @Test(
        "R-ACCT-3 a credit adds to the part it names, on every backend, and a fresh account's carry-over is usable before any rollover",
        arguments: Backend.all)
    func creditsNameTheirPart(backend: Backend) async throws {
        let world = try await World(backend)
        let id = try await world.employee(World.id(1), balance: .zero)
        _ = try await world.store.importRows(
            [.credit(id, amount: .yuan(120), part: .carryOver, reference: "CO-1")], today: world.today, now: world.now)
        let credited = try await world.store.credit(id, amount: .yuan(30), part: .currentYear, reference: "CUR-1", key: nil, now: world.now)
        #expect(credited.account.carryOver == .yuan(120) && credited.account.currentYear == .yuan(30))
        #expect(credited.account.year == world.today.year, "no rollover happened")
        #expect(try await world.store.ledgerBalance(of: LedgerAccount.person(id, .carryOver)) == .yuan(120))
        #expect(try await world.store.ledgerBalance(of: LedgerAccount.person(id, .currentYear)) == .yuan(30))
        #expect(try await world.store.ledgerSum() == .zero)
    }

    @Test("an import is all or nothing: a bad credit in the last row leaves no person of the file", arguments: Backend.all)
    func importAllOrNothing(backend: Backend) async throws {
        let world = try await World(backend)
        let a = World.id(1)
        let b = World.id(2, born: "2010-06-01")
        let rows: [RegistryRow] = [
            .person(Person(id: a, name: "甲", insuranceType: .employee, status: .normal, region: .hohhot), paidYears: []),
            .credit(a, amount: .yuan(10), part: .currentYear, reference: "I1"),
            .person(Person(id: b, name: "乙", insuranceType: .resident, status: .normal, region: .hohhot), paidYears: []),
            .credit(b, amount: .yuan(10), part: .currentYear, reference: "I2"),
        ]
        #expect(await refusal { try await world.store.importRows(rows, today: world.today, now: world.now) } == "NOT_EMPLOYEE_INSURED")
        #expect(try await world.store.person(a) == nil)
        let summary = try await world.store.importRows(
            Array(rows.prefix(3)) + [.credit(a, amount: .yuan(10), part: .currentYear, reference: "I1")],
            today: world.today, now: world.now)
        #expect(summary.personsUpserted == 2 && summary.creditsApplied == 1 && summary.creditsSkipped == 1)
    }

    @Test(
        "R-ACCT-2 the rollover moves current-year money to carry-over once per year, in order, with ledger movements",
        arguments: Backend.all)
    func rollover(backend: Backend) async throws {
        let world = try await World(backend)
        let id = try await world.employee(World.id(1), balance: .yuan(300))
        let newYear = CivilDate(year: 2025, month: 1, day: 1)!
        #expect(
            await refusal { try await world.store.rollOver(into: 2025, key: nil, today: world.today, now: world.now) }
                == "ROLLOVER_YEAR_NOT_BEGUN")
        #expect(
            await refusal { try await world.store.rollOver(into: 2026, key: nil, today: newYear, now: world.now) }
                == "ROLLOVER_YEAR_INVALID")
        #expect(
            await refusal { try await world.store.rollOver(into: 1999, key: nil, today: newYear, now: world.now) }
                == "INVALID_FIELD")
        #expect(try await world.store.rollOver(into: 2025, key: world.key("r"), today: newYear, now: world.now) == 1)
        #expect(try await world.store.rollOver(into: 2025, key: world.key("r"), today: newYear, now: world.now) == 1, "a retry")
        #expect(
            await refusal { try await world.store.rollOver(into: 2025, key: nil, today: newYear, now: world.now) }
                == "ROLLOVER_YEAR_INVALID", "once per year")
        let account = try #require(try await world.store.person(id)?.account)
        #expect(account.year == 2025 && account.currentYear == .zero && account.carryOver == .yuan(300))
        #expect(try await world.store.ledgerBalance(of: LedgerAccount.person(id, .carryOver)) == .yuan(300))
        #expect(try await world.store.ledgerSum() == .zero)
    }

    @Test("R-SUSP-1 availability switches are stored per region; a retry changes nothing", arguments: Backend.all)
    func availability(backend: Backend) async throws {
        let world = try await World(backend)
        #expect(try await world.store.availabilityOverrides().isEmpty)
        try await world.store.setAvailability(.hohhot, suspended: true, key: world.key("s1"), now: world.now)
        try await world.store.setAvailability(.maanshan, suspended: false, key: nil, now: world.now)
        try await world.store.setAvailability(.hohhot, suspended: true, key: world.key("s1"), now: world.now)
        #expect(try await world.store.availabilityOverrides() == [.hohhot: true, .maanshan: false])
        try await world.store.setAvailability(.hohhot, suspended: false, key: nil, now: world.now)
        #expect(try await world.store.availabilityOverrides()[.hohhot] == false)
    }
}
