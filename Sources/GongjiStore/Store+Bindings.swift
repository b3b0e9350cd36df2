import Foundation
import GRDB
import GongjiCore

/// A stored binding with its times and its position in lists.
public struct BindingRecord: Hashable, Sendable {
    /// The binding.
    public var binding: Binding
    /// Creation time, Unix seconds.
    public var createdAt: Int64
    /// Last state change, Unix seconds.
    public var updatedAt: Int64
    /// Insertion order (the list cursor).
    public var seq: Int64
}

/// Who changed something: the calling system's certificate identity, the end user it acted for,
/// and the client's request id.
public struct ChangeActor: Hashable, Sendable {
    /// Certificate identity.
    public var certificateIdentity: String
    /// The end user (ID number), if the call named one.
    public var endUser: ResidentID?
    /// The request id.
    public var requestID: String?

    /// Creates an actor.
    public init(certificateIdentity: String, endUser: ResidentID?, requestID: String?) {
        self.certificateIdentity = certificateIdentity
        self.endUser = endUser
        self.requestID = requestID
    }
}

/// The facts about a binding request that live in the database.
public struct StoredBindingFacts: Sendable {
    /// The authorizer, if registered.
    public var authorizer: PersonRecord?
    /// The member, if registered.
    public var member: PersonRecord?
    /// All bindings of the authorizer.
    public var authorizerBindings: [Binding]
    /// Documents found among the requested ids that the authorizer uploaded, with their side.
    public var documents: [String: DocumentSide]
}

/// Which side of a binding a list is from.
public enum BindingPerspective: Sendable {
    /// The person is the authorizer.
    case authorizer
    /// The person is the member.
    case member
}

extension Store {
    /// Creates a binding atomically: gathers the facts, lets `decide` (the domain core) decide,
    /// inserts the result and its event. Writes are serialised (each request in its own savepoint
    /// of a group-committed transaction), so limits and the one-open-binding-per-pair rule hold
    /// under concurrency.
    public func createBinding(authorizer: ResidentID, member: ResidentID, documentIDs: [String], key: IdempotencyKey?,
                              actor: ChangeActor, now: Int64,
                              decide: @escaping @Sendable (StoredBindingFacts) throws -> Binding) async throws -> BindingRecord {
        try await groupCommit.submit { db in
            if let previous = try Self.previousResult(key, in: db) {
                guard let record = try Self.fetchBinding(id: previous, in: db) else { throw StoreError(.database, "idempotent result vanished") }
                return record
            }
            var documents: [String: DocumentSide] = [:]
            for id in documentIDs where !id.isEmpty {
                if let side = try String.fetchOne(db.cachedStatement(sql: "SELECT side FROM document WHERE id = ? AND uploaded_by = ?"),
                                                  arguments: [id, authorizer.value]).flatMap(DocumentSide.init(rawValue:)) {
                    documents[id] = side
                }
            }
            let facts = StoredBindingFacts(
                authorizer: try Self.fetchPerson(authorizer, in: db), member: try Self.fetchPerson(member, in: db),
                authorizerBindings: try Self.fetchBindings(sql: "SELECT * FROM binding WHERE authorizer = ?", [authorizer.value], in: db).map(\.binding),
                documents: documents)
            let binding = try decide(facts)
            try db.cachedStatement(sql: """
                INSERT INTO binding (id, authorizer, member, member_name, relationship, region_code, start_date, status, newborn,
                  commitment_version, commitment_accepted_at, front_document, back_document, rejection_reason, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)
                """).execute(arguments: [binding.id, binding.authorizer.value, binding.member.value, binding.memberName, binding.relationship.rawValue,
                                 binding.region.value, binding.startDate.description, binding.status.rawValue, binding.isNewborn,
                                 binding.commitment?.version, binding.commitment?.acceptedAtUnix, binding.frontDocument,
                                 binding.backDocument, now, now])
            try Self.recordEvent(binding, actor: actor, reason: nil, now: now, in: db)
            try Self.recordResult(key, result: binding.id, now: now, in: db)
            guard let record = try Self.fetchBinding(id: binding.id, in: db) else { throw StoreError(.database, "binding vanished") }
            return record
        }
    }

    /// Changes a binding's state in one transaction: `decide` (the core) maps the current binding
    /// to the new one.
    public func changeBinding(id: String, key: IdempotencyKey?, actor: ChangeActor, reason: String?, now: Int64,
                              authorize: @escaping @Sendable (Binding) throws -> Void = { _ in },
                              decide: @escaping @Sendable (Binding) throws -> Binding) async throws -> BindingRecord {
        try await groupCommit.submit { db in
            if let previous = try Self.previousResult(key, in: db) {
                guard let record = try Self.fetchBinding(id: previous, in: db) else { throw StoreError(.database, "idempotent result vanished") }
                return record
            }
            guard let current = try Self.fetchBinding(id: id, in: db) else { throw Self.bindingNotFound(id) }
            try authorize(current.binding)
            let changed = try decide(current.binding)
            try db.cachedStatement(sql: "UPDATE binding SET status = ?, rejection_reason = ?, updated_at = ? WHERE id = ?").execute(
                           arguments: [changed.status.rawValue, changed.rejectionReason, now, id])
            try Self.recordEvent(changed, actor: actor, reason: reason, now: now, in: db)
            try Self.recordResult(key, result: id, now: now, in: db)
            return try Self.fetchBinding(id: id, in: db)!
        }
    }

    /// Reads one binding.
    public func binding(id: String) async throws -> BindingRecord? {
        try await read { db in try Self.fetchBinding(id: id, in: db) }
    }

    /// Lists a person's bindings, newest first, after the cursor `before` (exclusive).
    public func bindings(of person: ResidentID, as perspective: BindingPerspective, before: Int64?, limit: Int) async throws -> [BindingRecord] {
        let column = perspective == .authorizer ? "authorizer" : "member"
        return try await read { db in
            try Self.fetchBindings(sql: "SELECT * FROM binding WHERE \(column) = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
                                   [person.value, before ?? Int64.max, limit], in: db)
        }
    }

    /// Lists pending bindings, oldest first, optionally of one region, after the cursor.
    public func pendingBindings(region: RegionCode?, after: Int64?, limit: Int) async throws -> [BindingRecord] {
        try await read { db in
            if let region {
                return try Self.fetchBindings(sql: "SELECT * FROM binding WHERE status = 'pending' AND region_code = ? AND seq > ? ORDER BY seq LIMIT ?",
                                              [region.value, after ?? 0, limit], in: db)
            }
            return try Self.fetchBindings(sql: "SELECT * FROM binding WHERE status = 'pending' AND seq > ? ORDER BY seq LIMIT ?",
                                          [after ?? 0, limit], in: db)
        }
    }

    /// The recorded changes of a binding: (status, certificate identity, end user, request id, reason, time).
    public func bindingEvents(id: String) async throws -> [(status: String, identity: String, endUser: String?, requestID: String?, at: Int64)] {
        try await read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM binding_event WHERE binding_id = ? ORDER BY seq"), arguments: [id]).map {
                (status: $0["status"], identity: $0["certificate_identity"], endUser: $0["end_user"], requestID: $0["request_id"], at: $0["at"])
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

    static func bindingNotFound(_ id: String) -> DomainError {
        DomainError(reason: "BINDING_NOT_FOUND", category: .notFound, message: "binding \(id) does not exist",
                    messageZH: "未找到该共济关系", details: ["binding_id": id])
    }

    static func fetchBinding(id: String, in db: Database) throws -> BindingRecord? {
        try fetchBindings(sql: "SELECT * FROM binding WHERE id = ?", [id], in: db).first
    }

    static func fetchBindings(sql: String, _ arguments: StatementArguments, in db: Database) throws -> [BindingRecord] {
        try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments).map { row in
            guard let relationship = Relationship(rawValue: row["relationship"]), let status = BindingStatus(rawValue: row["status"]),
                  let region = RegionCode(row["region_code"] as Int), let start = CivilDate(iso: row["start_date"])
            else { throw StoreError(.database, "binding row does not decode") }
            let version: String? = row["commitment_version"]
            let binding = Binding(
                id: row["id"], authorizer: try storedID(row["authorizer"]), member: try storedID(row["member"]),
                memberName: row["member_name"], relationship: relationship, region: region, startDate: start, status: status,
                isNewborn: row["newborn"], commitment: version.map { CommitmentAcceptance(version: $0, acceptedAtUnix: row["commitment_accepted_at"]) },
                frontDocument: row["front_document"], backDocument: row["back_document"], rejectionReason: row["rejection_reason"])
            return BindingRecord(binding: binding, createdAt: row["created_at"], updatedAt: row["updated_at"], seq: row["seq"])
        }
    }
}

/// A stored document's metadata.
public struct DocumentRecord: Hashable, Sendable {
    /// SHA-256 hex.
    public var id: String
    /// Which side.
    public var side: DocumentSide
    /// Detected media type.
    public var mediaType: String
    /// Size in bytes.
    public var size: Int
    /// Upload time, Unix seconds.
    public var uploadedAt: Int64
}

extension Store {
    /// Records an uploaded document (after its file is durable). The same bytes uploaded again
    /// keep the first record; uploaded for the other side, they are refused.
    public func recordDocument(id: String, side: DocumentSide, mediaType: String, size: Int, uploadedBy: ResidentID,
                               now: Int64) async throws -> DocumentRecord {
        try await groupCommit.submit { db in
            if let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM document WHERE id = ?"), arguments: [id]) {
                guard (row["side"] as String) == side.rawValue else {
                    throw DomainError(reason: "DOCUMENT_SIDE_CONFLICT", category: .invalidArgument,
                                      message: "these bytes were uploaded as the \(row["side"] as String) side already",
                                      messageZH: "同一照片不能同时作为身份证正反面", details: ["document_id": id])
                }
                // A new upload of the same bytes restarts the retention clock; the uploader may cite it.
                try db.cachedStatement(sql: "UPDATE document SET uploaded_at = ?, uploaded_by = ? WHERE id = ?").execute(arguments: [now, uploadedBy.value, id])
            } else {
                try db.cachedStatement(sql: "INSERT INTO document (id, side, media_type, size_bytes, uploaded_by, uploaded_at) VALUES (?, ?, ?, ?, ?, ?)").execute(
                               arguments: [id, side.rawValue, mediaType, size, uploadedBy.value, now])
            }
            return DocumentRecord(id: id, side: side, mediaType: mediaType, size: size, uploadedAt: now)
        }
    }

    /// A document's metadata.
    public func document(id: String) async throws -> DocumentRecord? {
        try await read { db in
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM document WHERE id = ?"), arguments: [id]),
                  let side = DocumentSide(rawValue: row["side"]) else { return nil }
            return DocumentRecord(id: id, side: side, mediaType: row["media_type"], size: row["size_bytes"], uploadedAt: row["uploaded_at"])
        }
    }

    /// Removes the records of uploads that no binding uses and that are older than the retention
    /// (R-DOC-4); returns their ids so that the files can be removed.
    public func removeExpiredDocuments(nowUnix: Int64, retentionSeconds: Int64) async throws -> [String] {
        try await write { db in
            let candidates = try Row.fetchAll(db, sql: """
                SELECT d.id, d.uploaded_at, EXISTS (SELECT 1 FROM binding b WHERE b.front_document = d.id OR b.back_document = d.id) AS used
                FROM document d WHERE d.uploaded_at <= ?
                """, arguments: [nowUnix - retentionSeconds])
            var removed: [String] = []
            for row in candidates where DocumentRetention.isExpired(uploadedAtUnix: row["uploaded_at"], isReferenced: row["used"],
                                                                     nowUnix: nowUnix, retentionSeconds: retentionSeconds) {
                try db.cachedStatement(sql: "DELETE FROM document WHERE id = ?").execute(arguments: [row["id"] as String])
                removed.append(row["id"])
            }
            return removed
        }
    }

    /// Ids of all recorded documents (to find orphan files).
    public func documentIDs() async throws -> Set<String> {
        try await read { db in Set(try String.fetchAll(db.cachedStatement(sql: "SELECT id FROM document"))) }
    }
}
