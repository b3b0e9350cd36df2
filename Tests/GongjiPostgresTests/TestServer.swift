import Foundation
import GongjiPostgres
import Logging
import PostgresNIO

/// The PostgreSQL server scripts/test starts (`GONGJI_TEST_POSTGRES_URL`); the tests of this
/// target are skipped without one.
enum TestServer {
    static let url = ProcessInfo.processInfo.environment["GONGJI_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

    static var logger: Logger {
        var logger = Logger(label: "postgres-tests")
        logger.logLevel = .critical
        return logger
    }

    /// A store on a fresh schema of the test server's database (it migrates the schema).
    /// The lease timeout is the contract suite's 30 s: the whole suite shares one loaded machine.
    static func freshStore(poolSize: Int = 8) async throws -> PostgresStore {
        let schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await createSchema(schema, url: url!)
        return try await PostgresStore(
            configuration: try PostgresStore.configuration(url: url! + "?search_path=" + schema, poolSize: poolSize),
            logger: logger, leaseTimeout: .seconds(30))
    }

    static func createSchema(_ schema: String, url: String) async throws {
        let logger = self.logger
        let client = PostgresClient(configuration: try PostgresStore.configuration(url: url, poolSize: 1), backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            try await client.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \(schema)"), logger: logger)
            group.cancelAll()
        }
    }
}
