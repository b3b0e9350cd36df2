import Foundation
import GongjiStore
import Logging
import PostgresNIO

/// Identity documents in PostgreSQL: every daemon of a deployment reads what any of them stored.
/// The bytes are the sealed file (AES-GCM segments; `DocumentStore` decrypts and checks the hash
/// on every read). One row per document: a 10 MiB image is a 10 MiB `bytea` value, which
/// PostgreSQL stores out of line (TOAST); see README for when to move them to object storage.
public struct PostgresDocumentBlobs: DocumentBlobs {
    let store: PostgresStore

    /// Blobs in `store`'s database.
    public init(store: PostgresStore) { self.store = store }

    public func put(id: String, sealed: Data) async throws -> Bool {
        let logger = store.logger
        let now = Int64(Date().timeIntervalSince1970)
        return try await store.transaction { c in
            let inserted = try await c.rows("""
                INSERT INTO document_blob (id, sealed, created_at) VALUES (\(id), \(sealed), \(now)) ON CONFLICT (id) DO NOTHING RETURNING id
                """, logger: logger)
            return inserted.isEmpty
        }
    }

    public func get(id: String) async throws -> Data? {
        let logger = store.logger
        return try await store.read { c in
            try await c.row("SELECT sealed FROM document_blob WHERE id = \(id)", logger: logger).map { try $0["sealed"].decode(Data.self) }
        }
    }

    public func delete(id: String) async throws {
        let logger = store.logger
        try await store.transaction { c in
            try await c.run("""
                DELETE FROM document_blob WHERE id = \(id) AND NOT EXISTS (SELECT 1 FROM document WHERE document.id = document_blob.id)
                """, logger: logger)
        }
    }
}
