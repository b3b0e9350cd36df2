import Foundation
import GRDB
import GongjiCore
import GongjiStorage

extension SQLiteStore {
    /// A document's metadata.
    public func document(id: String) async throws -> DocumentRecord? {
        try readNow { db in
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM document WHERE id = ?"), arguments: [id]),
                let side = DocumentSide(rawValue: row["side"])
            else { return nil }
            return DocumentRecord(id: id, side: side, mediaType: row["media_type"], size: row["size_bytes"], uploadedAt: row["uploaded_at"])
        }
    }

    /// Ids of all recorded documents (to find orphan files).
    public func documentIDs() async throws -> Set<String> {
        try await read { db in Set(try String.fetchAll(db.cachedStatement(sql: "SELECT id FROM document"))) }
    }

    public func documentTotals() async throws -> (count: Int, bytes: Int64) {
        try await read { db in
            let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) AS n, COALESCE(SUM(size_bytes), 0) AS b FROM document"))
            return (row?["n"] ?? 0, row?["b"] ?? 0)
        }
    }
}
