import Foundation
import GongjiCore
import GongjiStorage
import Logging
import PostgresNIO
import Testing

@testable import GongjiPostgres

/// What the PostgreSQL store adds to the contract: work that must run on one daemon at a time.
/// A database of its own (advisory locks are per database: the contract suite's parallel tests on
/// the shared one neither see nor take this test's lock).
@Suite("PostgreSQL: the retention clean-up runs once", .enabled(if: TestServer.url != nil, "needs GONGJI_TEST_POSTGRES_URL"))
struct PostgresOnceTests {
    @Test(
        "while another daemon holds the clean-up lock a store skips the clean-up; two daemons cleaning at once remove each expired document once"
    )
    func cleanUpOnce() async throws {
        var logger = Logger(label: "contract")
        logger.logLevel = .critical
        let url = try await Self.freshDatabase(logger: logger)
        let first = try await PostgresStore(configuration: try PostgresStore.configuration(url: url, poolSize: 4), logger: logger)
        let second = try await PostgresStore(configuration: try PostgresStore.configuration(url: url, poolSize: 4), logger: logger)
        defer {
            first.close()
            second.close()
        }
        let now: Int64 = 1_728_972_000
        let today = CivilDate(year: 2024, month: 10, day: 15)!
        let uploader = try ResidentID.parse(
            ResidentID.compose(area: "150102", born: CivilDate(iso: "1980-03-15")!, sequence: 1), today: today)
        _ = try await first.upsertPerson(
            Person(id: uploader, name: "王建国", insuranceType: .employee, status: .normal, region: .hohhot),
            paidYears: [], key: nil, today: today, now: now)
        let count = 20
        for i in 0..<count {
            _ = try await first.recordDocument(
                id: String(format: "%064x", i), side: i.isMultiple(of: 2) ? .front : .back, mediaType: "image/jpeg",
                size: 10, uploadedBy: uploader, now: now)
        }
        let later = now + 1_000
        // Another daemon's clean-up in progress: its lock, held from a session of its own.
        let holder = PostgresClient(configuration: try PostgresStore.configuration(url: url, poolSize: 1), backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await holder.run() }
            try await holder.withConnection { connection in
                try await connection.query(
                    "SELECT pg_advisory_lock(\(unescaped: AdvisoryLock.cleanup.arguments))", logger: logger)
                #expect(
                    try await second.removeExpiredDocuments(now: later, retentionSeconds: 100).isEmpty, "skipped: another daemon is at it")
                #expect(try await second.documentIDs().count == count)
                try await connection.query(
                    "SELECT pg_advisory_unlock(\(unescaped: AdvisoryLock.cleanup.arguments))", logger: logger)
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
        let url = TestServer.url!
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
