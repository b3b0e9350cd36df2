import Dispatch
import Foundation
import GRDB
import GongjiCore
import GongjiStorage
import Logging
import Synchronization
import Testing

@testable import GongjiSQLite

/// The outcome of `body` as a value.
func capture<T: Sendable>(_ body: () async throws -> T) async -> Result<T, any Error> {
    do { return .success(try await body()) } catch { return .failure(error) }
}

/// Group commit: concurrent requests share one durable transaction, each in its own savepoint.
@Suite("Group commit")
struct GroupCommitTests {
    /// The batch sizes a store reported.
    final class BatchLog: Sendable {
        let sizes = Mutex<[Int]>([])
    }

    /// A store in a fresh directory, with the batch sizes it reports.
    final class Fixture: Sendable {
        let directory: URL
        let store: SQLiteStore
        let batchLog = BatchLog()

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("gongji-gc-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let log = batchLog
            try SQLiteStore.create(path: directory.appendingPathComponent("db.sqlite").path)
            store = try SQLiteStore(
                path: directory.appendingPathComponent("db.sqlite").path,
                observeBatchSize: { size in log.sizes.withLock { $0.append(size) } })
        }

        deinit {
            try? store.close()
            try? FileManager.default.removeItem(at: directory)
        }

        /// Holds the writer until the returned gate is opened, so that requests queue behind it.
        func blockWriter() -> DispatchSemaphore {
            let gate = DispatchSemaphore(value: 0)
            store.pool.asyncWriteWithoutTransaction { _ in gate.wait() }
            return gate
        }

        /// Waits until a batch is being committed (held by the blocked writer).
        func waitForCommit() async throws {
            for _ in 0..<1000 where !store.groupCommit.isCommitting { try await Task.sleep(for: .milliseconds(5)) }
            #expect(store.groupCommit.isCommitting)
        }

        /// Waits until `count` requests are queued for the next batch.
        func waitForQueue(_ count: Int) async throws {
            for _ in 0..<1000 where store.groupCommit.queuedCount < count { try await Task.sleep(for: .milliseconds(5)) }
            #expect(store.groupCommit.queuedCount == count)
        }

        /// A request that records `name` (as an idempotency row).
        func record(_ name: String) async throws -> String {
            try await store.groupCommit.submit { db in
                try SQLiteStore.recordResult(
                    IdempotencyKey(scope: "test", requestID: name, fingerprint: Data([1])), result: name, now: 0, in: db)
                return name
            }
        }

        func recorded() throws -> Set<String> {
            Set(try store.pool.read { try String.fetchAll($0, sql: "SELECT request_id FROM idempotency") })
        }
    }

    @Test("A lone request commits at once, in a batch of one")
    func loneRequestCommitsAlone() async throws {
        let fixture = try Fixture()
        #expect(try await fixture.record("a") == "a")
        #expect(try fixture.recorded() == ["a"])
        #expect(fixture.batchLog.sizes.withLock { $0 } == [1])
    }

    @Test("Requests that queue behind a commit share the next transaction; a failing one fails alone")
    func failingRequestDoesNotFailItsNeighbours() async throws {
        let fixture = try Fixture()
        let gate = fixture.blockWriter()
        let outcomes = try await withThrowingTaskGroup(of: (Int, Result<String, any Error>).self) { group in
            group.addTask { (0, await capture { try await fixture.record("r0") }) }
            try await fixture.waitForCommit()
            for index in 1..<20 {
                group.addTask {
                    let result = await capture { () async throws -> String in
                        if index == 7 {
                            return try await fixture.store.groupCommit.submit { db -> String in
                                try SQLiteStore.recordResult(
                                    IdempotencyKey(scope: "test", requestID: "r7", fingerprint: Data([1])),
                                    result: "r7", now: 0, in: db)
                                throw DomainError.notParty("test")
                            }
                        }
                        let name = try await fixture.record("r\(index)")
                        // Acknowledged means committed: another connection sees it.
                        #expect(try fixture.recorded().contains(name))
                        return name
                    }
                    return (index, result)
                }
            }
            try await fixture.waitForQueue(19)
            gate.signal()
            var outcomes: [Int: Result<String, any Error>] = [:]
            for try await (index, result) in group { outcomes[index] = result }
            return outcomes
        }
        for index in 0..<20 where index != 7 {
            #expect(try outcomes[index]?.get() == "r\(index)")
        }
        let refused: (any Error)? = if case .failure(let error)? = outcomes[7] { error } else { nil }
        let reason = (refused as? DomainError)?.reason
        #expect(reason == .notParty)
        #expect(try fixture.recorded() == Set((0..<20).filter { $0 != 7 }.map { "r\($0)" }))
        #expect(fixture.batchLog.sizes.withLock { $0 } == [1, 19])
    }

    @Test("A request that ends the transaction fails its whole batch and nothing of the batch is kept")
    func brokenTransactionFailsTheBatch() async throws {
        let fixture = try Fixture()
        let gate = fixture.blockWriter()
        let outcomes = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            group.addTask { (0, (try? await fixture.record("r0")) != nil) }
            try await fixture.waitForCommit()
            for index in 1...5 {
                group.addTask {
                    if index == 3 {
                        let ok =
                            (try? await fixture.store.groupCommit.submit { db -> String in
                                try db.execute(sql: "ROLLBACK")
                                throw DomainError.notParty("test")
                            }) != nil
                        return (index, ok)
                    }
                    return (index, (try? await fixture.record("r\(index)")) != nil)
                }
            }
            try await fixture.waitForQueue(5)
            gate.signal()
            var outcomes: [Int: Bool] = [:]
            for try await (index, ok) in group { outcomes[index] = ok }
            return outcomes
        }
        #expect(outcomes == [0: true, 1: false, 2: false, 3: false, 4: false, 5: false])
        #expect(try fixture.recorded() == ["r0"])
        // The writer is usable afterwards.
        #expect(try await fixture.record("after") == "after")
    }

    @Test("Cancelling the caller that leads a batch does not cancel its neighbours' requests")
    func cancelledLeaderStillCommitsItsBatch() async throws {
        let fixture = try Fixture()
        let gate = fixture.blockWriter()
        let first = Task { try await fixture.record("first") }
        try await fixture.waitForCommit()
        // These two queue; "second" will lead their batch.
        let second = Task { try await fixture.record("second") }
        try await fixture.waitForQueue(1)
        let third = Task { try await fixture.record("third") }
        try await fixture.waitForQueue(2)
        second.cancel()
        gate.signal()
        #expect(try await first.value == "first")
        #expect(try await third.value == "third")
        #expect(try await second.value == "second")
        #expect(try fixture.recorded() == ["first", "second", "third"])
        #expect(fixture.batchLog.sizes.withLock { $0 } == [1, 2])
    }
}
