import Foundation
import GRDB
import GongjiCore
import GongjiStorage

extension SQLiteStore {
    // MARK: Institutions

    public func institution(_ code: InstitutionCode) async throws -> Institution? {
        try readNow { db in try Self.fetchInstitution(code, in: db) }
    }

    static func fetchInstitution(_ code: InstitutionCode, in db: Database) throws -> Institution? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM institution WHERE code = ?"), arguments: [code.value])
            .map { try decodeInstitution($0, aliased: false) }
    }

    /// An institution from its row, or from the `institution_*` columns of a join.
    static func decodeInstitution(_ row: Row, aliased: Bool) throws -> Institution {
        let (name, kind, region) =
            aliased ? ("institution_name", "institution_kind", "institution_region") : ("name", "kind", "region_code")
        guard let code = try? InstitutionCode.parse(row["code"]), let kind = InstitutionKind(rawValue: row[kind]),
            let region = RegionCode(row[region] as Int), let from = CivilDate(iso: row["valid_from"])
        else { throw StoreError(.database, "institution row does not decode") }
        return Institution(
            code: code, name: row[name], kind: kind, region: region, validFrom: from,
            validTo: (row["valid_to"] as String?).flatMap(CivilDate.init(iso:)))
    }

    // MARK: Settlement

    public func settlement(institution: InstitutionCode, settlementID: String) async throws -> SettlementRecord? {
        try readNow { db in
            try Self.fetchSettlements(where: "s.institution_code = ? AND s.settlement_id = ?", [institution.value, settlementID], in: db)
                .first
        }
    }

    public func settlements(
        of institution: InstitutionCode, on day: CivilDate
    ) async throws -> (settled: [SettlementRecord], reversed: [SettlementRecord]) {
        try await read { db in
            (
                try Self.fetchSettlements(
                    where: "s.institution_code = ? AND s.settled_on = ?", [institution.value, day.description], in: db),
                try Self.fetchSettlements(
                    where: "s.institution_code = ? AND s.reversed_on = ?", [institution.value, day.description], in: db)
            )
        }
    }

    public func settlementTotals(region: RegionCode, on day: CivilDate) async throws -> SettlementTotals {
        try await read { db in
            var totals = SettlementTotals()
            if let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT COUNT(*) AS n, COALESCE(SUM(acct_pay_fen), 0) AS own, COALESCE(SUM(acct_mulaid_pay_fen), 0) AS family
                        FROM settlement WHERE region_code = ? AND settled_on = ?
                        """), arguments: [region.value, day.description])
            {
                totals.settledCount = row["n"]
                totals.settledAcctPay = Money(fen: row["own"])
                totals.settledAcctMulaidPay = Money(fen: row["family"])
            }
            if let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT COUNT(*) AS n, COALESCE(SUM(acct_pay_fen), 0) AS own, COALESCE(SUM(acct_mulaid_pay_fen), 0) AS family
                        FROM settlement WHERE region_code = ? AND reversed_on = ?
                        """), arguments: [region.value, day.description])
            {
                totals.reversedCount = row["n"]
                totals.reversedAcctPay = Money(fen: row["own"])
                totals.reversedAcctMulaidPay = Money(fen: row["family"])
            }
            return totals
        }
    }

    /// Settlements matching `condition` (on `s`), with their institutions and postings: two queries.
    static func fetchSettlements(where condition: String, _ arguments: StatementArguments, in db: Database) throws -> [SettlementRecord] {
        let rows = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT s.*, i.code, i.name AS institution_name, i.kind AS institution_kind, i.region_code AS institution_region,
                           i.valid_from, i.valid_to
                    FROM settlement s JOIN institution i ON i.code = s.institution_code WHERE \(condition) ORDER BY s.seq
                    """), arguments: arguments)
        guard !rows.isEmpty else { return [] }
        let seqs: [Int64] = rows.map { $0["seq"] }
        var postings: [Int64: [SettlementPosting]] = [:]
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT * FROM settlement_posting WHERE settlement_seq IN (\(databaseQuestionMarks(count: seqs.count))) ORDER BY settlement_seq, position
                """, arguments: StatementArguments(seqs))
        {
            guard let part = BalancePart(rawValue: row["part"]) else { throw StoreError(.database, "settlement posting does not decode") }
            postings[row["settlement_seq"], default: []].append(
                SettlementPosting(
                    owner: try ResidentID.stored(row["owner"]), part: part, amount: Money(fen: row["amount_fen"]),
                    bindingID: row["binding_id"],
                    accountYear: row["account_year"], fromWallet: row["from_wallet"]))
        }
        return try rows.map { row in
            let seq: Int64 = row["seq"]
            let family = try StoredFamilyUse.decode(row["family"])
            let split = SettlementSplit(
                amount: Money(fen: row["amount_fen"]), acctPay: Money(fen: row["acct_pay_fen"]),
                acctMulaidPay: Money(fen: row["acct_mulaid_pay_fen"]),
                cashPay: Money(fen: row["cash_fen"]), postings: postings[seq] ?? [], family: family,
                familyZeroNote: (row["family_zero_note"] as String?).flatMap(FamilyFundNote.init(rawValue:)))
            guard let status = SettlementStatus(rawValue: row["status"]) else {
                throw StoreError(.database, "settlement row does not decode")
            }
            return SettlementRecord(
                settlementID: row["settlement_id"], institution: try decodeInstitution(row, aliased: true),
                patient: try ResidentID.stored(row["patient"]), patientName: row["patient_name"], split: split, status: status,
                settledAt: row["settled_at"], reversedAt: row["reversed_at"], seq: seq)
        }
    }
}
