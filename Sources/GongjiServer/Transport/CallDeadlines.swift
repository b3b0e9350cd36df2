import NIOCore
import NIOPosix
import Synchronization

/// Bounds how long a call may run (`limits.call_timeout_seconds`) without a task per call.
///
/// A call registers its own task and deadline, runs, and deregisters. A sweep on an event loop
/// every `resolution` marks the calls whose deadline has passed: such a call fails with
/// DEADLINE_EXCEEDED (CALL_TIMEOUT) whenever its body returns. Its task is cancelled only
/// `hardStop` later: cancelling it at once also cancelled gRPC's write of the status in that task,
/// and the client saw CANCELLED without the reason; a call waiting for the database returns within
/// the lease timeout (3 s) and its answer gets through. Racing the body against a sleeping child task in a task group
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
        var cancelled = false
    }

    private struct Calls {
        var next: UInt64 = 0
        var entries: [UInt64: Entry] = [:]
    }

    private let calls = Mutex(Calls())
    private let sweeper = Mutex<RepeatedTask?>(nil)
    /// How long after its deadline a call's task is cancelled.
    let hardStop: TimeAmount

    /// Checks deadlines every `resolution` on `eventLoop`; cancels a late call's task `hardStop`
    /// after its deadline.
    init(
        resolution: TimeAmount = .milliseconds(250), hardStop: TimeAmount = .seconds(5),
        eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.next()
    ) {
        self.hardStop = hardStop
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

    /// Runs `body` in the current task; when it runs past `timeout` the call fails with
    /// DEADLINE_EXCEEDED, whatever `body` returned or threw, and its task is cancelled if it is
    /// still running `hardStop` later.
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
            throw requestError(
                .deadlineExceeded, reason: .callTimeout, message: "the call took longer than \(timeout)",
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
            throw requestError(
                .deadlineExceeded, reason: .callTimeout, message: "the call took longer than \(timeout)",
                zh: "处理超时，请重试")
        }
        return outcome
    }

    /// Marks every registered call whose deadline is before `now` (once), and cancels the task
    /// of those `hardStop` past it (once).
    func cancelExpired(now: NIODeadline) {
        calls.withLock { calls in
            for (id, entry) in calls.entries where entry.deadline <= now {
                if !entry.fired { calls.entries[id]?.fired = true }
                if !entry.cancelled && entry.deadline + hardStop <= now {
                    calls.entries[id]?.cancelled = true
                    entry.task.task.cancel()
                }
            }
        }
    }
}
