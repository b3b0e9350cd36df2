import Foundation
import GongjiCore
import GongjiStorage
import Logging
import PostgresNIO
import Testing

@testable import GongjiPostgres

/// The hot paths' statements are prepared once per connection (`Prepared`); what that must not
/// break.
@Suite("PostgreSQL: prepared statements", .enabled(if: TestServer.url != nil, "needs GONGJI_TEST_POSTGRES_URL"))
struct PostgresPreparedTests {
    @Test("a column a later migration adds (by a newer daemon) does not break the statements this daemon has prepared")
    func columnAddedUnderPreparedStatements() async throws {
        let logger = TestServer.logger
        let schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await TestServer.createSchema(schema, url: TestServer.url!)
        // One connection: the statements are prepared on the one the later calls use.
        let configuration = try PostgresStore.configuration(url: TestServer.url! + "?search_path=" + schema, poolSize: 1)
        let store = try await PostgresStore(configuration: configuration, logger: logger)
        defer { store.close() }
        let today = CivilDate(year: 2024, month: 10, day: 15)!
        let patient = try ResidentID.parse(
            ResidentID.compose(area: "150102", born: CivilDate(iso: "1980-03-15")!, sequence: 1), today: today)
        let requests: [FactsRequest] = [
            .premium(bindingID: "b1"), .settlement(institution: try InstitutionCode.parse("H15010000001"), patient: patient, day: today),
        ]
        for request in requests { _ = try await store.facts(request) }
        // A newer daemon's migration, while this one runs.
        let other = PostgresClient(configuration: configuration, backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await other.run() }
            for table in ["binding", "person", "account", "wallet_holding", "institution"] {
                try await other.query(PostgresQuery(unsafeSQL: "ALTER TABLE \(table) ADD COLUMN added_later TEXT"), logger: logger)
            }
            group.cancelAll()
        }
        for request in requests {
            // With `SELECT b.*` PostgreSQL refused: "cached plan must not change result type".
            await #expect(throws: Never.self, "\(request)") { _ = try await store.facts(request) }
        }
    }
}
