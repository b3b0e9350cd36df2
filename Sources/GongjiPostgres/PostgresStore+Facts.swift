import Foundation
import GongjiCore
import GongjiStorage
import Logging
import PostgresNIO

extension PostgresStore: StorageBackend {
    public var databaseSystem: String { "postgresql" }

    public func facts(_ request: FactsRequest) async throws -> StoredFacts {
        let logger = self.logger
        // A premium's facts (a quote's) are one statement, which sees one snapshot of its own:
        // no BEGIN and COMMIT around it.
        let oneStatement = if case .premium = request { true } else { false }
        return try await read(snapshot: !oneStatement) { c in try await Self.facts(request, locking: false, on: c, logger: logger) }
    }

    /// Runs the use cases in one READ COMMITTED transaction (`transaction`: again from the start
    /// after a deadlock, a serialization failure or a concurrent duplicate).
    public func run<Answer: Sendable>(_ useCases: [UseCase<Answer>], bulk: Bool) async throws -> [Answer] {
        let logger = self.logger
        return try await transaction { c in
            var answers: [Answer] = []
            for useCase in useCases { answers.append(try await Self.run(useCase, on: c, logger: logger)) }
            return answers
        }
    }

    /// One use case within the transaction: replay, or facts (under their locks), decision, write-set, key.
    static func run<Answer: Sendable>(_ useCase: UseCase<Answer>, on c: PostgresConnection, logger: Logger) async throws -> Answer {
        if let answer = try await replay(useCase, on: c, logger: logger) { return answer }
        let decision: Decision<Answer>
        do {
            decision = try useCase.decide(try await facts(useCase.facts, locking: true, on: c, logger: logger))
        } catch let refusal as any DecidedError {
            // The same request sent twice at once (a client's retry after a timeout, the first
            // still running): both looked for the key before either committed, the second then
            // waited for the first's locks and decided on what the first wrote — a transfer
            // already pending, a premium already paid — and would refuse what the first
            // accepted. The first's key committed with its effect: answer what it answered.
            if let answer = try await replay(useCase, on: c, logger: logger) { return answer }
            throw refusal
        }
        // The events go last, after the key: the journal's lock is then held only for their
        // insert and the commit (`insertEvents`).
        var writes = decision.writes
        let events = writes.events
        writes.writes.removeAll { if case .event = $0 { true } else { false } }
        let (answer, result) = decision.finish(try await apply(writes, on: c, logger: logger))
        if !events.isEmpty {
            // The key and the events in one statement, under the journal's lock.
            try await insertEvents(events, key: useCase.key.map { ($0, result) }, now: writes.now, on: c, logger: logger)
        } else if let key = useCase.key {
            try await c.run(
                """
                INSERT INTO idempotency (scope, request_id, fingerprint, result, created_at)
                VALUES (\(key.scope), \(key.requestID), \(key.fingerprint), \(result), \(decision.writes.now))
                """, logger: logger)
        }
        return answer
    }

    /// The answer recorded for the use case's key, replayed; nil when none is (or no key).
    static func replay<Answer: Sendable>(_ useCase: UseCase<Answer>, on c: PostgresConnection, logger: Logger) async throws -> Answer? {
        guard let key = useCase.key,
            let row = try await c.row(try Prepared<HotPath.RecordedAnswer>(key.scope, key.requestID), logger: logger)
        else { return nil }
        let stored = StoredResult(fingerprint: try row["fingerprint"].decode(Data.self), result: try row.string("result"))
        return try useCase.replayed(stored.result, try await facts(try useCase.replaying(stored), locking: false, on: c, logger: logger))
    }

    /// The facts of `request`; in a mutation (`locking`) the rows its decision depends on are
    /// locked first, in the order `FactsRequest` names (`FOR NO KEY UPDATE`: a foreign key's
    /// `KEY SHARE` does not wait on them).
    static func facts(_ request: FactsRequest, locking: Bool, on c: PostgresConnection, logger: Logger) async throws -> StoredFacts {
        var facts = StoredFacts()
        switch request {
        case .nothing:
            break
        case .premium(let bindingID):
            // The binding (its state) and the authorizer's account (its balance) stay as read until commit.
            if locking { try await lockBindingAndAccount(bindingID, on: c, logger: logger) }
            // One query: the binding, both people with their paid years and accounts, the years
            // paid through Gongji, the wallet's holding.
            guard let row = try await c.row(try Prepared<HotPath.PremiumFacts>(bindingID), logger: logger) else { break }
            let record = try decodeBinding(row)
            facts.binding = record
            facts.person = try decodePerson(row, prefix: "a_", id: record.binding.authorizer)
            facts.member = try decodePerson(row, prefix: "m_", id: record.binding.member)
            facts.memberPaymentYears = Set(try row["member_payment_years"].decode([Int64].self).map { Int($0) })
            facts.memberLongTermCareYears = Set(try row["member_ltc_years"].decode([Int64].self).map { Int($0) })
            facts.holdings = try decodeHolding(row, prefix: "holding_").map { [$0] } ?? []
        case .settlement(let code, let patient, let day):
            // Every account the split may debit (the patient's and each authorizer's), so that the
            // balances and this year's use of each binding stay as read until commit.
            if locking, let patient {
                try await c.run(try Prepared<HotPath.LockSettlementAccounts>(patient.value), logger: logger)
            }
            let row = try await c.row(
                try Prepared<HotPath.InstitutionAndPatient>(code?.value ?? "", patient?.value ?? ""), logger: logger)
            facts.institution = try row.flatMap { try $0.optionalString("code") == nil ? nil : try decodeInstitution($0, aliased: true) }
            guard let patient else { break }
            facts.person = try row.flatMap { try decodePerson($0, prefix: "patient_", id: patient) }
            for row in try await c.rows(
                try Prepared<HotPath.PatientBindings>(patient.value, Int64(day.year), day.description), logger: logger)
            {
                let binding = try decodeBinding(row).binding
                facts.patientBindings.append(
                    StoredFamilyBinding(
                        binding: binding, authorizerAccount: try decodeAccount(row, prefix: "", owner: binding.authorizer),
                        usedThisYear: try row.money("used_this_year"), usedToday: try row.money("used_today"),
                        walletHolding: try decodeHolding(row, prefix: "holding_")))
            }
        case .reversal(let institution, let settlementID):
            if locking {
                try await c.run(
                    """
                    SELECT seq FROM settlement WHERE institution_code = \(institution.value) AND settlement_id = \(settlementID) FOR NO KEY UPDATE
                    """, logger: logger)
            }
            facts.settlement = try await fetchSettlements(
                where: "s.institution_code = ($1)[1] AND s.settlement_id = ($1)[2]",
                [institution.value, settlementID], on: c, logger: logger
            ).first
            let owners = Array(Set(facts.settlement?.split.postings.map(\.owner) ?? []))
            if locking { try await lockAccounts(owners, on: c, logger: logger) }
            for owner in owners {
                if let account = try await fetchAccount(owner, on: c, logger: logger) { facts.accounts.append(account) }
            }
            let walletBindings = Array(Set(facts.settlement?.split.postings.filter(\.fromWallet).compactMap(\.bindingID) ?? [])).sorted()
            if !walletBindings.isEmpty {
                for bindingID in walletBindings {
                    facts.bindings += try await fetchBindings(where: "id = $1", [bindingID], on: c, logger: logger).map(\.binding)
                    facts.holdings += try await fetchHoldings(where: "binding_id = $1", [bindingID], on: c, logger: logger)
                }
            }
        case .newBinding(let authorizer, let member, let documents):
            // The authorizer's bindings (their count, R-BIND-4) stay as read until commit.
            if locking {
                try await c.run("SELECT id_number FROM person WHERE id_number = \(authorizer.value) FOR NO KEY UPDATE", logger: logger)
            }
            let people = try await fetchPersons([authorizer] + (member.map { [$0] } ?? []), on: c, logger: logger)
            facts.person = people[authorizer]
            facts.member = member.flatMap { people[$0] }
            facts.bindings = try await fetchBindings(where: "authorizer = $1", [authorizer.value], on: c, logger: logger).map(\.binding)
            if !documents.isEmpty {
                for row in try await c.rows(
                    """
                    SELECT d.id, d.side FROM document d JOIN document_uploader u ON u.document_id = d.id
                    WHERE d.id = ANY(\(documents)) AND u.uploader = \(authorizer.value)
                    """, logger: logger)
                {
                    if let side = DocumentSide(rawValue: try row.string("side")) { facts.documents[try row.string("id")] = side }
                }
            }
        case .binding(let id):
            facts.binding = try await fetchBindings(where: locking ? "id = $1 FOR NO KEY UPDATE" : "id = $1", [id], on: c, logger: logger)
                .first
        case .accountBindings(let authorizer):
            if locking {
                try await c.run("SELECT id_number FROM account WHERE id_number = \(authorizer.value) FOR NO KEY UPDATE", logger: logger)
            }
            facts.person = try await fetchPerson(authorizer, on: c, logger: logger)
            facts.bindings = try await fetchBindings(where: "authorizer = $1", [authorizer.value], on: c, logger: logger).map(\.binding)
        case .registration(let id):
            facts.person = try await fetchPerson(id, on: c, logger: logger)
            facts.bindings = try await fetchBindings(
                where: "(authorizer = $1 OR member = $1) AND status IN ('pending', 'active')", [id.value],
                on: c, logger: logger
            ).map(\.binding)
            // R-XP-6: the wallets of the bindings that may end; their authorizers' accounts locked first.
            let ids = facts.bindings.map(\.id)
            if !ids.isEmpty {
                let held = try await c.rows(
                    """
                    SELECT binding_id FROM wallet_holding WHERE binding_id = ANY(\(ids)) AND current_year_fen + carry_over_fen > 0
                    UNION SELECT binding_id FROM wallet_transfer WHERE binding_id = ANY(\(ids)) AND status = 'pending'
                    """, logger: logger
                ).map { try $0.string("binding_id") }
                let owners = facts.bindings.filter { held.contains($0.id) }.map(\.authorizer)
                if locking, !held.isEmpty {
                    // The order every wallet use case keeps: the bindings, the accounts, the transfers.
                    try await c.run(
                        "SELECT id FROM binding WHERE id = ANY(\(Array(Set(held)).sorted())) ORDER BY id FOR NO KEY UPDATE", logger: logger)
                    try await lockAccounts(owners, on: c, logger: logger)
                }
                for bindingID in Set(held).sorted() {
                    facts.holdings += try await fetchHoldings(where: "binding_id = $1", [bindingID], on: c, logger: logger)
                    facts.transfers += try await fetchTransfers(
                        where: "binding_id = $1 AND status = 'pending'\(locking ? " FOR UPDATE" : "")", [bindingID], on: c, logger: logger)
                }
                for owner in Set(owners).sorted(by: { $0.value < $1.value }) {
                    if let account = try await fetchAccount(owner, on: c, logger: logger) { facts.accounts.append(account) }
                }
            }
        case .credit(let id, let reference):
            if locking { try await lockAccounts([id], on: c, logger: logger) }
            facts.person = try await fetchPerson(id, on: c, logger: logger)
            facts.referenceOwner = try await c.row("SELECT id_number FROM account_credit WHERE reference = \(reference)", logger: logger)
                .map { try $0.id("id_number") }
        case .institution(let code):
            facts.institution = try await fetchInstitution(code, on: c, logger: logger)
        case .rollover(let year):
            // One rollover at a time; every account it moves is locked.
            if locking { try await c.run("LOCK TABLE year_rollover IN EXCLUSIVE MODE", logger: logger) }
            facts.lastRolledYear = try await c.row("SELECT MAX(year) AS y FROM year_rollover", logger: logger)?.optionalInt("y").map(
                Int.init)
            facts.oldestAccountYear = try await c.row("SELECT MIN(year) AS y FROM account", logger: logger)?.optionalInt("y").map(Int.init)
            facts.accounts = try await c.rows(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT * FROM account WHERE year < $1 ORDER BY id_number\(locking ? " FOR NO KEY UPDATE" : "")
                        """,
                    binds: {
                        var b = PostgresBindings()
                        b.append(Int64(year))
                        return b
                    }()), logger: logger
            ).map { row in
                PersonalAccount(
                    owner: try row.id("id_number"), year: Int(try row.int("year")), currentYear: try row.money("current_year_fen"),
                    carryOver: try row.money("carry_over_fen"))
            }
        case .document(let id):
            if let row = try await c.row("SELECT side FROM document WHERE id = \(id)", logger: logger) {
                facts.recordedSide = .some(DocumentSide(rawValue: try row.string("side")))
            }
        case .documentHolds(let cutoff):
            // One daemon at a time does the clean-up; the others find the lock taken and skip.
            if locking {
                facts.cleanupLockHeld =
                    try await c.row(
                        "SELECT pg_try_advisory_xact_lock(\(unescaped: AdvisoryLock.cleanup.arguments)) AS locked",
                        logger: logger)?.bool("locked") == true
                guard facts.cleanupLockHeld else { break }
            }
            facts.documentHolds = try await c.rows(
                """
                SELECT u.document_id, u.uploader, u.uploaded_at,
                  EXISTS (SELECT 1 FROM binding b WHERE b.authorizer = u.uploader AND (b.front_document = u.document_id OR b.back_document = u.document_id)) AS used
                FROM document_uploader u WHERE u.uploaded_at <= \(cutoff)
                """, logger: logger
            ).map { row in
                DocumentHold(
                    documentID: try row.string("document_id"), uploader: try row.id("uploader"), uploadedAt: try row.int("uploaded_at"),
                    isReferenced: try row.bool("used"))
            }
        case .wallet, .walletTransfer, .transfer, .dueTransfers, .walletTransfers, .endingBinding, .walletMovements, .holdingsFrom:
            try await walletFacts(request, locking: locking, into: &facts, on: c, logger: logger)
        case .payment(let id):
            facts.payment = try await fetchPayments(where: "id = ANY($1)", [id], on: c, logger: logger).first
        case .numberedSettlement(let seq):
            facts.settlement = try await fetchSettlements(where: "s.seq = ($1)[1]::bigint", [String(seq)], on: c, logger: logger).first
        }
        return facts
    }
}
