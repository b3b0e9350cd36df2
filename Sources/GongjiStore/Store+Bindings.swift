import Foundation
import GRDB
import GongjiCore

extension Store {
    /// Creates a binding atomically: gathers the facts, has the core decide, inserts the binding
    /// and its event. Writes are serialised (each request in its own savepoint of a
    /// group-committed transaction), so limits and the one-open-binding-per-pair rule hold under
    /// concurrency.
    public func createBinding(_ request: BindingRequest, endUser: ResidentID, id: String, key: IdempotencyKey?, actor: ChangeActor,
                              policies: PolicyBook, today: CivilDate, now: Int64) async throws -> BindingRecord {
        try await once(key, replay: Self.replayBinding, { db in
            var documents: [String: DocumentSide] = [:]
            for document in [request.frontDocument, request.backDocument].compactMap({ $0 }) where !document.isEmpty {
                if let side = try String.fetchOne(db.cachedStatement(sql: """
                    SELECT d.side FROM document d JOIN document_uploader u ON u.document_id = d.id WHERE d.id = ? AND u.uploader = ?
                    """),
                                                  arguments: [document, endUser.value]).flatMap(DocumentSide.init(rawValue:)) {
                    documents[document] = side
                }
            }
            // The member is looked up by the ID number as typed; the core validates it.
            let member = try? ResidentID.parse(request.memberIDNumber, today: today)
            let facts = BindingFacts(
                actor: endUser, authorizer: try Self.fetchPerson(endUser, in: db), member: try member.flatMap { try Self.fetchPerson($0, in: db) },
                authorizerBindings: try Self.fetchBindings(where: "authorizer = ?", [endUser.value], in: db).map(\.binding),
                documents: documents, policies: policies, today: today)
            let binding = try BindingRules.create(request, facts: facts, id: id)
            try db.cachedStatement(sql: """
                INSERT INTO binding (id, authorizer, member, member_name, relationship, region_code, start_date, status, newborn,
                  commitment_version, commitment_accepted_at, front_document, back_document, rejection_reason, medical_limit_fen,
                  created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)
                """).execute(arguments: [binding.id, binding.authorizer.value, binding.member.value, binding.memberName, binding.relationship.rawValue,
                                 binding.region.value, binding.startDate.description, binding.status.rawValue, binding.isNewborn,
                                 binding.commitment?.version, binding.commitment?.acceptedAtUnix, binding.frontDocument,
                                 binding.backDocument, binding.medicalLimit?.fen, now, now])
            let seq = db.lastInsertedRowID
            try Self.recordEvent(binding, actor: actor, reason: nil, now: now, in: db)
            return (BindingRecord(binding: binding, createdAt: now, updatedAt: now, seq: seq), binding.id)
        }, now: now)
    }

    /// Writes a changed binding's state.
    static func update(_ binding: Binding, now: Int64, in db: Database) throws {
        try db.cachedStatement(sql: """
            UPDATE binding SET status = ?, rejection_reason = ?, medical_limit_fen = ?, ended_by = ?, end_reason = ?, updated_at = ? WHERE id = ?
            """).execute(arguments: [binding.status.rawValue, binding.rejectionReason, binding.medicalLimit?.fen, binding.endedBy?.rawValue,
                             binding.endReason, now, binding.id])
    }

    @Sendable static func replayBinding(_ id: String, _ db: Database) throws -> BindingRecord {
        guard let record = try fetchBinding(id: id, in: db) else { throw StoreError(.database, "idempotent result vanished") }
        return record
    }

    /// Changes a binding's state in one transaction, as `BindingRules.apply` decides.
    public func changeBinding(id: String, _ change: BindingRules.Change, key: IdempotencyKey?, actor: ChangeActor,
                              now: Int64) async throws -> BindingRecord {
        try await once(key, replay: Self.replayBinding, { db in
            let current = try Self.fetchBinding(id: id, in: db)
            let changed = try BindingRules.apply(change, to: current?.binding, id: id)
            try Self.update(changed, now: now, in: db)
            try Self.recordEvent(changed, actor: actor, reason: change.reason, now: now, in: db)
            return (BindingRecord(binding: changed, createdAt: current!.createdAt, updatedAt: now, seq: current!.seq), id)
        }, now: now)
    }

    public func binding(id: String) async throws -> BindingRecord? {
        try readNow { db in try Self.fetchBinding(id: id, in: db) }
    }

    public func bindings(of person: ResidentID, as perspective: BindingPerspective, before: Int64?, limit: Int) async throws -> [BindingRecord] {
        let column = perspective == .authorizer ? "authorizer" : "member"
        return try await read { db in
            try Self.fetchBindings(where: "\(column) = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
                                   [person.value, before ?? Int64.max, limit], in: db)
        }
    }

    public func pendingBindings(region: RegionCode?, after: Int64?, limit: Int) async throws -> [BindingRecord] {
        try await read { db in
            if let region {
                return try Self.fetchBindings(where: "status = 'pending' AND region_code = ? AND seq > ? ORDER BY seq LIMIT ?",
                                              [region.value, after ?? 0, limit], in: db)
            }
            return try Self.fetchBindings(where: "status = 'pending' AND seq > ? ORDER BY seq LIMIT ?",
                                          [after ?? 0, limit], in: db)
        }
    }

    public func bindingEvents(id: String) async throws -> [BindingEvent] {
        try readNow { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM binding_event WHERE binding_id = ? ORDER BY seq"), arguments: [id]).map {
                BindingEvent(status: $0["status"], identity: $0["certificate_identity"], endUser: $0["end_user"], requestID: $0["request_id"], at: $0["at"])
            }
        }
    }

    static func recordEvent(_ binding: Binding, actor: ChangeActor, reason: String?, now: Int64, in db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO binding_event (binding_id, status, certificate_identity, end_user, request_id, reason, at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [binding.id, binding.status.rawValue, actor.certificateIdentity, actor.endUser?.value,
                             actor.requestID, reason, now])
    }

    static func fetchBinding(id: String, in db: Database) throws -> BindingRecord? {
        try fetchBindings(where: "id = ?", [id], in: db).first
    }

    static func fetchBindings(where condition: String, _ arguments: StatementArguments, in db: Database) throws -> [BindingRecord] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM binding WHERE \(condition)"), arguments: arguments).map { row in
            guard let relationship = Relationship(rawValue: row["relationship"]), let status = BindingStatus(rawValue: row["status"]),
                  let region = RegionCode(row["region_code"] as Int), let start = CivilDate(iso: row["start_date"])
            else { throw StoreError(.database, "binding row does not decode") }
            let version: String? = row["commitment_version"]
            var binding = Binding(
                id: row["id"], authorizer: try storedID(row["authorizer"]), member: try storedID(row["member"]),
                memberName: row["member_name"], relationship: relationship, region: region, startDate: start, status: status,
                isNewborn: row["newborn"], commitment: version.map { CommitmentAcceptance(version: $0, acceptedAtUnix: row["commitment_accepted_at"]) },
                frontDocument: row["front_document"], backDocument: row["back_document"], rejectionReason: row["rejection_reason"],
                medicalLimit: (row["medical_limit_fen"] as Int64?).map(Money.init(fen:)))
            binding.endedBy = (row["ended_by"] as String?).flatMap(BindingEndParty.init(rawValue:))
            binding.endReason = row["end_reason"]
            return BindingRecord(binding: binding, createdAt: row["created_at"], updatedAt: row["updated_at"], seq: row["seq"])
        }
    }
}

extension Store {
    /// Records an uploaded document (after its file is durable). The same bytes uploaded again
    /// keep the first record and restart its retention; for the other side they are refused.
    public func recordDocument(id: String, side: DocumentSide, mediaType: String, size: Int, uploadedBy: ResidentID,
                               now: Int64) async throws -> DocumentRecord {
        try await groupCommit.submit { db in
            let recorded = try String.fetchOne(db.cachedStatement(sql: "SELECT side FROM document WHERE id = ?"), arguments: [id])
            if let recorded {
                try UploadRules.checkSide(side, recordedSide: DocumentSide(rawValue: recorded), id: id)
            } else {
                try db.cachedStatement(sql: "INSERT INTO document (id, side, media_type, size_bytes, uploaded_by, uploaded_at) VALUES (?, ?, ?, ?, ?, ?)").execute(
                               arguments: [id, side.rawValue, mediaType, size, uploadedBy.value, now])
            }
            // R-DOC-5: every uploader of the same bytes may cite them; a new upload restarts only
            // this uploader's retention.
            try db.cachedStatement(sql: """
                INSERT INTO document_uploader (document_id, uploader, uploaded_at) VALUES (?, ?, ?)
                ON CONFLICT (document_id, uploader) DO UPDATE SET uploaded_at = excluded.uploaded_at
                """).execute(arguments: [id, uploadedBy.value, now])
            return DocumentRecord(id: id, side: side, mediaType: mediaType, size: size, uploadedAt: now)
        }
    }

    /// A document's metadata.
    public func document(id: String) async throws -> DocumentRecord? {
        try readNow { db in
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM document WHERE id = ?"), arguments: [id]),
                  let side = DocumentSide(rawValue: row["side"]) else { return nil }
            return DocumentRecord(id: id, side: side, mediaType: row["media_type"], size: row["size_bytes"], uploadedAt: row["uploaded_at"])
        }
    }

    /// Removes the records of uploads that no binding uses and that are older than the retention
    /// (R-DOC-4); returns their ids so that the files can be removed.
    public func removeExpiredDocuments(now nowUnix: Int64, retentionSeconds: Int64) async throws -> [String] {
        try await write { db in
            // Each uploader's hold expires on its own (R-DOC-5), unless a binding of that uploader cites the document.
            let holds = try Row.fetchAll(db, sql: """
                SELECT u.document_id, u.uploader, u.uploaded_at,
                  EXISTS (SELECT 1 FROM binding b WHERE b.authorizer = u.uploader AND (b.front_document = u.document_id OR b.back_document = u.document_id)) AS used
                FROM document_uploader u WHERE u.uploaded_at <= ?
                """, arguments: [nowUnix - retentionSeconds])
            for row in holds where DocumentRetention.isExpired(uploadedAtUnix: row["uploaded_at"], isReferenced: row["used"],
                                                               nowUnix: nowUnix, retentionSeconds: retentionSeconds) {
                try db.cachedStatement(sql: "DELETE FROM document_uploader WHERE document_id = ? AND uploader = ?").execute(
                    arguments: [row["document_id"] as String, row["uploader"] as String])
            }
            // The bytes go when no uploader and no binding holds them.
            let orphans = try String.fetchAll(db, sql: """
                SELECT d.id FROM document d
                WHERE NOT EXISTS (SELECT 1 FROM document_uploader u WHERE u.document_id = d.id)
                  AND NOT EXISTS (SELECT 1 FROM binding b WHERE b.front_document = d.id OR b.back_document = d.id)
                """)
            for id in orphans { try db.cachedStatement(sql: "DELETE FROM document WHERE id = ?").execute(arguments: [id]) }
            return orphans
        }
    }

    /// Ids of all recorded documents (to find orphan files).
    public func documentIDs() async throws -> Set<String> {
        try await read { db in Set(try String.fetchAll(db.cachedStatement(sql: "SELECT id FROM document"))) }
    }
}
