import Foundation
import GRDB
import GongjiCore
import GongjiStorage
import Logging
import Testing

@testable import GongjiSQLite

@Suite("WAL checkpoints off the write path")
struct CheckpointTests {
    @Test(
        "With automatic checkpoints off the log grows; checkpoint() copies it back and the next commit starts a log of at most walBytesMax")
    func checkpointBoundsTheLog() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gongji-ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("db.sqlite").path
        let limit = 64 << 10
        try SQLiteStore.create(path: path)
        let store = try SQLiteStore(path: path, walBytesMax: limit)
        defer { try? store.close() }
        func walBytes() throws -> Int { try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as! Int }
        func write(_ count: Int, from first: Int) async throws {
            for index in first..<(first + count) {
                _ = try await store.groupCommit.submit { db in
                    try SQLiteStore.recordResult(
                        IdempotencyKey(scope: "test", requestID: "r\(index)", fingerprint: Data(repeating: 7, count: 4096)),
                        result: "x", now: 0, in: db)
                }
            }
        }

        try await store.setAutomaticCheckpoints(false)
        try await write(100, from: 0)
        let grown = try walBytes()
        #expect(grown > 4 * limit)  // 100 rows of 4 KiB, never checkpointed

        try await store.checkpoint()
        try await write(1, from: 100)
        #expect(try walBytes() <= limit)
        let rows = try await store.pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM idempotency") }
        #expect(rows == 101)
    }
}
