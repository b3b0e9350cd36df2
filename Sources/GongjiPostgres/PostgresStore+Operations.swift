import Foundation
import GongjiCore
import GongjiStore
import Logging
import PostgresNIO

// The use-case operations of `FamilyAccountStore`, in the same shape as the SQLite store's: gather
// the facts, let the core plan, apply the plan — in one READ COMMITTED transaction that locks the rows it decides on first.

extension PostgresStore {
    /// Every keyed mutation: a request seen before gets its stored result back (`replay`),
    /// otherwise `body` runs and its result is recorded with the key — in one transaction.
    func once<Result: Sendable>(_ key: IdempotencyKey?, now: Int64,
                                replay: @escaping @Sendable (String, PostgresConnection) async throws -> Result,
                                _ body: @escaping @Sendable (PostgresConnection) async throws -> (result: Result, id: String)) async throws -> Result {
        let logger = self.logger
        return try await transaction { c in
            if let key, let row = try await c.row("""
                SELECT fingerprint, result FROM idempotency WHERE scope = \(key.scope) AND request_id = \(key.requestID)
                """, logger: logger) {
                try Idempotency.checkRetry(of: key, storedFingerprint: try row["fingerprint"].decode(Data.self))
                return try await replay(try row.string("result"), c)
            }
            let (result, id) = try await body(c)
            if let key {
                try await c.run("""
                    INSERT INTO idempotency (scope, request_id, fingerprint, result, created_at)
                    VALUES (\(key.scope), \(key.requestID), \(key.fingerprint), \(id), \(now))
                    """, logger: logger)
            }
            return result
        }
    }

    /// An account's new balances and the movement that explains them, in one statement.
    static func apply(_ account: PersonalAccount, _ movement: LedgerMovement, now: Int64, on c: PostgresConnection, logger: Logger) async throws {
        var writes = PostgresWrites()
        writes.updateAccount(account)
        writes.post(movement, now: now)
        _ = try await writes.run(on: c, logger: logger)
    }

    // MARK: Registry

    /// A person with paid years and account, in one round trip.
    static func fetchPerson(_ id: ResidentID, on c: PostgresConnection, logger: Logger) async throws -> PersonRecord? {
        try await fetchPersons([id], on: c, logger: logger)[id]
    }

    /// People with their paid years and accounts, in one round trip; those not registered are absent.
    static func fetchPersons(_ ids: [ResidentID], on c: PostgresConnection, logger: Logger) async throws -> [ResidentID: PersonRecord] {
        let wanted = Dictionary(ids.map { ($0.value, $0) }, uniquingKeysWith: { first, _ in first })
        var found: [ResidentID: PersonRecord] = [:]
        for row in try await c.rows("""
            SELECT \(unescaped: personColumns(person: "p", account: "a", prefix: "")) FROM person p LEFT JOIN account a ON a.id_number = p.id_number
            WHERE p.id_number = ANY(\(Array(wanted.keys)))
            """, logger: logger) {
            guard let id = wanted[try row.string("id_number")], let record = try decodePerson(row, prefix: "", id: id) else { continue }
            found[id] = record
        }
        return found
    }

    /// The columns `decodePerson` reads, each named with `prefix`: a person (table alias `person`),
    /// its paid years and its account (alias `account`, joined on the ID number, maybe absent).
    static func personColumns(person p: String, account a: String, prefix: String) -> String {
        """
        \(p).id_number AS \(prefix)id_number, \(p).name AS \(prefix)name, \(p).insurance_type AS \(prefix)insurance_type,
        \(p).status AS \(prefix)status, \(p).region_code AS \(prefix)region_code, \(p).special_category AS \(prefix)special_category,
        ARRAY(SELECT y.year FROM person_paid_year y WHERE y.id_number = \(p).id_number ORDER BY y.year) AS \(prefix)paid_years,
        \(a).year AS \(prefix)account_year, \(a).current_year_fen AS \(prefix)current_year_fen, \(a).carry_over_fen AS \(prefix)carry_over_fen
        """
    }

    /// The person of `personColumns(…, prefix:)` in `row`, or nil when the join found none.
    static func decodePerson(_ row: PostgresRandomAccessRow, prefix: String, id: ResidentID) throws -> PersonRecord? {
        guard try row.optionalString(prefix + "id_number") != nil else { return nil }
        guard let type = InsuranceType(rawValue: try row.string(prefix + "insurance_type")),
              let status = InsuranceStatus(rawValue: try row.string(prefix + "status")),
              let region = RegionCode(Int(try row.int(prefix + "region_code")))
        else { throw StoreError(.database, "person row \(id.masked) does not decode") }
        let person = Person(id: id, name: try row.string(prefix + "name"), insuranceType: type, status: status, region: region,
                            specialCategory: try row.optionalString(prefix + "special_category"))
        let years = try row[prefix + "paid_years"].decode([Int64].self).map { Int($0) }
        return PersonRecord(person: person, paidYears: years, account: try decodeAccount(row, prefix: prefix, owner: id))
    }

    /// The account of `owner` read as `account_year`, `current_year_fen` and `carry_over_fen`
    /// (each named with `prefix`), or nil when a join found none.
    static func decodeAccount(_ row: PostgresRandomAccessRow, prefix: String, owner: ResidentID) throws -> PersonalAccount? {
        try row[prefix + "account_year"].decode(Int64?.self).map { year in
            PersonalAccount(owner: owner, year: Int(year), currentYear: try row.money(prefix + "current_year_fen"),
                            carryOver: try row.money(prefix + "carry_over_fen"))
        }
    }

    static func fetchAccount(_ id: ResidentID, on c: PostgresConnection, logger: Logger) async throws -> PersonalAccount? {
        guard let row = try await c.row("SELECT * FROM account WHERE id_number = \(id.value)", logger: logger) else { return nil }
        return PersonalAccount(owner: id, year: Int(try row.int("year")), currentYear: try row.money("current_year_fen"),
                               carryOver: try row.money("carry_over_fen"))
    }

    public func person(_ id: ResidentID) async throws -> PersonRecord? {
        let logger = self.logger
        return try await read(snapshot: false) { c in try await Self.fetchPerson(id, on: c, logger: logger) }
    }

    static func upsert(_ person: Person, paidYears: [Int], today: CivilDate, now: Int64, on c: PostgresConnection, logger: Logger) async throws -> Bool {
        let existed = try await c.row("SELECT 1 AS one FROM person WHERE id_number = \(person.id.value)", logger: logger) != nil
        try await c.run("""
            INSERT INTO person (id_number, name, insurance_type, status, region_code, special_category, updated_at)
            VALUES (\(person.id.value), \(person.name), \(person.insuranceType.rawValue), \(person.status.rawValue), \(Int64(person.region.value)),
                    \(person.specialCategory), \(now))
            ON CONFLICT (id_number) DO UPDATE SET name = excluded.name, insurance_type = excluded.insurance_type, status = excluded.status,
              region_code = excluded.region_code, special_category = excluded.special_category, updated_at = excluded.updated_at
            """, logger: logger)
        try await c.run("DELETE FROM person_paid_year WHERE id_number = \(person.id.value)", logger: logger)
        for year in Set(paidYears) {
            try await c.run("INSERT INTO person_paid_year (id_number, year) VALUES (\(person.id.value), \(Int64(year)))", logger: logger)
        }
        if let account = RegistryRules.accountToOpen(for: person, today: today) {
            try await c.run("""
                INSERT INTO account (id_number, year, current_year_fen, carry_over_fen)
                VALUES (\(account.owner.value), \(Int64(account.year)), \(account.currentYear.fen), \(account.carryOver.fen))
                ON CONFLICT (id_number) DO NOTHING
                """, logger: logger)
        }
        // R-BIND-11: the registry change ends the person's open bindings it no longer allows.
        let open = try await fetchBindings(where: "(authorizer = $1 OR member = $1) AND status IN ('pending', 'active')", [person.id.value],
                                           on: c, logger: logger)
        for ended in BindingRules.endedByRegistry(person, open: open.map(\.binding)) {
            try await update(ended, now: now, on: c, logger: logger)
            try await recordEvent(ended, actor: ChangeActor(certificateIdentity: "registry", endUser: nil, requestID: nil), reason: ended.endReason,
                                  now: now, on: c, logger: logger)
        }
        return !existed
    }

    public func upsertPerson(_ person: Person, paidYears: [Int], key: IdempotencyKey?, today: CivilDate,
                             now: Int64) async throws -> (record: PersonRecord, created: Bool) {
        let logger = self.logger
        return try await once(key, now: now, replay: { previous, c in
            guard let record = try await Self.fetchPerson(person.id, on: c, logger: logger) else { throw StoreError(.database, "person vanished") }
            return (record, previous == "created")
        }, { c in
            let created = try await Self.upsert(person, paidYears: paidYears, today: today, now: now, on: c, logger: logger)
            guard let record = try await Self.fetchPerson(person.id, on: c, logger: logger) else { throw StoreError(.database, "person vanished") }
            return ((record, created), created ? "created" : "replaced")
        })
    }

    static func applyCredit(_ id: ResidentID, amount: Money, part: BalancePart, reference: String, now: Int64,
                            on c: PostgresConnection, logger: Logger) async throws -> Bool {
        let owner = try await c.row("SELECT id_number FROM account_credit WHERE reference = \(reference)", logger: logger)
        let plan = try CreditRules.plan(credit: id, record: try await fetchPerson(id, on: c, logger: logger), amount: amount, part: part,
                                        reference: reference,
                                        referenceOwner: try owner.map { try $0.id("id_number") })
        guard case .apply(let account, let movement) = plan else { return false }
        var writes = PostgresWrites()
        writes.add { b in
            """
            INSERT INTO account_credit (reference, id_number, amount_fen, created_at)
            VALUES (\(b.placeholder(reference)), \(b.placeholder(id.value)), \(b.placeholder(amount.fen)), \(b.placeholder(now)))
            """
        }
        writes.updateAccount(account)
        writes.post(movement, now: now)
        _ = try await writes.run(on: c, logger: logger)
        return true
    }

    public func credit(_ id: ResidentID, amount: Money, part: BalancePart, reference: String, key: IdempotencyKey?,
                       now: Int64) async throws -> (account: PersonalAccount, applied: Bool) {
        let logger = self.logger
        return try await once(key, now: now, replay: { previous, c in
            guard let account = try await Self.fetchAccount(id, on: c, logger: logger) else { throw StoreError(.database, "account vanished") }
            return (account, previous == "applied")
        }, { c in
            try await Self.lockAccounts([id], on: c, logger: logger)
            let applied = try await Self.applyCredit(id, amount: amount, part: part, reference: reference, now: now, on: c, logger: logger)
            guard let account = try await Self.fetchAccount(id, on: c, logger: logger) else { throw StoreError(.database, "account vanished") }
            return ((account, applied), applied ? "applied" : "skipped")
        })
    }

    public func importRows(_ rows: [RegistryRow], today: CivilDate, now: Int64) async throws -> ImportSummary {
        let logger = self.logger
        return try await transaction { c in
            var summary = ImportSummary()
            for row in rows {
                switch row {
                case .person(let person, let years):
                    _ = try await Self.upsert(person, paidYears: years, today: today, now: now, on: c, logger: logger)
                    summary.personsUpserted += 1
                case .credit(let id, let amount, let part, let reference):
                    try await Self.lockAccounts([id], on: c, logger: logger)
                    if try await Self.applyCredit(id, amount: amount, part: part, reference: reference, now: now, on: c, logger: logger) {
                        summary.creditsApplied += 1
                    } else {
                        summary.creditsSkipped += 1
                    }
                case .institution(let institution):
                    _ = try await Self.upsert(institution, now: now, on: c, logger: logger)
                    summary.institutionsUpserted += 1
                }
            }
            return summary
        }
    }

    public func rollOver(into year: Int, key: IdempotencyKey?, today: CivilDate, now: Int64) async throws -> Int {
        let logger = self.logger
        return try await once(key, now: now, replay: { previous, _ in Int(previous) ?? 0 }, { c in
            // One rollover at a time; each account row is locked as it is updated.
            try await c.run("LOCK TABLE year_rollover IN EXCLUSIVE MODE", logger: logger)
            let lastRolled = try await c.row("SELECT MAX(year) AS y FROM year_rollover", logger: logger)?.optionalInt("y").map(Int.init)
            let oldest = try await c.row("SELECT MIN(year) AS y FROM account", logger: logger)?.optionalInt("y").map(Int.init)
            try YearEnd.checkRollover(into: year, lastRolled: lastRolled, oldestAccountYear: oldest, today: today)
            let rows = try await c.rows("SELECT * FROM account WHERE year < \(Int64(year)) ORDER BY id_number FOR NO KEY UPDATE", logger: logger)
            for row in rows {
                let account = PersonalAccount(owner: try row.id("id_number"), year: Int(try row.int("year")),
                                              currentYear: try row.money("current_year_fen"), carryOver: try row.money("carry_over_fen"))
                let (rolled, movement) = try YearEnd.rollOver(account, into: year)
                try await Self.apply(rolled, movement, now: now, on: c, logger: logger)
            }
            try await c.run("INSERT INTO year_rollover (year, accounts, at) VALUES (\(Int64(year)), \(Int64(rows.count)), \(now))", logger: logger)
            return (rows.count, String(rows.count))
        })
    }

    public func availabilityOverrides() async throws -> [RegionCode: Bool] {
        let logger = self.logger
        return try await read { c in
            var result: [RegionCode: Bool] = [:]
            for row in try await c.rows("SELECT region_code, suspended FROM region_availability", logger: logger) {
                if let region = RegionCode(Int(try row.int("region_code"))) { result[region] = try row.bool("suspended") }
            }
            return result
        }
    }

    public func setAvailability(_ region: RegionCode, suspended: Bool, key: IdempotencyKey?, now: Int64) async throws {
        let logger = self.logger
        try await once(key, now: now, replay: { _, _ in () }, { c in
            try await c.run("""
                INSERT INTO region_availability (region_code, suspended, updated_at) VALUES (\(Int64(region.value)), \(suspended), \(now))
                ON CONFLICT (region_code) DO UPDATE SET suspended = excluded.suspended, updated_at = excluded.updated_at
                """, logger: logger)
            return ((), suspended ? "suspended" : "resumed")
        })
    }

    // MARK: Bindings

    /// Bindings matching `condition` (a SQL fragment with `$1`, `$2` … for `arguments`).
    static func fetchBindings(where condition: String, _ arguments: [String], on c: PostgresConnection, logger: Logger) async throws -> [BindingRecord] {
        var bindings = PostgresBindings()
        for argument in arguments { bindings.append(argument) }
        return try await c.rows(PostgresQuery(unsafeSQL: "SELECT * FROM binding WHERE \(condition)", binds: bindings), logger: logger).map(decodeBinding)
    }

    static func decodeBinding(_ row: PostgresRandomAccessRow) throws -> BindingRecord {
        guard let relationship = Relationship(rawValue: try row.string("relationship")), let status = BindingStatus(rawValue: try row.string("status")),
              let region = RegionCode(Int(try row.int("region_code"))), let start = CivilDate(iso: try row.string("start_date"))
        else { throw StoreError(.database, "binding row does not decode") }
        let version = try row.optionalString("commitment_version")
        var binding = Binding(
            id: try row.string("id"), authorizer: try row.id("authorizer"), member: try row.id("member"), memberName: try row.string("member_name"),
            relationship: relationship, region: region, startDate: start, status: status, isNewborn: try row.bool("newborn"),
            commitment: try version.map { CommitmentAcceptance(version: $0, acceptedAtUnix: try row.optionalInt("commitment_accepted_at") ?? 0) },
            frontDocument: try row.optionalString("front_document"), backDocument: try row.optionalString("back_document"),
            rejectionReason: try row.optionalString("rejection_reason"), medicalLimit: try row.optionalInt("medical_limit_fen").map(Money.init(fen:)))
        binding.endedBy = try row.optionalString("ended_by").flatMap(BindingEndParty.init(rawValue:))
        binding.endReason = try row.optionalString("end_reason")
        return BindingRecord(binding: binding, createdAt: try row.int("created_at"), updatedAt: try row.int("updated_at"), seq: try row.int("seq"))
    }

    static func update(_ binding: Binding, now: Int64, on c: PostgresConnection, logger: Logger) async throws {
        try await c.run("""
            UPDATE binding SET status = \(binding.status.rawValue), rejection_reason = \(binding.rejectionReason),
              medical_limit_fen = \(binding.medicalLimit?.fen), ended_by = \(binding.endedBy?.rawValue), end_reason = \(binding.endReason),
              updated_at = \(now) WHERE id = \(binding.id)
            """, logger: logger)
    }

    static func recordEvent(_ binding: Binding, actor: ChangeActor, reason: String?, now: Int64, on c: PostgresConnection, logger: Logger) async throws {
        try await c.run("""
            INSERT INTO binding_event (binding_id, status, certificate_identity, end_user, request_id, reason, at)
            VALUES (\(binding.id), \(binding.status.rawValue), \(actor.certificateIdentity), \(actor.endUser?.value), \(actor.requestID), \(reason), \(now))
            """, logger: logger)
    }

    static func replayBinding(_ id: String, _ c: PostgresConnection, logger: Logger) async throws -> BindingRecord {
        guard let record = try await fetchBindings(where: "id = $1", [id], on: c, logger: logger).first else {
            throw StoreError(.database, "idempotent result vanished")
        }
        return record
    }

    public func createBinding(_ request: BindingRequest, endUser: ResidentID, id: String, key: IdempotencyKey?, actor: ChangeActor,
                              policies: PolicyBook, today: CivilDate, now: Int64) async throws -> BindingRecord {
        let logger = self.logger
        return try await once(key, now: now, replay: { previous, c in try await Self.replayBinding(previous, c, logger: logger) }, { c in
            // The authorizer's bindings (their count, R-BIND-4) stay as read until commit.
            try await c.run("SELECT id_number FROM person WHERE id_number = \(endUser.value) FOR NO KEY UPDATE", logger: logger)
            var documents: [String: DocumentSide] = [:]
            for document in [request.frontDocument, request.backDocument].compactMap({ $0 }) where !document.isEmpty {
                if let row = try await c.row("""
                    SELECT d.side FROM document d JOIN document_uploader u ON u.document_id = d.id
                    WHERE d.id = \(document) AND u.uploader = \(endUser.value)
                    """, logger: logger), let side = DocumentSide(rawValue: try row.string("side")) {
                    documents[document] = side
                }
            }
            let member = try? ResidentID.parse(request.memberIDNumber, today: today)
            var memberRecord: PersonRecord? = nil
            if let member { memberRecord = try await Self.fetchPerson(member, on: c, logger: logger) }
            let facts = BindingFacts(
                actor: endUser, authorizer: try await Self.fetchPerson(endUser, on: c, logger: logger), member: memberRecord,
                authorizerBindings: try await Self.fetchBindings(where: "authorizer = $1", [endUser.value], on: c, logger: logger).map(\.binding),
                documents: documents, policies: policies, today: today)
            let binding = try BindingRules.create(request, facts: facts, id: id)
            guard let row = try await c.row("""
                INSERT INTO binding (id, authorizer, member, member_name, relationship, region_code, start_date, status, newborn,
                  commitment_version, commitment_accepted_at, front_document, back_document, medical_limit_fen, created_at, updated_at)
                VALUES (\(binding.id), \(binding.authorizer.value), \(binding.member.value), \(binding.memberName), \(binding.relationship.rawValue),
                  \(Int64(binding.region.value)), \(binding.startDate.description), \(binding.status.rawValue), \(binding.isNewborn),
                  \(binding.commitment?.version), \(binding.commitment?.acceptedAtUnix), \(binding.frontDocument), \(binding.backDocument),
                  \(binding.medicalLimit?.fen), \(now), \(now))
                RETURNING seq
                """, logger: logger) else { throw StoreError(.database, "binding insert returned nothing") }
            try await Self.recordEvent(binding, actor: actor, reason: nil, now: now, on: c, logger: logger)
            return (BindingRecord(binding: binding, createdAt: now, updatedAt: now, seq: try row.int("seq")), binding.id)
        })
    }

    public func changeBinding(id: String, _ change: BindingRules.Change, key: IdempotencyKey?, actor: ChangeActor,
                              now: Int64) async throws -> BindingRecord {
        let logger = self.logger
        return try await once(key, now: now, replay: { previous, c in try await Self.replayBinding(previous, c, logger: logger) }, { c in
            let current = try await Self.fetchBindings(where: "id = $1 FOR NO KEY UPDATE", [id], on: c, logger: logger).first
            let changed = try BindingRules.apply(change, to: current?.binding, id: id)
            try await Self.update(changed, now: now, on: c, logger: logger)
            try await Self.recordEvent(changed, actor: actor, reason: change.reason, now: now, on: c, logger: logger)
            return (BindingRecord(binding: changed, createdAt: current!.createdAt, updatedAt: now, seq: current!.seq), id)
        })
    }

    public func binding(id: String) async throws -> BindingRecord? {
        let logger = self.logger
        return try await read(snapshot: false) { c in try await Self.fetchBindings(where: "id = $1", [id], on: c, logger: logger).first }
    }

    public func bindings(of person: ResidentID, as perspective: BindingPerspective, before: Int64?, limit: Int) async throws -> [BindingRecord] {
        let logger = self.logger
        let column = perspective == .authorizer ? "authorizer" : "member"
        return try await read { c in
            try await Self.fetchBindings(where: "\(column) = $1 AND seq < $2::bigint ORDER BY seq DESC LIMIT $3::bigint",
                                         [person.value, String(before ?? Int64.max), String(limit)], on: c, logger: logger)
        }
    }

    public func pendingBindings(region: RegionCode?, after: Int64?, limit: Int) async throws -> [BindingRecord] {
        let logger = self.logger
        return try await read { c in
            if let region {
                return try await Self.fetchBindings(where: "status = 'pending' AND region_code = $1::bigint AND seq > $2::bigint ORDER BY seq LIMIT $3::bigint",
                                                    [String(region.value), String(after ?? 0), String(limit)], on: c, logger: logger)
            }
            return try await Self.fetchBindings(where: "status = 'pending' AND seq > $1::bigint ORDER BY seq LIMIT $2::bigint",
                                                [String(after ?? 0), String(limit)], on: c, logger: logger)
        }
    }

    public func bindingEvents(id: String) async throws -> [BindingEvent] {
        let logger = self.logger
        return try await read { c in
            try await c.rows("SELECT * FROM binding_event WHERE binding_id = \(id) ORDER BY seq", logger: logger).map {
                BindingEvent(status: try $0.string("status"), identity: try $0.string("certificate_identity"), endUser: try $0.optionalString("end_user"),
                             requestID: try $0.optionalString("request_id"), at: try $0.int("at"))
            }
        }
    }

    // MARK: Documents

    public func recordDocument(id: String, side: DocumentSide, mediaType: String, size: Int, uploadedBy: ResidentID,
                               now: Int64) async throws -> DocumentRecord {
        let logger = self.logger
        return try await transaction { c in
            if let row = try await c.row("SELECT side FROM document WHERE id = \(id)", logger: logger) {
                try UploadRules.checkSide(side, recordedSide: DocumentSide(rawValue: try row.string("side")), id: id)
            } else {
                try await c.run("""
                    INSERT INTO document (id, side, media_type, size_bytes, uploaded_at) VALUES (\(id), \(side.rawValue), \(mediaType), \(Int64(size)), \(now))
                    """, logger: logger)
            }
            try await c.run("""
                INSERT INTO document_uploader (document_id, uploader, uploaded_at) VALUES (\(id), \(uploadedBy.value), \(now))
                ON CONFLICT (document_id, uploader) DO UPDATE SET uploaded_at = excluded.uploaded_at
                """, logger: logger)
            return DocumentRecord(id: id, side: side, mediaType: mediaType, size: size, uploadedAt: now)
        }
    }

    public func document(id: String) async throws -> DocumentRecord? {
        let logger = self.logger
        return try await read { c in
            guard let row = try await c.row("SELECT * FROM document WHERE id = \(id)", logger: logger),
                  let side = DocumentSide(rawValue: try row.string("side")) else { return nil }
            return DocumentRecord(id: id, side: side, mediaType: try row.string("media_type"), size: Int(try row.int("size_bytes")),
                                  uploadedAt: try row.int("uploaded_at"))
        }
    }

    public func removeExpiredDocuments(now: Int64, retentionSeconds: Int64) async throws -> [String] {
        let logger = self.logger
        return try await transaction { c in
            // One daemon at a time does the clean-up; the others find the lock taken and skip.
            guard try await c.row("SELECT pg_try_advisory_xact_lock(\(PostgresSchema.cleanupLock)) AS locked", logger: logger)?.bool("locked") == true
            else { return [] }
            let holds = try await c.rows("""
                SELECT u.document_id, u.uploader, u.uploaded_at,
                  EXISTS (SELECT 1 FROM binding b WHERE b.authorizer = u.uploader AND (b.front_document = u.document_id OR b.back_document = u.document_id)) AS used
                FROM document_uploader u WHERE u.uploaded_at <= \(now - retentionSeconds)
                """, logger: logger)
            for row in holds where DocumentRetention.isExpired(uploadedAtUnix: try row.int("uploaded_at"), isReferenced: try row.bool("used"),
                                                               nowUnix: now, retentionSeconds: retentionSeconds) {
                try await c.run("DELETE FROM document_uploader WHERE document_id = \(try row.string("document_id")) AND uploader = \(try row.string("uploader"))",
                                logger: logger)
            }
            let orphans = try await c.rows("""
                DELETE FROM document d
                WHERE NOT EXISTS (SELECT 1 FROM document_uploader u WHERE u.document_id = d.id)
                  AND NOT EXISTS (SELECT 1 FROM binding b WHERE b.front_document = d.id OR b.back_document = d.id)
                RETURNING d.id
                """, logger: logger)
            return try orphans.map { try $0.string("id") }
        }
    }

    public func documentIDs() async throws -> Set<String> {
        let logger = self.logger
        return try await read { c in Set(try await c.rows("SELECT id FROM document", logger: logger).map { try $0.string("id") }) }
    }

    // MARK: Ledger

    public func ledgerSum() async throws -> Money {
        let logger = self.logger
        return try await read { c in
            Money(fen: try await c.row("SELECT COALESCE(SUM(amount_fen), 0)::bigint AS s FROM ledger_entry", logger: logger)?.int("s") ?? 0)
        }
    }

    public func ledgerBalance(of account: String) async throws -> Money {
        let logger = self.logger
        return try await read { c in
            Money(fen: try await c.row("SELECT COALESCE(SUM(amount_fen), 0)::bigint AS s FROM ledger_entry WHERE account = \(account)",
                                       logger: logger)?.int("s") ?? 0)
        }
    }
}
