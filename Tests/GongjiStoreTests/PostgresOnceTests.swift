import Foundation
import GongjiCore
@testable import GongjiPostgres
import GongjiStorage
import Logging
import PostgresNIO
import Testing

/// What the PostgreSQL store adds to the contract: work that must run on one daemon at a time.
/// A database of its own (advisory locks are per database: the contract suite's parallel tests on
/// the shared one neither see nor take this test's lock).
@Suite("PostgreSQL: the retention clean-up runs once", .enabled(if: Backend.postgresURL != nil, "needs GONGJI_TEST_POSTGRES_URL"))
struct PostgresOnceTests {
    @Test("while another daemon holds the clean-up lock a store skips the clean-up; two daemons cleaning at once remove each expired document once")
    func cleanUpOnce() async throws {
        var logger = Logger(label: "contract")
        logger.logLevel = .critical
        let url = try await Self.freshDatabase(logger: logger)
        let first = try await PostgresStore(configuration: try PostgresStore.configuration(url: url, poolSize: 4), logger: logger)
        let second = try await PostgresStore(configuration: try PostgresStore.configuration(url: url, poolSize: 4), logger: logger)
        defer { first.close(); second.close() }
        let world = try await World(Backend(name: "PostgreSQL") { first })
        let uploader = try await world.employee(World.id(1))
        let count = 20
        for i in 0..<count {
            _ = try await first.recordDocument(id: String(format: "%064x", i), side: i.isMultiple(of: 2) ? .front : .back, mediaType: "image/jpeg",
                                               size: 10, uploadedBy: uploader, now: world.now)
        }
        let later = world.now + 1_000
        // Another daemon's clean-up in progress: its lock, held from a session of its own.
        let holder = PostgresClient(configuration: try PostgresStore.configuration(url: url, poolSize: 1), backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await holder.run() }
            try await holder.withConnection { connection in
                try await connection.query("SELECT pg_advisory_lock(\(PostgresSchema.cleanupLock))", logger: logger)
                #expect(try await second.removeExpiredDocuments(now: later, retentionSeconds: 100).isEmpty, "skipped: another daemon is at it")
                #expect(try await second.documentIDs().count == count)
                try await connection.query("SELECT pg_advisory_unlock(\(PostgresSchema.cleanupLock))", logger: logger)
            }
            group.cancelAll()
        }
        async let byFirst = first.removeExpiredDocuments(now: later, retentionSeconds: 100)
        async let bySecond = second.removeExpiredDocuments(now: later, retentionSeconds: 100)
        let (a, b) = try await (byFirst, bySecond)
        #expect(Set(a).isDisjoint(with: Set(b)), "no document removed twice")
        #expect(a.count + b.count == count)
        #expect(try await first.documentIDs().isEmpty)
    }

    /// A new database on the test server, as a URL.
    static func freshDatabase(logger: Logger) async throws -> String {
        let url = Backend.postgresURL!
        let name = "o_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let client = PostgresClient(configuration: try PostgresStore.configuration(url: url, poolSize: 1), backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
            group.cancelAll()
        }
        guard let slash = url.lastIndex(of: "/") else { throw CancellationError() }
        return url[..<slash] + "/" + name
    }
}
