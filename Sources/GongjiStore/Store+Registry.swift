import Foundation
import GRDB
import GongjiCore

/// A registered person with the premium years paid elsewhere and, for the employee-insured, the
/// personal account.
public struct PersonRecord: Hashable, Sendable {
    /// The person.
    public var person: Person
    /// Resident premium years paid outside Gongji.
    public var paidYears: [Int]
    /// The personal account, if any.
    public var account: PersonalAccount?
}

/// What an import did.
public struct ImportSummary: Hashable, Sendable {
    /// Persons created or replaced.
    public var personsUpserted = 0
    /// Credits applied.
    public var creditsApplied = 0
    /// Credits skipped because their reference was applied before.
    public var creditsSkipped = 0
}

extension Store {
    /// Creates or replaces a person. Returns whether the person was new.
    public func upsertPerson(_ person: Person, paidYears: [Int], key: IdempotencyKey? = nil,
                             today: CivilDate, now: Int64) async throws -> Bool {
        try await groupCommit.submit { db in
            if let previous = try Self.previousResult(key, in: db) { return previous == "created" }
            let created = try Self.upsert(person, paidYears: paidYears, today: today, now: now, in: db)
            try Self.recordResult(key, result: created ? "created" : "replaced", now: now, in: db)
            return created
        }
    }

    static func upsert(_ person: Person, paidYears: [Int], today: CivilDate, now: Int64, in db: Database) throws -> Bool {
        let existed = try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM person WHERE id_number = ?)"), arguments: [person.id.value]) ?? false
        try db.cachedStatement(sql: """
            INSERT INTO person (id_number, name, insurance_type, status, region_code, special_category, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id_number) DO UPDATE SET name = excluded.name, insurance_type = excluded.insurance_type,
              status = excluded.status, region_code = excluded.region_code,
              special_category = excluded.special_category, updated_at = excluded.updated_at
            """).execute(arguments: [person.id.value, person.name, person.insuranceType.rawValue, person.status.rawValue,
                             person.region.value, person.specialCategory, now])
        try db.cachedStatement(sql: "DELETE FROM person_paid_year WHERE id_number = ?").execute(arguments: [person.id.value])
        for year in Set(paidYears) {
            try db.cachedStatement(sql: "INSERT INTO person_paid_year (id_number, year) VALUES (?, ?)").execute(arguments: [person.id.value, year])
        }
        if person.insuranceType == .employee {
            try db.cachedStatement(sql: """
                INSERT INTO account (id_number, year, current_year_fen, carry_over_fen) VALUES (?, ?, 0, 0)
                ON CONFLICT (id_number) DO NOTHING
                """).execute(arguments: [person.id.value, today.year])
        }
        return !existed
    }

    /// Reads a person, or nil.
    public func person(_ id: ResidentID) async throws -> PersonRecord? {
        try await read { db in try Self.fetchPerson(id, in: db) }
    }

    static func fetchPerson(_ id: ResidentID, in db: Database) throws -> PersonRecord? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM person WHERE id_number = ?"), arguments: [id.value]) else { return nil }
        let person = try decodePerson(row, id: id)
        let years = try Int.fetchAll(db.cachedStatement(sql: "SELECT year FROM person_paid_year WHERE id_number = ? ORDER BY year"), arguments: [id.value])
        return PersonRecord(person: person, paidYears: years, account: try fetchAccount(id, in: db))
    }

    static func decodePerson(_ row: Row, id: ResidentID) throws -> Person {
        guard let type = InsuranceType(rawValue: row["insurance_type"]),
              let status = InsuranceStatus(rawValue: row["status"]),
              let region = RegionCode(row["region_code"] as Int)
        else { throw StoreError(.database, "person row \(id.masked) does not decode") }
        return Person(id: id, name: row["name"], insuranceType: type, status: status, region: region,
                      specialCategory: row["special_category"])
    }

    static func fetchAccount(_ id: ResidentID, in db: Database) throws -> PersonalAccount? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM account WHERE id_number = ?"), arguments: [id.value]) else { return nil }
        return PersonalAccount(owner: id, year: row["year"], currentYear: Money(fen: row["current_year_fen"]),
                               carryOver: Money(fen: row["carry_over_fen"]))
    }

    /// Decodes an ID number read back from the database (validated when it was written).
    static func storedID(_ text: String) throws -> ResidentID {
        do { return try ResidentID.parse(text, today: CivilDate.lastOfYear(9999)) } catch {
            throw StoreError(.database, "a stored ID number does not decode (\(error.reason))")
        }
    }

    static func personNotFound(_ id: ResidentID) -> DomainError { DomainError.personNotFound(id) }

    /// Credits an employee-insured person's current-year part; a reference applies at most once.
    public func credit(_ id: ResidentID, amount: Money, reference: String, key: IdempotencyKey? = nil,
                       now: Int64) async throws -> (account: PersonalAccount, applied: Bool) {
        try await groupCommit.submit { db in
            if let previous = try Self.previousResult(key, in: db) {
                guard let account = try Self.fetchAccount(id, in: db) else { throw Self.personNotFound(id) }
                return (account, previous == "applied")
            }
            let applied = try Self.applyCredit(id, amount: amount, reference: reference, now: now, in: db)
            guard let account = try Self.fetchAccount(id, in: db) else { throw Self.personNotFound(id) }
            try Self.recordResult(key, result: applied ? "applied" : "skipped", now: now, in: db)
            return (account, applied)
        }
    }

    static func applyCredit(_ id: ResidentID, amount: Money, reference: String, now: Int64, in db: Database) throws -> Bool {
        guard let record = try fetchPerson(id, in: db) else { throw personNotFound(id) }
        guard record.person.insuranceType == .employee, let account = record.account else {
            throw DomainError(reason: "NOT_EMPLOYEE_INSURED", category: .failedPrecondition,
                              message: "only the employee-insured have a personal account", messageZH: "仅职工医保参保人有个人账户",
                              details: ["id_number": id.masked])
        }
        if let owner = try String.fetchOne(db.cachedStatement(sql: "SELECT id_number FROM account_credit WHERE reference = ?"), arguments: [reference]) {
            guard owner == id.value else {
                throw DomainError(reason: "CREDIT_REFERENCE_REUSED", category: .alreadyExists,
                                  message: "credit reference \(reference) was applied to another account", messageZH: "入账凭证号已被使用",
                                  details: ["reference": reference])
            }
            return false
        }
        guard let newBalance = account.currentYear.adding(amount), newBalance.isValidAmount else {
            throw DomainError(reason: "AMOUNT_OUT_OF_RANGE", category: .invalidArgument, message: "the balance would exceed the limit",
                              messageZH: "金额超出允许范围", details: ["max_fen": String(Money.max.fen)])
        }
        try db.cachedStatement(sql: "INSERT INTO account_credit (reference, id_number, amount_fen, created_at) VALUES (?, ?, ?, ?)").execute(
                       arguments: [reference, id.value, amount.fen, now])
        try db.cachedStatement(sql: "UPDATE account SET current_year_fen = ? WHERE id_number = ?").execute(arguments: [newBalance.fen, id.value])
        try post(movement: "credit:\(reference)", entries: [
            (LedgerAccount.person(id, .currentYear), amount),
            (LedgerAccount.platformFunding, Money(fen: -amount.fen)),
        ], now: now, in: db)
        return true
    }

    /// Applies validated import rows in one transaction: all or nothing.
    public func importRows(_ rows: [RegistryRow], today: CivilDate, now: Int64) async throws -> ImportSummary {
        try await write { db in
            var summary = ImportSummary()
            for row in rows {
                switch row {
                case .person(let person, let years):
                    _ = try Self.upsert(person, paidYears: years, today: today, now: now, in: db)
                    summary.personsUpserted += 1
                case .credit(let id, let amount, let reference):
                    if try Self.applyCredit(id, amount: amount, reference: reference, now: now, in: db) {
                        summary.creditsApplied += 1
                    } else {
                        summary.creditsSkipped += 1
                    }
                }
            }
            return summary
        }
    }

    /// Moves every account still in an earlier year into `year` (R-ACCT-1): the current-year
    /// part becomes carry-over. Idempotent per year. Returns how many accounts moved.
    public func rollOver(into year: Int, key: IdempotencyKey? = nil, today: CivilDate, now: Int64) async throws -> Int {
        try await write { db in
            if let previous = try Self.previousResult(key, in: db) { return Int(previous) ?? 0 }
            let lastRolled = try Int.fetchOne(db.cachedStatement(sql: "SELECT MAX(year) FROM year_rollover"))
            let oldestAccount = try Int.fetchOne(db.cachedStatement(sql: "SELECT MIN(year) FROM account"))
            try YearEnd.checkRollover(into: year, lastRolled: lastRolled, oldestAccountYear: oldestAccount, today: today)
            let rows = try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM account WHERE year < ?"), arguments: [year])
            for row in rows {
                let id = try Self.storedID(row["id_number"])
                let account = PersonalAccount(owner: id, year: row["year"], currentYear: Money(fen: row["current_year_fen"]),
                                              carryOver: Money(fen: row["carry_over_fen"]))
                let rolled = try account.rolledOver(into: year)
                try db.cachedStatement(sql: "UPDATE account SET year = ?, current_year_fen = ?, carry_over_fen = ? WHERE id_number = ?").execute(
                               arguments: [rolled.year, rolled.currentYear.fen, rolled.carryOver.fen, id.value])
                try Self.post(movement: "rollover:\(year):\(id.value)", entries: [
                    (LedgerAccount.person(id, .currentYear), Money(fen: -account.currentYear.fen)),
                    (LedgerAccount.person(id, .carryOver), account.currentYear),
                ], now: now, in: db)
            }
            try db.cachedStatement(sql: "INSERT INTO year_rollover (year, accounts, at) VALUES (?, ?, ?)").execute(
                arguments: [year, rows.count, now])
            try Self.recordResult(key, result: String(rows.count), now: now, in: db)
            return rows.count
        }
    }

    /// The operators' availability overrides by region.
    public func availabilityOverrides() async throws -> [RegionCode: Bool] {
        try await read { db in
            var result: [RegionCode: Bool] = [:]
            for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT region_code, suspended FROM region_availability")) {
                if let region = RegionCode(row["region_code"] as Int) { result[region] = row["suspended"] as Bool }
            }
            return result
        }
    }

    /// Records an operator's availability switch for a region.
    public func setAvailability(_ region: RegionCode, suspended: Bool, key: IdempotencyKey? = nil, now: Int64) async throws {
        try await groupCommit.submit { db in
            if try Self.previousResult(key, in: db) != nil { return }
            try db.cachedStatement(sql: """
                INSERT INTO region_availability (region_code, suspended, updated_at) VALUES (?, ?, ?)
                ON CONFLICT (region_code) DO UPDATE SET suspended = excluded.suspended, updated_at = excluded.updated_at
                """).execute(arguments: [region.value, suspended, now])
            try Self.recordResult(key, result: suspended ? "suspended" : "resumed", now: now, in: db)
        }
    }
}
