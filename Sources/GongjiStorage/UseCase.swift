import GongjiCore

/// One use case as a backend runs it, in one transaction: a request seen before (its key) gets
/// its recorded answer back; otherwise the facts are read under their locks, the core decides
/// (a pure, synchronous call), the write-set is applied, and the key records the result.
/// Built by the scripts of `UseCases.swift`; a backend only reads, applies and records.
public struct UseCase<Answer: Sendable>: Sendable {
    /// The request's key, or nil for a mutation that is not retried by key.
    public var key: IdempotencyKey?
    /// What the decision reads.
    public var facts: FactsRequest
    /// The decision: the write-set, and how the answer and the recorded result follow from what
    /// the backend assigned.
    public var decide: @Sendable (StoredFacts) throws -> Decision<Answer>
    /// What a replay reads, from the recorded result.
    public var replayFacts: @Sendable (String) -> FactsRequest
    /// The answer of a replay, from the recorded result and what it read.
    public var replayed: @Sendable (String, StoredFacts) throws -> Answer

    /// A use case; without a replay it has no key.
    public init(
        key: IdempotencyKey?, facts: FactsRequest, decide: @escaping @Sendable (StoredFacts) throws -> Decision<Answer>,
        replayFacts: @escaping @Sendable (String) -> FactsRequest = { _ in .nothing },
        replayed: @escaping @Sendable (String, StoredFacts) throws -> Answer
    ) {
        self.key = key
        self.facts = facts
        self.decide = decide
        self.replayFacts = replayFacts
        self.replayed = replayed
    }

    /// What a replay of `stored` reads: R-PAY-9, the same key with other content is refused.
    public func replaying(_ stored: StoredResult) throws -> FactsRequest {
        guard let key else { preconditionFailure("a stored result is looked up by key") }
        try Idempotency.checkRetry(of: key, storedFingerprint: stored.fingerprint)
        return replayFacts(stored.result)
    }
}

/// What the core decided for one use case.
public struct Decision<Answer: Sendable>: Sendable {
    /// The rows to write.
    public var writes: WriteSet
    /// The answer and the result the key records, once the backend has applied the writes.
    public var finish: @Sendable (Applied) -> (answer: Answer, result: String)

    /// Creates a decision. Every use of an account and every change of a binding it writes comes
    /// with its event (R-EVT-1; asserted, so every test of every use case checks it).
    public init(_ writes: WriteSet, finish: @escaping @Sendable (Applied) -> (answer: Answer, result: String)) {
        assert(writes.recordsEveryEvent, "a write-set without the events of its changes: \(writes.writes)")
        self.writes = writes
        self.finish = finish
    }
}

/// What a backend offers the scripts: a snapshot read of facts, and use cases run in one
/// transaction (`bulk`: a transaction of their own; otherwise SQLite shares one durable
/// transaction among concurrent requests, each in its own savepoint). SQL and locks are all
/// that differ between backends.
public protocol StorageBackend: Sendable {
    /// The facts of `request` from one snapshot, locking nothing (quotes, pre-settlements).
    func facts(_ request: FactsRequest) async throws -> StoredFacts
    /// Runs `useCases` in order in one transaction; every answer, or nothing written.
    func run<Answer: Sendable>(_ useCases: [UseCase<Answer>], bulk: Bool) async throws -> [Answer]
    /// The database, as OpenTelemetry's `db.system` names it (`sqlite`, `postgresql`).
    var databaseSystem: String { get }
    /// Signalled after each use case commits (and, on PostgreSQL, when another daemon's does).
    var eventSignal: EventSignal { get }
}

extension StorageBackend {
    /// Runs one use case; in a traced call, in a span named after the script that runs it.
    public func run<Answer: Sendable>(_ useCase: UseCase<Answer>, bulk: Bool = false, script: String = #function) async throws -> Answer {
        guard let answer = try await run(all: [useCase], bulk: bulk, script: script).first else {
            throw StoreError(.database, "a use case gave no answer")
        }
        return answer
    }

    /// Runs `useCases` in one transaction; in a traced call, in a span named after the script.
    /// Once it has committed, the journal's followers are woken (it may have written events).
    public func run<Answer: Sendable>(all useCases: [UseCase<Answer>], bulk: Bool, script: String = #function) async throws -> [Answer] {
        let answers = try await traced(useCases, bulk: bulk, name: script)
        eventSignal.notify()
        return answers
    }
}
