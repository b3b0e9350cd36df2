import Foundation
import GRDB
import GongjiCore

/// A stored premium payment with its receipt fields.
public struct PaymentRecord: Hashable, Sendable {
    /// Opaque id.
    public var id: String
    /// The binding paid through.
    public var bindingID: String
    /// The payer.
    public var authorizer: ResidentID
    /// The payer's registered name.
    public var authorizerName: String
    /// The member paid for.
    public var member: ResidentID
    /// The member's name.
    public var memberName: String
    /// The governing region.
    public var region: RegionCode
    /// Years and amounts.
    public var lines: [PremiumLine]
    /// The whole amount.
    public var total: Money
    /// Debits from the payer's account parts.
    public var postings: [Posting]
    /// The part paid through another channel.
    public var external: ExternalPayment?
    /// The receipt number (电子回单号).
    public var receiptNumber: String
    /// The receipt's verification code.
    public var verificationCode: String
    /// Payment time, Unix seconds.
    public var createdAt: Int64
    /// List cursor.
    public var seq: Int64

    /// The part paid from the account.
    public var accountPart: Money { Money.sum(postings.map(\.amount)) ?? .zero }

    /// The text a receipt's verification code signs: every field a holder can read on it.
    public static func receiptText(number: String, paymentID: String, payer: ResidentID, member: ResidentID, years: [Int],
                                   total: Money, external: Money, region: RegionCode, issuedAt: Int64) -> String {
        [number, paymentID, payer.value, member.value, years.map(String.init).joined(separator: ","), String(total.fen),
         String(external.fen), region.description, String(issuedAt)].joined(separator: "|")
    }

    /// This payment's receipt text (see `receiptText`).
    public var receiptText: String {
        Self.receiptText(number: receiptNumber, paymentID: id, payer: authorizer, member: member, years: lines.map(\.year), total: total,
                         external: external?.amount ?? .zero, region: region, issuedAt: createdAt)
    }
}

/// The facts about a payment that live in the database.
public struct StoredPaymentFacts: Sendable {
    /// The binding.
    public var binding: Binding
    /// The authorizer now.
    public var authorizer: PersonRecord
    /// The member now.
    public var member: PersonRecord
    /// Years paid for the member, by Gongji or reported by the platform.
    public var paidYears: Set<Int>
}

extension Store {
    /// Gathers the facts of a payment through `bindingID` as seen by `endUser`: a binding the end
    /// user is no party to looks like one that does not exist (PERMISSION_DENIED).
    static func paymentFacts(bindingID: String, endUser: ResidentID, in db: Database) throws -> StoredPaymentFacts {
        guard let binding = try fetchBinding(id: bindingID, in: db)?.binding else { throw DomainError.notParty("binding") }
        try PartyRules.requireParty(endUser, authorizer: binding.authorizer, member: binding.member, of: "binding")
        guard let authorizer = try fetchPerson(binding.authorizer, in: db), let member = try fetchPerson(binding.member, in: db) else {
            throw StoreError(.database, "a bound person is missing from the registry")
        }
        var paid = Set(member.paidYears)
        paid.formUnion(try Int.fetchAll(db.cachedStatement(sql: "SELECT year FROM payment_year WHERE member = ?"), arguments: [binding.member.value]))
        return StoredPaymentFacts(binding: binding, authorizer: authorizer, member: member, paidYears: paid)
    }

    /// The facts for a quote, in one consistent snapshot.
    public func paymentFacts(bindingID: String, endUser: ResidentID) async throws -> StoredPaymentFacts {
        try await read { db in try Self.paymentFacts(bindingID: bindingID, endUser: endUser, in: db) }
    }

    /// Pays atomically: gathers the facts, lets `decide` (the core) plan, then moves the money
    /// (account parts, double-entry ledger), records the years, the payment and its receipt, and
    /// the idempotency record — all or nothing (R-PAY-9). Concurrent payments share one durable
    /// transaction, each in its own savepoint (group commit); this returns only after the
    /// transaction holding the payment is committed.
    public func pay(bindingID: String, endUser: ResidentID, key: IdempotencyKey?, paymentID: String, now: Int64, today: CivilDate,
                    sign: @escaping @Sendable (String) -> String,
                    decide: @escaping @Sendable (StoredPaymentFacts) throws -> PaymentPlan) async throws -> PaymentRecord {
        try await groupCommit.submit { db in
            if let previous = try Self.previousResult(key, in: db) {
                guard let record = try Self.fetchPayments(sql: "SELECT * FROM payment WHERE id = ?", [previous], in: db).first else {
                    throw StoreError(.database, "idempotent result vanished")
                }
                return record
            }
            let facts = try Self.paymentFacts(bindingID: bindingID, endUser: endUser, in: db)
            let plan = try decide(facts)
            let record = try Self.apply(plan, facts: facts, paymentID: paymentID, now: now, today: today, sign: sign, in: db)
            try Self.recordResult(key, result: paymentID, now: now, in: db)
            return record
        }
    }

    static func apply(_ plan: PaymentPlan, facts: StoredPaymentFacts, paymentID: String, now: Int64, today: CivilDate,
                      sign: (String) -> String, in db: Database) throws -> PaymentRecord {
        let binding = facts.binding
        guard let account = facts.authorizer.account else { throw StoreError(.database, "the authorizer has no account") }
        var current = account.currentYear
        var carry = account.carryOver
        for posting in plan.postings {
            switch posting.part {
            case .currentYear: current = current.subtracting(posting.amount)!
            case .carryOver: carry = carry.subtracting(posting.amount)!
            }
        }
        precondition(current >= .zero && carry >= .zero, "the core never plans a negative balance")
        try db.cachedStatement(sql: "UPDATE account SET current_year_fen = ?, carry_over_fen = ? WHERE id_number = ?").execute(
                       arguments: [current.fen, carry.fen, binding.authorizer.value])
        let seq = (try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(seq), 0) + 1 FROM payment")) ?? 1)
        let digits = String(seq)
        let receiptNumber = "GJ" + today.description.filter { $0 != "-" } + String(repeating: "0", count: max(0, 10 - digits.count)) + digits
        let external = plan.external
        let text = PaymentRecord.receiptText(number: receiptNumber, paymentID: paymentID, payer: binding.authorizer, member: binding.member,
                                             years: plan.quote.lines.map(\.year), total: plan.quote.total,
                                             external: external?.amount ?? .zero, region: binding.region, issuedAt: now)
        let code = sign(text)
        try db.cachedStatement(sql: """
            INSERT INTO payment (seq, id, binding_id, authorizer, member, member_name, authorizer_name, region_code, total_fen, account_fen,
              external_fen, external_reference, receipt_number, verification_code, enrolled_member, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [seq, paymentID, binding.id, binding.authorizer.value, binding.member.value, binding.memberName,
                             facts.authorizer.person.name, binding.region.value, plan.quote.total.fen, plan.quote.accountPart.fen,
                             external?.amount.fen ?? 0, external?.reference, receiptNumber, code, plan.enrollsMember, now])
        for line in plan.quote.lines {
            try db.cachedStatement(sql: """
                INSERT INTO payment_year (payment_id, member, year, amount_fen, category, late, benefit_start) VALUES (?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [paymentID, binding.member.value, line.year, line.amount.fen, line.category, line.isLate,
                                 line.benefitStart?.description])
        }
        for posting in plan.postings {
            try db.cachedStatement(sql: "INSERT INTO payment_posting (payment_id, part, amount_fen) VALUES (?, ?, ?)").execute(
                           arguments: [paymentID, posting.part.rawValue, posting.amount.fen])
        }
        var entries: [(account: String, amount: Money)] = plan.postings.map {
            (LedgerAccount.person(binding.authorizer, $0.part), Money(fen: -$0.amount.fen))
        }
        if let external { entries.append((LedgerAccount.external(binding.region), Money(fen: -external.amount.fen))) }
        entries.append((LedgerAccount.premiumCollection(binding.region), plan.quote.total))
        try post(movement: "payment:\(paymentID)", entries: entries, now: now, in: db)
        if plan.enrollsMember {
            // R-BIND-8: the payment enrolls the newborn as resident-insured in the binding's region.
            try db.cachedStatement(sql: "UPDATE person SET insurance_type = 'resident', status = 'normal', region_code = ?, updated_at = ? WHERE id_number = ?").execute(
                           arguments: [binding.region.value, now, binding.member.value])
        }
        return try fetchPayments(sql: "SELECT * FROM payment WHERE id = ?", [paymentID], in: db)[0]
    }

    /// Reads one payment.
    public func payment(id: String) async throws -> PaymentRecord? {
        try await read { db in try Self.fetchPayments(sql: "SELECT * FROM payment WHERE id = ?", [id], in: db).first }
    }

    /// Reads one payment by its receipt number.
    public func payment(receiptNumber: String) async throws -> PaymentRecord? {
        try await read { db in try Self.fetchPayments(sql: "SELECT * FROM payment WHERE receipt_number = ?", [receiptNumber], in: db).first }
    }

    /// Payments made by (`.authorizer`) or for (`.member`) a person, newest first, before the cursor.
    public func payments(of person: ResidentID, as perspective: BindingPerspective, before: Int64?, limit: Int) async throws -> [PaymentRecord] {
        let column = perspective == .authorizer ? "authorizer" : "member"
        return try await read { db in
            try Self.fetchPayments(sql: "SELECT * FROM payment WHERE \(column) = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
                                   [person.value, before ?? Int64.max, limit], in: db)
        }
    }

    static func fetchPayments(sql: String, _ arguments: StatementArguments, in db: Database) throws -> [PaymentRecord] {
        try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments).map { row in
            let id: String = row["id"]
            let lines = try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM payment_year WHERE payment_id = ? ORDER BY year"), arguments: [id]).map {
                PremiumLine(year: $0["year"], amount: Money(fen: $0["amount_fen"]), category: $0["category"], isLate: $0["late"],
                            benefitStart: ($0["benefit_start"] as String?).flatMap(CivilDate.init(iso:)))
            }
            let postings = try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM payment_posting WHERE payment_id = ? ORDER BY part DESC"), arguments: [id]).map {
                Posting(part: BalancePart(rawValue: $0["part"]) ?? .currentYear, amount: Money(fen: $0["amount_fen"]))
            }
            let externalFen: Int64 = row["external_fen"]
            guard let region = RegionCode(row["region_code"] as Int) else { throw StoreError(.database, "payment row does not decode") }
            return PaymentRecord(
                id: id, bindingID: row["binding_id"], authorizer: try storedID(row["authorizer"]), authorizerName: row["authorizer_name"],
                member: try storedID(row["member"]), memberName: row["member_name"], region: region, lines: lines,
                total: Money(fen: row["total_fen"]), postings: postings,
                external: externalFen > 0 ? ExternalPayment(amount: Money(fen: externalFen), reference: row["external_reference"]) : nil,
                receiptNumber: row["receipt_number"], verificationCode: row["verification_code"], createdAt: row["created_at"], seq: row["seq"])
        }
    }
}
