import Foundation
import GRDB
import GongjiCore

extension Store {
    // MARK: Institutions

    public func upsertInstitution(_ institution: Institution, key: IdempotencyKey?, now: Int64) async throws -> (institution: Institution, created: Bool) {
        try await once(key, replay: { previous, db in
            guard let stored = try Self.fetchInstitution(institution.code, in: db) else { throw StoreError(.database, "idempotent result vanished") }
            return (stored, previous == "created")
        }, { db in
            let created = try Self.upsert(institution, now: now, in: db)
            return ((institution, created), created ? "created" : "replaced")
        }, now: now)
    }

    static func upsert(_ institution: Institution, now: Int64, in db: Database) throws -> Bool {
        let existed = try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM institution WHERE code = ?)"),
                                        arguments: [institution.code.value]) ?? false
        try db.cachedStatement(sql: """
            INSERT INTO institution (code, name, kind, region_code, valid_from, valid_to, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, region_code = excluded.region_code,
              valid_from = excluded.valid_from, valid_to = excluded.valid_to, updated_at = excluded.updated_at
            """).execute(arguments: [institution.code.value, institution.name, institution.kind.rawValue, institution.region.value,
                             institution.validFrom.description, institution.validTo?.description, now])
        return !existed
    }

    public func institution(_ code: InstitutionCode) async throws -> Institution? {
        try readNow { db in try Self.fetchInstitution(code, in: db) }
    }

    static func fetchInstitution(_ code: InstitutionCode, in db: Database) throws -> Institution? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM institution WHERE code = ?"), arguments: [code.value])
            .map { try decodeInstitution($0, aliased: false) }
    }

    /// An institution from its row, or from the `institution_*` columns of a join.
    static func decodeInstitution(_ row: Row, aliased: Bool) throws -> Institution {
        let (name, kind, region) = aliased ? ("institution_name", "institution_kind", "institution_region") : ("name", "kind", "region_code")
        guard let code = try? InstitutionCode.parse(row["code"]), let kind = InstitutionKind(rawValue: row[kind]),
              let region = RegionCode(row[region] as Int), let from = CivilDate(iso: row["valid_from"])
        else { throw StoreError(.database, "institution row does not decode") }
        return Institution(code: code, name: row[name], kind: kind, region: region, validFrom: from,
                           validTo: (row["valid_to"] as String?).flatMap(CivilDate.init(iso:)))
    }

    // MARK: Settlement

    /// The facts of a settlement order, in the transaction that will apply it.
    static func settlementFacts(_ order: SettlementOrder, scope: InstitutionScope, policies: PolicyBook, today: CivilDate,
                                in db: Database) throws -> SettlementFacts {
        let institution = try (try? InstitutionCode.parse(order.institutionCode)).flatMap { try fetchInstitution($0, in: db) }
        let patientID = try? ResidentID.parse(order.patientIDNumber, today: today)
        let patient = try patientID.flatMap { try fetchPerson($0, in: db) }
        var bindings: [FamilyBinding] = []
        if let patientID {
            for record in try fetchBindings(where: "member = ? ORDER BY seq", [patientID.value], in: db) {
                let binding = record.binding
                let used = try Int64.fetchOne(db.cachedStatement(sql: """
                    SELECT COALESCE(SUM(p.amount_fen), 0) FROM settlement_posting p JOIN settlement s ON s.seq = p.settlement_seq
                    WHERE p.binding_id = ? AND p.settled_year = ? AND s.status = 'settled'
                    """), arguments: [binding.id, today.year]) ?? 0
                bindings.append(FamilyBinding(binding: binding, authorizerAccount: try fetchAccount(binding.authorizer, in: db),
                                              policy: policies.policy(of: binding.region), usedThisYear: Money(fen: used)))
            }
        }
        return SettlementFacts(scope: scope, institution: institution, patient: patient,
                               patientPolicy: patient.flatMap { policies.policy(of: $0.person.region) }, bindings: bindings, today: today)
    }

    public func preSettle(_ order: SettlementOrder, scope: InstitutionScope, policies: PolicyBook, today: CivilDate) async throws -> SettlementSplit {
        try readNow { db in
            try SettlementRules.preSettle(order, facts: try Self.settlementFacts(order, scope: scope, policies: policies, today: today, in: db))
        }
    }

    /// Settles in the shape of a payment: gather, let the core plan, apply — once per key.
    public func settle(_ order: SettlementOrder, scope: InstitutionScope, key: IdempotencyKey, policies: PolicyBook, today: CivilDate,
                       now: Int64) async throws -> SettlementRecord {
        try await once(key, replay: { previous, db in
            guard let seq = Int64(previous), let record = try Self.fetchSettlements(where: "s.seq = ?", [seq], in: db).first else {
                throw StoreError(.database, "idempotent result vanished")
            }
            return record
        }, { db in
            let facts = try Self.settlementFacts(order, scope: scope, policies: policies, today: today, in: db)
            let record = try Self.apply(try SettlementRules.settle(order, facts: facts), today: today, now: now, in: db)
            return (record, String(record.seq))
        }, now: now)
    }

    static func apply(_ plan: SettlementPlan, today: CivilDate, now: Int64, in db: Database) throws -> SettlementRecord {
        for account in plan.accounts { try updateAccount(account, in: db) }
        let split = plan.split
        let family = String(decoding: try JSONEncoder().encode(split.family.map(StoredFamilyUse.init)), as: UTF8.self)
        try db.cachedStatement(sql: """
            INSERT INTO settlement (institution_code, settlement_id, region_code, patient, patient_name, amount_fen, acct_pay_fen,
              acct_mulaid_pay_fen, cash_fen, family, family_zero_note, status, settled_at, settled_on)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'settled', ?, ?)
            """).execute(arguments: [plan.institution.code.value, plan.settlementID, plan.institution.region.value, plan.patient.id.value,
                             plan.patient.name, split.amount.fen, split.acctPay.fen, split.acctMulaidPay.fen, split.cashPay.fen, family,
                             split.familyZeroNote?.rawValue, now, today.description])
        let seq = db.lastInsertedRowID
        for (position, posting) in split.postings.enumerated() {
            try db.cachedStatement(sql: """
                INSERT INTO settlement_posting (settlement_seq, position, owner, part, amount_fen, binding_id, account_year, settled_year)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [seq, position, posting.owner.value, posting.part.rawValue, posting.amount.fen, posting.bindingID,
                                 posting.accountYear, today.year])
        }
        try post(plan.movement, now: now, in: db)
        try recordUses(.settlement, postings: split.postings, patient: plan.patient, settlementSeq: seq, now: now, in: db)
        return SettlementRecord(settlementID: plan.settlementID, institution: plan.institution, patient: plan.patient.id,
                                patientName: plan.patient.name, split: split, status: .settled, settledAt: now, reversedAt: nil, seq: seq)
    }

    /// One journal row per account a settlement (or its reversal) touched.
    static func recordUses(_ kind: AccountUseRecord.Kind, postings: [SettlementPosting], patient: Person, settlementSeq: Int64, now: Int64,
                           in db: Database) throws {
        var amounts: [(ResidentID, Money)] = []
        for posting in postings {
            if let index = amounts.firstIndex(where: { $0.0 == posting.owner }) {
                amounts[index].1 = amounts[index].1.adding(posting.amount)!
            } else {
                amounts.append((posting.owner, posting.amount))
            }
        }
        for (owner, amount) in amounts {
            try recordUse(kind, owner: owner, member: patient.id, memberName: patient.name, amount: amount, paymentID: nil,
                          settlementSeq: settlementSeq, now: now, in: db)
        }
    }

    public func reverseSettlement(institution: InstitutionCode, settlementID: String, policies: PolicyBook, today: CivilDate,
                                  now: Int64) async throws -> SettlementRecord {
        try await groupCommit.submit { db in
            guard let record = try Self.fetchSettlements(where: "s.institution_code = ? AND s.settlement_id = ?",
                                                         [institution.value, settlementID], in: db).first
            else { throw SettlementRules.notFound(institution.value, settlementID) }
            var accounts: [PersonalAccount] = []
            for owner in Set(record.split.postings.map(\.owner)) {
                guard let account = try Self.fetchAccount(owner, in: db) else { throw StoreError(.database, "a debited account is missing") }
                accounts.append(account)
            }
            let terms = policies.policy(of: record.institution.region)?.settlementTerms ?? .defaults
            guard let plan = try SettlementRules.reverse(record, accounts: accounts, terms: terms, today: today) else { return record }
            for account in plan.accounts { try Self.updateAccount(account, in: db) }
            try db.cachedStatement(sql: "UPDATE settlement SET status = 'reversed', reversed_at = ?, reversed_on = ? WHERE seq = ?").execute(
                arguments: [now, today.description, record.seq])
            try Self.post(plan.movement, now: now, in: db)
            let patient = Person(id: record.patient, name: record.patientName, insuranceType: .none, status: .normal, region: record.institution.region)
            try Self.recordUses(.reversal, postings: plan.credits, patient: patient, settlementSeq: record.seq, now: now, in: db)
            var reversed = record
            reversed.status = .reversed
            reversed.reversedAt = now
            return reversed
        }
    }

    public func settlement(institution: InstitutionCode, settlementID: String) async throws -> SettlementRecord? {
        try readNow { db in
            try Self.fetchSettlements(where: "s.institution_code = ? AND s.settlement_id = ?", [institution.value, settlementID], in: db).first
        }
    }

    public func settlements(of institution: InstitutionCode, on day: CivilDate) async throws -> (settled: [SettlementRecord], reversed: [SettlementRecord]) {
        try await read { db in
            (try Self.fetchSettlements(where: "s.institution_code = ? AND s.settled_on = ?", [institution.value, day.description], in: db),
             try Self.fetchSettlements(where: "s.institution_code = ? AND s.reversed_on = ?", [institution.value, day.description], in: db))
        }
    }

    public func settlementTotals(region: RegionCode, on day: CivilDate) async throws -> SettlementTotals {
        try await read { db in
            var totals = SettlementTotals()
            if let row = try Row.fetchOne(db.cachedStatement(sql: """
                SELECT COUNT(*) AS n, COALESCE(SUM(acct_pay_fen), 0) AS own, COALESCE(SUM(acct_mulaid_pay_fen), 0) AS family
                FROM settlement WHERE region_code = ? AND settled_on = ?
                """), arguments: [region.value, day.description]) {
                totals.settledCount = row["n"]
                totals.settledAcctPay = Money(fen: row["own"])
                totals.settledAcctMulaidPay = Money(fen: row["family"])
            }
            if let row = try Row.fetchOne(db.cachedStatement(sql: """
                SELECT COUNT(*) AS n, COALESCE(SUM(acct_pay_fen), 0) AS own, COALESCE(SUM(acct_mulaid_pay_fen), 0) AS family
                FROM settlement WHERE region_code = ? AND reversed_on = ?
                """), arguments: [region.value, day.description]) {
                totals.reversedCount = row["n"]
                totals.reversedAcctPay = Money(fen: row["own"])
                totals.reversedAcctMulaidPay = Money(fen: row["family"])
            }
            return totals
        }
    }

    /// Settlements matching `condition` (on `s`), with their institutions and postings: two queries.
    static func fetchSettlements(where condition: String, _ arguments: StatementArguments, in db: Database) throws -> [SettlementRecord] {
        let rows = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT s.*, i.code, i.name AS institution_name, i.kind AS institution_kind, i.region_code AS institution_region,
                   i.valid_from, i.valid_to
            FROM settlement s JOIN institution i ON i.code = s.institution_code WHERE \(condition) ORDER BY s.seq
            """), arguments: arguments)
        guard !rows.isEmpty else { return [] }
        let seqs: [Int64] = rows.map { $0["seq"] }
        var postings: [Int64: [SettlementPosting]] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT * FROM settlement_posting WHERE settlement_seq IN (\(databaseQuestionMarks(count: seqs.count))) ORDER BY settlement_seq, position
            """, arguments: StatementArguments(seqs)) {
            guard let part = BalancePart(rawValue: row["part"]) else { throw StoreError(.database, "settlement posting does not decode") }
            postings[row["settlement_seq"], default: []].append(SettlementPosting(
                owner: try storedID(row["owner"]), part: part, amount: Money(fen: row["amount_fen"]), bindingID: row["binding_id"],
                accountYear: row["account_year"]))
        }
        return try rows.map { row in
            let seq: Int64 = row["seq"]
            let family = try JSONDecoder().decode([StoredFamilyUse].self, from: Data((row["family"] as String).utf8)).map { try $0.use() }
            let split = SettlementSplit(
                amount: Money(fen: row["amount_fen"]), acctPay: Money(fen: row["acct_pay_fen"]), acctMulaidPay: Money(fen: row["acct_mulaid_pay_fen"]),
                cashPay: Money(fen: row["cash_fen"]), postings: postings[seq] ?? [], family: family,
                familyZeroNote: (row["family_zero_note"] as String?).flatMap(FamilyFundNote.init(rawValue:)))
            guard let status = SettlementStatus(rawValue: row["status"]) else { throw StoreError(.database, "settlement row does not decode") }
            return SettlementRecord(settlementID: row["settlement_id"], institution: try decodeInstitution(row, aliased: true),
                                    patient: try storedID(row["patient"]), patientName: row["patient_name"], split: split, status: status,
                                    settledAt: row["settled_at"], reversedAt: row["reversed_at"], seq: seq)
        }
    }
}

/// How a settlement's per-binding uses are kept (a JSON array in `settlement.family`).
struct StoredFamilyUse: Codable {
    var binding: String
    var authorizer: String
    var fen: Int64
    var note: String?

    init(_ use: FamilyFundUse) {
        binding = use.bindingID
        authorizer = use.authorizer.value
        fen = use.amount.fen
        note = use.note?.rawValue
    }

    func use() throws -> FamilyFundUse {
        FamilyFundUse(bindingID: binding, authorizer: try Store.storedID(authorizer), amount: Money(fen: fen),
                      note: note.flatMap(FamilyFundNote.init(rawValue:)))
    }
}
