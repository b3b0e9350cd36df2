import Foundation
import GongjiStorage
import Logging
import PostgresNIO

/// Identity documents in PostgreSQL: every daemon of a deployment reads what any of them stored.
/// The bytes are the sealed file (AES-GCM segments; `DocumentStore` decrypts and checks the hash
/// on every read), kept in rows of at most `segmentBytes` so that no message between a daemon and
/// PostgreSQL is larger (postgres-nio keeps each connection's buffer at the largest message it
/// carried); PostgreSQL stores them out of line (TOAST). See README for when to move documents to
/// object storage.
public struct PostgresDocumentBlobs: DocumentBlobs {
    let store: PostgresStore
    /// The most bytes of one row (and so of one message on the wire).
    public static let segmentBytes = 256 * 1024

    /// Blobs in `store`'s database.
    public init(store: PostgresStore) { self.store = store }

    public func put(id: String, sealed: Data) async throws -> Bool {
        let logger = store.logger
        let now = Int64(Date().timeIntervalSince1970)
        return try await store.transaction { c in !(try await Self.insert(id: id, sealed: sealed, now: now, on: c, logger: logger)) }
    }

    /// Inserts document `id` (its row, then its segments) unless it is there; returns whether it was inserted.
    static func insert(id: String, sealed: Data, now: Int64, on c: PostgresConnection, logger: Logger) async throws -> Bool {
        let inserted = try await c.rows(
            """
            INSERT INTO document_blob (id, created_at) VALUES (\(id), \(now)) ON CONFLICT (id) DO NOTHING RETURNING id
            """, logger: logger)
        guard !inserted.isEmpty else { return false }
        var position: Int32 = 0
        var offset = sealed.startIndex
        repeat {
            let end = sealed.index(offset, offsetBy: segmentBytes, limitedBy: sealed.endIndex) ?? sealed.endIndex
            let segment = Data(sealed[offset..<end])
            try await c.run(
                "INSERT INTO document_blob_segment (id, position, bytes) VALUES (\(id), \(position), \(segment))", logger: logger)
            position += 1
            offset = end
        } while offset < sealed.endIndex
        return true
    }

    public func get(id: String) async throws -> Data? {
        let logger = store.logger
        return try await store.read { c in
            var sealed = Data()
            var found = false
            for try await bytes in try await c.checkedQuery(
                "SELECT bytes FROM document_blob_segment WHERE id = \(id) ORDER BY position",
                logger: logger
            ).decode(Data.self) {
                sealed.append(bytes)
                found = true
            }
            return found ? sealed : nil
        }
    }

    public func delete(id: String) async throws {
        let logger = store.logger
        try await store.transaction { c in
            try await c.run(
                """
                DELETE FROM document_blob WHERE id = \(id) AND NOT EXISTS (SELECT 1 FROM document WHERE document.id = document_blob.id)
                """, logger: logger)
        }
    }
}
