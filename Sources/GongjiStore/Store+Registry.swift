import Foundation
import GRDB
import GongjiCore

extension Store {
    public func upsertPerson(_ person: Person, paidYears: [Int], key: IdempotencyKey?, today: CivilDate,
                             now: Int64) async throws -> (record: PersonRecord, created: Bool) {
        try await groupCommit.submit { db in
            let created: Bool
            if let previous = try Self.previousResult(key, in: db) {
                created = previous == "created"
            } else {
                created = try Self.upsert(person, paidYears: paidYears, today: today, now: now, in: db)
                try Self.recordResult(key, result: created ? "created" : "replaced", now: now, in: db)
            }
            guard let record = try Self.fetchPerson(person.id, in: db) else { throw StoreError(.database, "person vanished after upsert") }
            return (record, created)
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
        if let account = RegistryRules.accountToOpen(for: person, today: today) {
            try db.cachedStatement(sql: """
                INSERT INTO account (id_number, year, current_year_fen, carry_over_fen) VALUES (?, ?, ?, ?)
                ON CONFLICT (id_number) DO NOTHING
                """).execute(arguments: [account.owner.value, account.year, account.currentYear.fen, account.carryOver.fen])
        }
        // R-BIND-11: the registry change ends the person's open bindings it no longer allows.
        let open = try fetchBindings(where: "(authorizer = ?1 OR member = ?1) AND status IN ('pending', 'active')", [person.id.value], in: db)
        for ended in BindingRules.endedByRegistry(person, open: open.map(\.binding)) {
            try update(ended, now: now, in: db)
            try recordEvent(ended, actor: ChangeActor(certificateIdentity: "registry", endUser: nil, requestID: nil),
                            reason: ended.endReason, now: now, in: db)
        }
        return !existed
    }

    public func person(_ id: ResidentID) async throws -> PersonRecord? {
        try readNow { db in try Self.fetchPerson(id, in: db) }
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

    /// Credits an employee-insured person's current-year part; a reference applies at most once.
    public func credit(_ id: ResidentID, amount: Money, part: BalancePart, reference: String, key: IdempotencyKey?,
                       now: Int64) async throws -> (account: PersonalAccount, applied: Bool) {
        try await groupCommit.submit { db in
            let applied: Bool
            if let previous = try Self.previousResult(key, in: db) {
                applied = previous == "applied"
            } else {
                applied = try Self.applyCredit(id, amount: amount, part: part, reference: reference, now: now, in: db)
                try Self.recordResult(key, result: applied ? "applied" : "skipped", now: now, in: db)
            }
            guard let account = try Self.fetchAccount(id, in: db) else { throw StoreError(.database, "the credited account vanished") }
            return (account, applied)
        }
    }

    static func applyCredit(_ id: ResidentID, amount: Money, part: BalancePart, reference: String, now: Int64, in db: Database) throws -> Bool {
        let owner = try String.fetchOne(db.cachedStatement(sql: "SELECT id_number FROM account_credit WHERE reference = ?"), arguments: [reference])
        let plan = try CreditRules.plan(credit: id, record: try fetchPerson(id, in: db), amount: amount, part: part, reference: reference,
                                        referenceOwner: try owner.map(storedID))
        guard case .apply(let account, let movement) = plan else { return false }
        try db.cachedStatement(sql: "INSERT INTO account_credit (reference, id_number, amount_fen, created_at) VALUES (?, ?, ?, ?)").execute(
                       arguments: [reference, id.value, amount.fen, now])
        try updateAccount(account, in: db)
        try post(movement, now: now, in: db)
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
                case .credit(let id, let amount, let part, let reference):
                    if try Self.applyCredit(id, amount: amount, part: part, reference: reference, now: now, in: db) {
                        summary.creditsApplied += 1
                    } else {
                        summary.creditsSkipped += 1
                    }
                case .institution(let institution):
                    _ = try Self.upsert(institution, now: now, in: db)
                    summary.institutionsUpserted += 1
                }
            }
            return summary
        }
    }

    /// Moves every account still in an earlier year into `year` (R-ACCT-1): the current-year
    /// part becomes carry-over. Idempotent per year. Returns how many accounts moved.
    public func rollOver(into year: Int, key: IdempotencyKey?, today: CivilDate, now: Int64) async throws -> Int {
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
                let (rolled, movement) = try YearEnd.rollOver(account, into: year)
                try Self.updateAccount(rolled, in: db)
                try Self.post(movement, now: now, in: db)
            }
            try db.cachedStatement(sql: "INSERT INTO year_rollover (year, accounts, at) VALUES (?, ?, ?)").execute(
                arguments: [year, rows.count, now])
            try Self.recordResult(key, result: String(rows.count), now: now, in: db)
            return rows.count
        }
    }

    public func availabilityOverrides() async throws -> [RegionCode: Bool] {
        try await read { db in
            var result: [RegionCode: Bool] = [:]
            for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT region_code, suspended FROM region_availability")) {
                if let region = RegionCode(row["region_code"] as Int) { result[region] = row["suspended"] as Bool }
            }
            return result
        }
    }

    public func setAvailability(_ region: RegionCode, suspended: Bool, key: IdempotencyKey?, now: Int64) async throws {
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
