import Foundation
import GongjiStorage
import Logging
import PostgresNIO
import Synchronization
import Testing

@testable import GongjiPostgres

/// A deployment's tables and locks are those of its schema: deployments in other schemas of one
/// database (and the contract suite's parallel tests, a schema each) do not wait for each other.
@Suite(
    "PostgreSQL: a deployment's schema and its locks", .enabled(if: TestServer.url != nil, "needs GONGJI_TEST_POSTGRES_URL"),
    .timeLimit(.minutes(2)))
struct PostgresSchemaLockTests {
    @Test("a search path that names no schema of the database is refused at start and by check-config, naming it")
    func missingSchema() async throws {
        let configuration = try PostgresStore.configuration(
            url: TestServer.url! + "?search_path=t_nowhere_\(UInt32.random(in: 0...UInt32.max))")
        for attempt in ["start", "check-config"] {
            let error = await #expect(throws: StoreError.self, "\(attempt)") {
                if attempt == "start" {
                    let store = try await PostgresStore(configuration: configuration, logger: TestServer.logger)
                    store.close()
                } else {
                    _ = try await PostgresStore.probe(configurations: [configuration], logger: TestServer.logger)
                }
            }
            #expect(error?.code == .configuration && error?.message.contains("search_path") == true, "\(attempt)")
        }
    }

    @Test("the migration lock is the schema's: while it is held, a daemon of another schema migrates and one of the same schema waits")
    func migrationLockPerSchema() async throws {
        let logger = TestServer.logger
        let (held, other) = ("t_" + Self.suffix(), "t_" + Self.suffix())
        try await TestServer.createSchema(held, url: TestServer.url!)
        try await TestServer.createSchema(other, url: TestServer.url!)
        func configuration(_ schema: String) throws -> PostgresClient.Configuration {
            try PostgresStore.configuration(url: TestServer.url! + "?search_path=" + schema, poolSize: 2)
        }
        // Another daemon of `held` migrating: its lock, held from a session of its own.
        let holder = PostgresClient(configuration: try configuration(held), backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await holder.run() }
            let waited = Flag()
            try await holder.withConnection { connection in
                try await connection.query(
                    "SELECT pg_advisory_lock(\(unescaped: AdvisoryLock.migration.arguments))", logger: logger)
                let sameSchema = Task {
                    let store = try await PostgresStore(configuration: try configuration(held), logger: logger)
                    waited.set()
                    store.close()
                }
                let store = try await PostgresStore(configuration: try configuration(other), logger: logger)
                #expect(try await store.ledgerSum() == .zero, "the other schema is migrated and served")
                store.close()
                try await Task.sleep(for: .milliseconds(300))
                #expect(!waited.isSet, "the same schema waits for the lock")
                try await connection.query(
                    "SELECT pg_advisory_unlock(\(unescaped: AdvisoryLock.migration.arguments))", logger: logger)
                try await sameSchema.value
                #expect(waited.isSet)
            }
            group.cancelAll()
        }
    }

    final class Flag: Sendable {
        private let value = Atomic<Bool>(false)
        func set() { value.store(true, ordering: .sequentiallyConsistent) }
        var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
    }

    static func suffix() -> String {
        UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    }
}
