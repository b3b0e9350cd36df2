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
    public func notify() {
        state.withLock { state in
            for continuation in state.subscribers.values { continuation.yield() }
        }
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
