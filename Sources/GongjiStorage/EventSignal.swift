import Synchronization

/// "Events may have committed": the wake-up of the journal's followers (R-EVT-2). The journal's
/// table is the truth; a wake-up only tells a follower to read it again, so one missed or one
/// too many changes nothing but latency. A backend signals after each use case it commits, and on
/// PostgreSQL also when another daemon's commit notifies (`LISTEN gongji_events`).
public final class EventSignal: Sendable {
    private struct State {
        var next: UInt64 = 0
        var subscribers: [UInt64: AsyncStream<Void>.Continuation] = [:]
    }
    private let state = Mutex(State())

    /// A signal with no subscribers.
    public init() {}

    /// Wakes every subscriber (wake-ups not yet taken merge into one).
    ///
    /// The wake-ups are sent after the lock is released: yielding resumes a follower's task, which
    /// takes that task's status lock, while a follower being cancelled holds its status lock and
    /// runs the stream's termination handler, which takes this lock. Yielding under the lock
    /// deadlocked the two (found under `bench/run --postgresql`: a daemon stopped with a
    /// transaction open under the event journal's lock, and every write on both daemons waited
    /// behind it).
    public func notify() {
        let continuations = state.withLock { Array($0.subscribers.values) }
        for continuation in continuations { continuation.yield() }
    }

    /// The wake-ups from now on, until the stream is dropped.
    public func subscribe() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state in
            state.next += 1
            state.subscribers[state.next] = continuation
            return state.next
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Subscribers now.
    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }
}
