import Foundation
import GRDB
import GongjiCore

extension Store {
    /// Gathers the facts of a payment through `bindingID` as seen by `endUser` (a binding the end
    /// user is no party to looks like one that does not exist: `PartyRules.visible`).
    static func premiumFacts(bindingID: String, endUser: ResidentID, policies: PolicyBook, today: CivilDate,
                             in db: Database) throws -> PremiumFacts {
        let binding = try PartyRules.visible(try fetchBinding(id: bindingID, in: db)?.binding, to: endUser)
        guard let authorizer = try fetchPerson(binding.authorizer, in: db), let member = try fetchPerson(binding.member, in: db) else {
            throw StoreError(.database, "a bound person is missing from the registry")
        }
        let paid = try Int.fetchSet(db.cachedStatement(sql: "SELECT year FROM payment_year WHERE member = ?"), arguments: [binding.member.value])
        return PremiumFacts(binding: binding, actor: endUser, authorizer: authorizer, member: member, paidYears: paid,
                            policies: policies, today: today)
    }

    public func premiumFacts(bindingID: String, endUser: ResidentID, policies: PolicyBook, today: CivilDate) async throws -> PremiumFacts {
        try readNow { db in try Self.premiumFacts(bindingID: bindingID, endUser: endUser, policies: policies, today: today, in: db) }
    }

    /// Pays atomically: gathers the facts, has the core plan the payment, and applies the plan —
    /// all or nothing (R-PAY-9). Concurrent payments share one durable transaction, each in its
    /// own savepoint (group commit); this returns only after the transaction holding the payment
    /// is committed.
    public func pay(_ order: PaymentOrder, endUser: ResidentID, paymentID: String, key: IdempotencyKey?, policies: PolicyBook,
                    today: CivilDate, now: Int64) async throws -> PaymentRecord {
        try await once(key, replay: { previous, db in
            guard let record = try Self.fetchPayments(where: "id = ?", [previous], in: db).first else {
                throw StoreError(.database, "idempotent result vanished")
            }
            return record
        }, { db in
            let facts = try Self.premiumFacts(bindingID: order.bindingID, endUser: endUser, policies: policies, today: today, in: db)
            let plan = try PremiumRules.pay(order, paymentID: paymentID, facts: facts)
            return (try Self.apply(plan, now: now, in: db), paymentID)
        }, now: now)
    }

    /// Writes what `plan` says; assigns the payment's sequence number (and so its receipt number).
    static func apply(_ plan: PaymentPlan, now: Int64, in db: Database) throws -> PaymentRecord {
        let binding = plan.binding
        try updateAccount(plan.authorizerAccount, in: db)
        let seq = try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(seq), 0) + 1 FROM payment")) ?? 1
        let record = PaymentRecord(
            id: plan.paymentID, bindingID: binding.id, authorizer: binding.authorizer, authorizerName: plan.authorizerName,
            member: binding.member, memberName: binding.memberName, region: binding.region, lines: plan.quote.lines,
            total: plan.quote.total, postings: plan.postings, external: plan.external,
            receiptNumber: plan.receiptNumber(sequence: seq), createdAt: now, seq: seq)
        // verification_code is computed on read (the column stays for databases written before).
        try db.cachedStatement(sql: """
            INSERT INTO payment (seq, id, binding_id, authorizer, member, member_name, authorizer_name, region_code, total_fen, account_fen,
              external_fen, external_reference, receipt_number, verification_code, enrolled_member, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?)
            """).execute(arguments: [seq, record.id, binding.id, binding.authorizer.value, binding.member.value, binding.memberName,
                             plan.authorizerName, binding.region.value, plan.quote.total.fen, plan.quote.accountPart.fen,
                             plan.external?.amount.fen ?? 0, plan.external?.reference, record.receiptNumber, plan.enrollsMember, now])
        for line in plan.quote.lines {
            try db.cachedStatement(sql: """
                INSERT INTO payment_year (payment_id, member, year, amount_fen, category, late, benefit_start) VALUES (?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [record.id, binding.member.value, line.year, line.amount.fen, line.category, line.isLate,
                                 line.benefitStart?.description])
        }
        for posting in plan.postings {
            try db.cachedStatement(sql: "INSERT INTO payment_posting (payment_id, part, amount_fen) VALUES (?, ?, ?)").execute(
                           arguments: [record.id, posting.part.rawValue, posting.amount.fen])
        }
        try post(plan.movement, now: now, in: db)
        try recordUse(.premium, owner: binding.authorizer, member: binding.member, memberName: binding.memberName,
                      amount: plan.quote.accountPart, paymentID: record.id, settlementSeq: nil, now: now, in: db)
        if let member = plan.enrolledMember {
            try db.cachedStatement(sql: "UPDATE person SET insurance_type = ?, status = ?, region_code = ?, updated_at = ? WHERE id_number = ?").execute(
                           arguments: [member.insuranceType.rawValue, member.status.rawValue, member.region.value, now, member.id.value])
        }
        return record
    }

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

    /// Appends one use of an account to the journal the deduction lists page through.
    static func recordUse(_ kind: AccountUseRecord.Kind, owner: ResidentID, member: ResidentID, memberName: String, amount: Money,
                          paymentID: String?, settlementSeq: Int64?, now: Int64, in db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO account_use (kind, account_owner, member, member_name, amount_fen, payment_id, settlement_seq, at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [kind.rawValue, owner.value, member.value, memberName, amount.fen, paymentID, settlementSeq, now])
    }

    public func accountUses(of person: ResidentID, as perspective: BindingPerspective, before: Int64?, limit: Int) async throws -> [AccountUseRecord] {
        let condition = perspective == .authorizer ? "u.account_owner = ?1" : "u.member = ?1 AND u.account_owner <> ?1"
        return try await read { db in
            try Row.fetchAll(db.cachedStatement(sql: """
                SELECT u.*, s.settlement_id, i.code, i.name AS institution_name, i.kind AS institution_kind, i.region_code AS institution_region,
                       i.valid_from, i.valid_to
                FROM account_use u LEFT JOIN settlement s ON s.seq = u.settlement_seq LEFT JOIN institution i ON i.code = s.institution_code
                WHERE \(condition) AND u.seq < ?2 ORDER BY u.seq DESC LIMIT ?3
                """), arguments: [person.value, before ?? Int64.max, limit]).map { row in
                guard let kind = AccountUseRecord.Kind(rawValue: row["kind"]) else { throw StoreError(.database, "account_use row does not decode") }
                let institution: Institution? = try (row["code"] as String?).map { _ in try Self.decodeInstitution(row, aliased: true) }
                return AccountUseRecord(kind: kind, accountOwner: try Self.storedID(row["account_owner"]), member: try Self.storedID(row["member"]),
                                        memberName: row["member_name"], amount: Money(fen: row["amount_fen"]), at: row["at"],
                                        paymentID: row["payment_id"], settlementID: row["settlement_id"], institution: institution, seq: row["seq"])
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
        for row in try Row.fetchAll(db, sql: "SELECT * FROM payment_year WHERE payment_id IN (\(placeholders)) ORDER BY year",
                                    arguments: StatementArguments(ids)) {
            lines[row["payment_id"], default: []].append(PremiumLine(
                year: row["year"], amount: Money(fen: row["amount_fen"]), category: row["category"], isLate: row["late"],
                benefitStart: (row["benefit_start"] as String?).flatMap(CivilDate.init(iso:))))
        }
        var postings: [String: [Posting]] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT * FROM payment_posting WHERE payment_id IN (\(placeholders)) ORDER BY part DESC",
                                    arguments: StatementArguments(ids)) {
            postings[row["payment_id"], default: []].append(
                Posting(part: BalancePart(rawValue: row["part"]) ?? .currentYear, amount: Money(fen: row["amount_fen"])))
        }
        return try rows.map { row in
            let id: String = row["id"]
            let externalFen: Int64 = row["external_fen"]
            guard let region = RegionCode(row["region_code"] as Int) else { throw StoreError(.database, "payment row does not decode") }
            return PaymentRecord(
                id: id, bindingID: row["binding_id"], authorizer: try storedID(row["authorizer"]), authorizerName: row["authorizer_name"],
                member: try storedID(row["member"]), memberName: row["member_name"], region: region, lines: lines[id] ?? [],
                total: Money(fen: row["total_fen"]), postings: postings[id] ?? [],
                external: externalFen > 0 ? ExternalPayment(amount: Money(fen: externalFen), reference: row["external_reference"]) : nil,
                receiptNumber: row["receipt_number"], createdAt: row["created_at"], seq: row["seq"])
        }
    }
}
