import GRDB
import GongjiCore
import GongjiStorage
import Synchronization

/// Group commit: concurrent write requests share one durable transaction.
///
/// With `synchronous=FULL` every commit costs an fsync of the WAL, so one transaction per
/// request caps throughput at the disk's sync rate. Here requests queue; one of the waiting
/// callers (the leader) takes everything queued (up to `batchMax`), runs each request in its own
/// savepoint of one write transaction, commits once, and only then wakes the others with their
/// results. A request that fails rolls back to its savepoint and fails alone; its neighbours
/// commit. When the commit itself fails, every request of the batch fails and none is
/// acknowledged. The leader then hands leadership to the first caller still queued, so no caller
/// waits for more than the batch in progress plus its own.
///
/// There is no timer and no background task: a lone request commits at once (a batch of one), and
/// batches grow only while a commit is in progress, i.e. exactly when requests would otherwise
/// queue for the writer.
final class GroupCommit: Sendable {
    /// A queued request: the work to run in its savepoint and the waiting caller.
    private struct Pending: Sendable {
        let work: @Sendable (Database) throws -> any Sendable
        let wake: CheckedContinuation<Wake, Never>
    }

    /// What a waiting caller is woken with.
    private enum Wake: Sendable {
        /// Its request was committed (or failed) in a batch of this size; the outcome.
        case finished(Result<any Sendable, any Error>, batchSize: Int)
        /// It leads the next batch, which it is the first of.
        case lead([Pending])
    }

    private struct State {
        var queue: [Pending] = []
        var leading = false
    }

    private let state = Mutex(State())

    /// Requests waiting for the writer now.
    var queueDepth: Int { state.withLock { $0.queue.count } }
    private let pool: DatabasePool
    private let batchMax: Int
    private let mapError: @Sendable (any Error) -> any Error
    private let observe: @Sendable (_ transaction: Duration, _ batchSize: Int, _ committed: Bool) -> Void

    /// `mapError` turns a storage error into the error callers see; `observe` is told each
    /// batch's transaction time and size.
    init(
        pool: DatabasePool, batchMax: Int = 256, mapError: @escaping @Sendable (any Error) -> any Error,
        observe: @escaping @Sendable (Duration, Int, Bool) -> Void
    ) {
        precondition(batchMax >= 1)
        self.pool = pool
        self.batchMax = batchMax
        self.mapError = mapError
        self.observe = observe
    }

    /// Runs `work` inside a savepoint of a shared write transaction and returns its result once
    /// that transaction is durable. `work` must only use `db` (it runs on the writer).
    func submit<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let wake = await withCheckedContinuation { (continuation: CheckedContinuation<Wake, Never>) in
            let pending = Pending(work: { try work($0) }, wake: continuation)
            let batch = state.withLock { state -> [Pending]? in
                state.queue.append(pending)
                guard !state.leading else { return nil }
                state.leading = true
                return takeBatch(&state)
            }
            if let batch { continuation.resume(returning: .lead(batch)) }
        }
        let outcome: Result<any Sendable, any Error>
        let batchSize: Int
        switch wake {
        case .finished(let result, let size):
            (outcome, batchSize) = (result, size)
        case .lead(let batch):
            let results = await run(batch)
            // Hand over before waking anyone, so the next batch starts while this one's callers reply.
            let next = state.withLock { state -> [Pending]? in
                guard !state.queue.isEmpty else {
                    state.leading = false
                    return nil
                }
                return takeBatch(&state)
            }
            if let next { next[0].wake.resume(returning: .lead(next)) }
            for (pending, result) in zip(batch, results).dropFirst() {
                pending.wake.resume(returning: .finished(result, batchSize: batch.count))
            }
            (outcome, batchSize) = (results[0], batch.count)
        }
        StoreTracing.note("gongji.batch_size", batchSize)
        // The value was produced by `work`, which returns a T.
        return try outcome.get() as! T
    }

    /// Requests waiting for a batch (for tests).
    var queuedCount: Int { state.withLock { $0.queue.count } }
    /// Whether a batch is being committed (for tests).
    var isCommitting: Bool { state.withLock { $0.leading } }

    private func takeBatch(_ state: inout State) -> [Pending] {
        let count = min(batchMax, state.queue.count)
        let batch = Array(state.queue.prefix(count))
        state.queue.removeFirst(count)
        return batch
    }

    /// One write transaction for the batch, each request in a savepoint. Runs on GRDB's writer
    /// queue, outside the leader's task, so cancelling the leader's call cannot abort its
    /// neighbours' payments.
    private func run(_ batch: [Pending]) async -> [Result<any Sendable, any Error>] {
        let started = ContinuousClock.now
        let (results, committed) = await withCheckedContinuation {
            (continuation: CheckedContinuation<([Result<any Sendable, any Error>], Bool), Never>) in
            pool.asyncWriteWithoutTransaction { [mapError] db in
                var results: [Result<any Sendable, any Error>] = []
                results.reserveCapacity(batch.count)
                var committed = true
                do {
                    try db.inTransaction(.immediate) {
                        for pending in batch {
                            var value: (any Sendable)?
                            do {
                                try db.inSavepoint {
                                    value = try pending.work(db)
                                    return .commit
                                }
                                results.append(.success(value!))
                            } catch {
                                // A failure that ended the whole transaction (disk full, I/O
                                // error) fails the batch; anything else fails this request only.
                                guard db.isInsideTransaction else { throw error }
                                results.append(.failure(mapError(error)))
                            }
                        }
                        return .commit
                    }
                } catch {
                    let failure = mapError(error)
                    results = batch.map { _ in .failure(failure) }
                    committed = false
                }
                continuation.resume(returning: (results, committed))
            }
        }
        observe(ContinuousClock.now - started, batch.count, committed)
        return results
    }
}
