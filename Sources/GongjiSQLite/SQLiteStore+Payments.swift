import Foundation
import GRDB
import GongjiCore
import GongjiStorage

extension SQLiteStore {
    public func payment(id: String) async throws -> PaymentRecord? {
        try readNow { db in try Self.fetchPayments(where: "id = ?", [id], in: db).first }
    }

    public func payment(receiptNumber: String) async throws -> PaymentRecord? {
        try readNow { db in try Self.fetchPayments(where: "receipt_number = ?", [receiptNumber], in: db).first }
    }

    public func payments(ids: [String]) async throws -> [PaymentRecord] {
        guard !ids.isEmpty else { return [] }
        return try await read { db in
            try Self.fetchPayments(where: "id IN (\(databaseQuestionMarks(count: ids.count)))", StatementArguments(ids), in: db)
        }
    }

    public func accountUses(
        of person: ResidentID, as perspective: BindingPerspective, before: Int64?, limit: Int
    ) async throws -> [AccountUseRecord] {
        let condition = perspective == .authorizer ? "u.account_owner = ?1" : "u.member = ?1 AND u.account_owner <> ?1"
        return try await read { db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT u.*, s.settlement_id, i.code, i.name AS institution_name, i.kind AS institution_kind, i.region_code AS institution_region,
                               i.valid_from, i.valid_to
                        FROM account_use u LEFT JOIN settlement s ON s.seq = u.settlement_seq LEFT JOIN institution i ON i.code = s.institution_code
                        WHERE \(condition) AND u.seq < ?2 ORDER BY u.seq DESC LIMIT ?3
                        """), arguments: [person.value, before ?? Int64.max, limit]
            ).map { row in
                guard let kind = AccountUseRecord.Kind(rawValue: row["kind"]) else {
                    throw StoreError(.database, "account_use row does not decode")
                }
                let institution: Institution? = try (row["code"] as String?).map { _ in try Self.decodeInstitution(row, aliased: true) }
                return AccountUseRecord(
                    kind: kind, accountOwner: try ResidentID.stored(row["account_owner"]), member: try ResidentID.stored(row["member"]),
                    memberName: row["member_name"], amount: Money(fen: row["amount_fen"]), at: row["at"],
                    paymentID: row["payment_id"], settlementID: row["settlement_id"], institution: institution, seq: row["seq"],
                    reference: row["reference"])
            }
        }
    }

    /// Payments matching `condition`, in its order, with their years and postings: three queries
    /// for any number of payments.
    static func fetchPayments(where condition: String, _ arguments: StatementArguments, in db: Database) throws -> [PaymentRecord] {
        let rows = try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM payment WHERE \(condition)"), arguments: arguments)
        guard !rows.isEmpty else { return [] }
        let ids: [String] = rows.map { $0["id"] }
        let placeholders = databaseQuestionMarks(count: ids.count)
        var lines: [String: [PremiumLine]] = [:]
        for row in try Row.fetchAll(
            db, sql: "SELECT * FROM payment_year WHERE payment_id IN (\(placeholders)) ORDER BY year",
            arguments: StatementArguments(ids))
        {
            lines[row["payment_id"], default: []].append(
                PremiumLine(
                    year: row["year"], amount: Money(fen: row["amount_fen"]), category: row["category"], isLate: row["late"],
                    benefitStart: (row["benefit_start"] as String?).flatMap(CivilDate.init(iso:))))
        }
        var postings: [String: [Posting]] = [:]
        for row in try Row.fetchAll(
            db, sql: "SELECT * FROM payment_posting WHERE payment_id IN (\(placeholders)) ORDER BY part DESC",
            arguments: StatementArguments(ids))
        {
            postings[row["payment_id"], default: []].append(
                Posting(part: BalancePart(rawValue: row["part"]) ?? .currentYear, amount: Money(fen: row["amount_fen"])))
        }
        return try rows.map { row in
            let id: String = row["id"]
            let externalFen: Int64 = row["external_fen"]
            guard let region = RegionCode(row["region_code"] as Int) else { throw StoreError(.database, "payment row does not decode") }
            return PaymentRecord(
                id: id, bindingID: row["binding_id"], authorizer: try ResidentID.stored(row["authorizer"]),
                authorizerName: row["authorizer_name"],
                member: try ResidentID.stored(row["member"]), memberName: row["member_name"], region: region, lines: lines[id] ?? [],
                total: Money(fen: row["total_fen"]), postings: postings[id] ?? [],
                external: externalFen > 0 ? ExternalPayment(amount: Money(fen: externalFen), reference: row["external_reference"]) : nil,
                receiptNumber: row["receipt_number"], createdAt: row["created_at"], seq: row["seq"], fromWallet: row["from_wallet"],
                kind: PremiumKind(rawValue: row["kind"]) ?? .resident)
        }
    }
}
