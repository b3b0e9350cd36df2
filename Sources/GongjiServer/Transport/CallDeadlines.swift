import NIOCore
import NIOPosix
import Synchronization

/// Bounds how long a call may run (`limits.call_timeout_seconds`) without a task per call.
///
/// A call registers its own task and deadline, runs, and deregisters. A sweep on an event loop
/// every `resolution` cancels the tasks whose deadline has passed; such a call then fails with
/// DEADLINE_EXCEEDED (CALL_TIMEOUT). Racing the body against a sleeping child task in a task group
/// did the same at the price of a task group, a child task and a timer per call: a fifth of the
/// server's CPU per health check.
///
/// Safety: `UnsafeCurrentTask.cancel()` may be called from another task (it is part of `Task`'s
/// API) as long as the task is alive. Registration, deregistration and the sweep's cancel all hold
/// the same lock, and a call deregisters before it returns, so a registered task is always alive
/// (as swift-testing does for `Test.cancel()`).
final class CallDeadlines: Sendable {
    /// A registered call's task. Only `cancel()` is used from other threads (see above).
    private struct CallTask: @unchecked Sendable {
        let task: UnsafeCurrentTask
    }

    private struct Entry: Sendable {
        var deadline: NIODeadline
        var task: CallTask
        var fired: Bool
    }

    private struct Calls {
        var next: UInt64 = 0
        var entries: [UInt64: Entry] = [:]
    }

    private let calls = Mutex(Calls())
    private let sweeper = Mutex<RepeatedTask?>(nil)

    /// Checks deadlines every `resolution` on `eventLoop`.
    init(resolution: TimeAmount = .milliseconds(250), eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.next()) {
        let task = eventLoop.scheduleRepeatedTask(initialDelay: resolution, delay: resolution) { [weak self] _ in
            self?.cancelExpired(now: .now())
        }
        sweeper.withLock { $0 = task }
    }

    deinit {
        sweeper.withLock { $0?.cancel() }
    }

    /// Calls registered now.
    var count: Int { calls.withLock { $0.entries.count } }

    /// Runs `body` in the current task; when it runs past `timeout` the task is cancelled and the
    /// call fails with DEADLINE_EXCEEDED, whatever `body` returned or threw.
    func run<T>(timeout: Duration, _ body: () async throws -> T) async throws -> T {
        let deadline = NIODeadline.now() + .nanoseconds(timeout.nanoseconds)
        let id = withUnsafeCurrentTask { task -> UInt64? in
            guard let task else { return nil }
            let handle = CallTask(task: task)
            return calls.withLock { calls in
                calls.next &+= 1
                calls.entries[calls.next] = Entry(deadline: deadline, task: handle, fired: false)
                return calls.next
            }
        }
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        let fired = id.map { id in calls.withLock { $0.entries.removeValue(forKey: id)?.fired ?? false } } ?? false
        if fired {
            throw requestError(.deadlineExceeded, reason: .callTimeout, message: "the call took longer than \(timeout)",
                               zh: "处理超时，请重试")
        }
        return try result.get()
    }

    /// Runs `body` in a child task bounded by `timeout`; past it the child is cancelled and the
    /// call fails DEADLINE_EXCEEDED (CALL_TIMEOUT). For calls that stream their requests
    /// (uploads, imports, reconciliations): cancelling the call's own task, as `run` does, also
    /// cancels gRPC's writing of the status in that task, and the client saw CANCELLED instead of
    /// the reason. A child task and a timer per call is a small price on these calls.
    func runInChild<T: Sendable>(timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let outcome: T? = try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        guard let outcome else {
            throw requestError(.deadlineExceeded, reason: .callTimeout, message: "the call took longer than \(timeout)",
                               zh: "处理超时，请重试")
        }
        return outcome
    }

    /// Cancels every registered call whose deadline is before `now` (once).
    func cancelExpired(now: NIODeadline) {
        calls.withLock { calls in
            for (id, entry) in calls.entries where !entry.fired && entry.deadline <= now {
                calls.entries[id]?.fired = true
                entry.task.task.cancel()
            }
        }
    }
}
