import Testing

@testable import GongjiPostgres

/// A lease's body runs with its connection's event loop as the task's executor
/// (`EventLoopExecutor`): no thread hop per round trip.
@Suite("PostgreSQL: a lease runs on its connection's event loop", .enabled(if: TestServer.url != nil, "needs GONGJI_TEST_POSTGRES_URL"))
struct PostgresLeaseTests {
    @Test(
        "a transaction's body runs on the loop that owns its connection, before and after each statement; 100 at once on 4 connections all commit and leave no lease behind"
    )
    func bodyOnTheConnectionsLoop() async throws {
        let logger = TestServer.logger
        let store = try await TestServer.freshStore(poolSize: 4)
        defer { store.close() }
        let seen = try await withThrowingTaskGroup(of: [Bool].self) { group in
            for _ in 0..<100 {
                group.addTask {
                    try await store.transaction { c in
                        var onLoop = [c.eventLoop.inEventLoop]
                        for _ in 0..<3 {
                            try await c.run("SELECT 1", logger: logger)
                            onLoop.append(c.eventLoop.inEventLoop)
                        }
                        return onLoop
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(seen.allSatisfy { $0 == [true, true, true, true] })
        #expect(store.statistics.inUse == 0)
    }
}
