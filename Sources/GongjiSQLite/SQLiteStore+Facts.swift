import Foundation
import GRDB
import GongjiCore
import GongjiStorage

extension SQLiteStore: StorageBackend {
    public var databaseSystem: String { "sqlite" }

    public func facts(_ request: FactsRequest) async throws -> StoredFacts {
        try readNow { db in try Self.facts(request, in: db) }
    }

    /// Runs the use cases in one transaction: `bulk` in a write transaction of its own, otherwise
    /// in a savepoint of a group-committed transaction, acknowledged only after its commit.
    public func run<Answer: Sendable>(_ useCases: [UseCase<Answer>], bulk: Bool) async throws -> [Answer] {
        let body: @Sendable (Database) throws -> [Answer] = { db in try useCases.map { try Self.run($0, in: db) } }
        return bulk ? try await write(body) : try await groupCommit.submit(body)
    }

    /// One use case within the transaction: replay, or facts, decision, write-set, key.
    static func run<Answer: Sendable>(_ useCase: UseCase<Answer>, in db: Database) throws -> Answer {
        if let key = useCase.key,
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT fingerprint, result FROM idempotency WHERE scope = ? AND request_id = ?"),
                arguments: [key.scope, key.requestID])
        {
            let stored = StoredResult(fingerprint: row["fingerprint"], result: row["result"])
            return try useCase.replayed(stored.result, try facts(try useCase.replaying(stored), in: db))
        }
        let decision = try useCase.decide(try facts(useCase.facts, in: db))
        let (answer, result) = decision.finish(try apply(decision.writes, in: db))
        try recordResult(useCase.key, result: result, now: decision.writes.now, in: db)
        return answer
    }

    /// Within the mutation's transaction: records the result of a request under its key.
    static func recordResult(_ key: IdempotencyKey?, result: String, now: Int64, in db: Database) throws {
        guard let key else { return }
        try db.cachedStatement(sql: "INSERT INTO idempotency (scope, request_id, fingerprint, result, created_at) VALUES (?, ?, ?, ?, ?)")
            .execute(arguments: [key.scope, key.requestID, key.fingerprint, result, now])
    }

    /// The facts of `request` (SQLite has one writer: a write transaction needs no row locks).
    static func facts(_ request: FactsRequest, in db: Database) throws -> StoredFacts {
        var facts = StoredFacts()
        switch request {
        case .nothing:
            break
        case .premium(let bindingID):
            guard let record = try fetchBinding(id: bindingID, in: db) else { break }
            facts.binding = record
            facts.person = try fetchPerson(record.binding.authorizer, in: db)
            facts.member = try fetchPerson(record.binding.member, in: db)
            facts.memberPaymentYears = try Int.fetchSet(
                db.cachedStatement(sql: "SELECT year FROM payment_year WHERE member = ? AND kind = 'resident'"),
                arguments: [record.binding.member.value])
            facts.memberLongTermCareYears = try Int.fetchSet(
                db.cachedStatement(sql: "SELECT year FROM payment_year WHERE member = ? AND kind = 'long_term_care'"),
                arguments: [record.binding.member.value])
            facts.holdings = try fetchHoldings(where: "binding_id = ?", [bindingID], in: db)
        case .settlement(let institution, let patient, let day):
            facts.institution = try institution.flatMap { try fetchInstitution($0, in: db) }
            guard let patient else { break }
            facts.person = try fetchPerson(patient, in: db)
            for record in try fetchBindings(where: "member = ? ORDER BY seq", [patient.value], in: db) {
                let binding = record.binding
                let used = try Row.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT COALESCE(SUM(p.amount_fen), 0) AS year_fen,
                                   COALESCE(SUM(CASE WHEN s.settled_on = ?3 THEN p.amount_fen ELSE 0 END), 0) AS day_fen
                            FROM settlement_posting p JOIN settlement s ON s.seq = p.settlement_seq
                            WHERE p.binding_id = ?1 AND p.settled_year = ?2 AND s.status = 'settled'
                            """), arguments: [binding.id, day.year, day.description])
                facts.patientBindings.append(
                    StoredFamilyBinding(
                        binding: binding, authorizerAccount: try fetchAccount(binding.authorizer, in: db),
                        usedThisYear: Money(fen: used?["year_fen"] ?? 0), usedToday: Money(fen: used?["day_fen"] ?? 0),
                        walletHolding: try fetchHoldings(where: "binding_id = ?", [binding.id], in: db).first))
            }
        case .reversal(let institution, let settlementID):
            facts.settlement = try fetchSettlements(
                where: "s.institution_code = ? AND s.settlement_id = ?", [institution.value, settlementID],
                in: db
            ).first
            for owner in Set(facts.settlement?.split.postings.map(\.owner) ?? []) {
                if let account = try fetchAccount(owner, in: db) { facts.accounts.append(account) }
            }
            for bindingID in Set(facts.settlement?.split.postings.filter(\.fromWallet).compactMap(\.bindingID) ?? []).sorted() {
                if let record = try fetchBinding(id: bindingID, in: db) { facts.bindings.append(record.binding) }
                facts.holdings += try fetchHoldings(where: "binding_id = ?", [bindingID], in: db)
            }
        case .newBinding(let authorizer, let member, let documents):
            facts.person = try fetchPerson(authorizer, in: db)
            facts.member = try member.flatMap { try fetchPerson($0, in: db) }
            facts.bindings = try fetchBindings(where: "authorizer = ?", [authorizer.value], in: db).map(\.binding)
            for document in documents {
                if let side = try String.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT d.side FROM document d JOIN document_uploader u ON u.document_id = d.id WHERE d.id = ? AND u.uploader = ?
                            """), arguments: [document, authorizer.value]
                ).flatMap(DocumentSide.init(rawValue:)) {
                    facts.documents[document] = side
                }
            }
        case .binding(let id):
            facts.binding = try fetchBinding(id: id, in: db)
        case .accountBindings(let authorizer):
            facts.person = try fetchPerson(authorizer, in: db)
            facts.bindings = try fetchBindings(where: "authorizer = ?", [authorizer.value], in: db).map(\.binding)
        case .registration(let id):
            facts.person = try fetchPerson(id, in: db)
            facts.bindings = try fetchBindings(
                where: "(authorizer = ?1 OR member = ?1) AND status IN ('pending', 'active')", [id.value],
                in: db
            ).map(\.binding)
            for binding in facts.bindings {
                facts.holdings += try fetchHoldings(where: "binding_id = ? AND current_year_fen + carry_over_fen > 0", [binding.id], in: db)
                facts.transfers += try fetchTransfers(where: "binding_id = ? AND status = 'pending'", [binding.id], in: db)
            }
            let owners = Set(
                (facts.holdings.map(\.bindingID) + facts.transfers.map(\.bindingID)).compactMap { id in
                    facts.bindings.first { $0.id == id }?.authorizer
                })
            for owner in owners.sorted(by: { $0.value < $1.value }) {
                if let account = try fetchAccount(owner, in: db) { facts.accounts.append(account) }
            }
        case .credit(let id, let reference):
            facts.person = try fetchPerson(id, in: db)
            facts.referenceOwner = try String.fetchOne(
                db.cachedStatement(sql: "SELECT id_number FROM account_credit WHERE reference = ?"),
                arguments: [reference]
            ).map(ResidentID.stored)
        case .institution(let code):
            facts.institution = try fetchInstitution(code, in: db)
        case .rollover(let year):
            facts.lastRolledYear = try Int.fetchOne(db.cachedStatement(sql: "SELECT MAX(year) FROM year_rollover"))
            facts.oldestAccountYear = try Int.fetchOne(db.cachedStatement(sql: "SELECT MIN(year) FROM account"))
            facts.accounts = try Row.fetchAll(
                db.cachedStatement(sql: "SELECT * FROM account WHERE year < ? ORDER BY id_number"),
                arguments: [year]
            ).map(decodeAccount)
        case .document(let id):
            if let side = try String.fetchOne(db.cachedStatement(sql: "SELECT side FROM document WHERE id = ?"), arguments: [id]) {
                facts.recordedSide = .some(DocumentSide(rawValue: side))
            }
        case .documentHolds(let cutoff):
            facts.documentHolds = try Row.fetchAll(
                db,
                sql: """
                    SELECT u.document_id, u.uploader, u.uploaded_at,
                      EXISTS (SELECT 1 FROM binding b WHERE b.authorizer = u.uploader AND (b.front_document = u.document_id OR b.back_document = u.document_id)) AS used
                    FROM document_uploader u WHERE u.uploaded_at <= ?
                    """, arguments: [cutoff]
            ).map { row in
                DocumentHold(
                    documentID: row["document_id"], uploader: try ResidentID.stored(row["uploader"]), uploadedAt: row["uploaded_at"],
                    isReferenced: row["used"])
            }
        case .wallet, .walletTransfer, .transfer, .dueTransfers, .walletTransfers, .endingBinding, .walletMovements, .holdingsFrom:
            try walletFacts(request, into: &facts, in: db)
        case .payment(let id):
            facts.payment = try fetchPayments(where: "id = ?", [id], in: db).first
        case .numberedSettlement(let seq):
            facts.settlement = try fetchSettlements(where: "s.seq = ?", [seq], in: db).first
        }
        return facts
    }
}
