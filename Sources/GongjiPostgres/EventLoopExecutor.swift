import NIOCore

/// Runs a task's jobs on one event loop. A lease's body runs with its connection's loop as the
/// task's executor: a statement is written from the loop that owns the connection (no hop to it),
/// and the answer resumes the body on that loop (no hop back to the cooperative pool). On the
/// cooperative pool each round trip cost two thread hops; a payment makes eight round trips.
///
/// The body must not block (it would stall the loop's other connections): a store's bodies
/// decode rows, decide and encode — the waiting is for PostgreSQL, asynchronously.
final class EventLoopExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
