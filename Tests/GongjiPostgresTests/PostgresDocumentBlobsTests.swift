import Foundation
import GongjiCore
import GongjiStorage
import Logging
import PostgresNIO
import Testing

@testable import GongjiPostgres

/// Identity documents in PostgreSQL (what the daemon tests upload are small; these are not).
@Suite("PostgreSQL: identity documents in segments", .enabled(if: TestServer.url != nil, "needs GONGJI_TEST_POSTGRES_URL"))
struct PostgresDocumentBlobsTests {
    static func bytes(_ count: Int, seed: UInt8) -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data(
            (0..<count).map { i in
                UInt8(truncatingIfNeeded: i * 31) ^ seed ^ (i % 4093 == 0 ? UInt8.random(in: 0...255, using: &generator) : 0)
            })
    }

    @Test(
        "a document of several segments comes back whole and in order; stored once; removed only when no record uses it; no row exceeds a segment"
    )
    func segments() async throws {
        let store = try await TestServer.freshStore()
        defer { store.close() }
        let blobs = PostgresDocumentBlobs(store: store)
        let segment = PostgresDocumentBlobs.segmentBytes
        for (index, size) in [0, 1, segment - 1, segment, segment + 1, 3 * segment + 12_345].enumerated() {
            let id = String(format: "%064x", index + 1)
            let sealed = Self.bytes(size, seed: UInt8(index))
            #expect(try await blobs.put(id: id, sealed: sealed) == false, "new: \(size) bytes")
            #expect(try await blobs.put(id: id, sealed: sealed) == true, "stored already: \(size) bytes")
            #expect(try await blobs.get(id: id) == sealed, "\(size) bytes back")
        }
        let largest = try await store.read { c in
            try await c.row(
                "SELECT MAX(length(bytes))::bigint AS m, COUNT(*)::bigint AS n FROM document_blob_segment", logger: store.logger)
        }
        #expect(try largest?.int("m") == Int64(segment))
        #expect(try largest?.int("n") == 1 + 1 + 1 + 1 + 2 + 4)
        #expect(try await blobs.get(id: String(repeating: "f", count: 64)) == nil)
        try await blobs.delete(id: String(format: "%064x", 6))
        #expect(try await blobs.get(id: String(format: "%064x", 6)) == nil)
        let left = try await store.read { c in
            try await c.row("SELECT COUNT(*)::bigint AS n FROM document_blob_segment", logger: store.logger)
        }
        #expect(try left?.int("n") == 6, "the removed document's segments went with it")
    }

    @Test("a database of the one-row-per-document layout (v2) keeps its documents through the v3 migration, cut into segments")
    func migration() async throws {
        var logger = Logger(label: "contract")
        logger.logLevel = .critical
        let url = TestServer.url!
        let schema = "m_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await TestServer.createSchema(schema, url: url)
        let scoped = url + "?search_path=" + schema
        let old = Self.bytes(600_000, seed: 7)
        let client = PostgresClient(configuration: try PostgresStore.configuration(url: scoped, poolSize: 1), backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            try await client.withConnection { c in
                try await c.query("CREATE TABLE gongji_migration (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)", logger: logger)
                for (name, sql) in PostgresSchema.migrations.prefix(2) {
                    for statement in sql.components(separatedBy: ";\n")
                    where !statement.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                        try await c.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await c.query("INSERT INTO gongji_migration (name, applied_at) VALUES (\(name), 0)", logger: logger)
                }
                try await c.query(
                    "INSERT INTO document_blob (id, sealed, created_at) VALUES (\(String(repeating: "a", count: 64)), \(old), 0)",
                    logger: logger)
            }
            group.cancelAll()
        }
        let store = try await PostgresStore(configuration: try PostgresStore.configuration(url: scoped, poolSize: 2), logger: logger)
        defer { store.close() }
        #expect(try await PostgresDocumentBlobs(store: store).get(id: String(repeating: "a", count: 64)) == old)
        let segments = try await store.read { c in
            try await c.row(
                "SELECT MAX(length(bytes))::bigint AS m, COUNT(*)::bigint AS n FROM document_blob_segment", logger: store.logger)
        }
        #expect(
            try segments?.int("m") == Int64(PostgresDocumentBlobs.segmentBytes) && segments?.int("n") == 3,
            "cut into segments as new uploads are")
    }
}
