import GongjiStorage
import Testing

@Suite("the followers' wake-up signal")
struct EventSignalTests {
    @Test(
        "followers cancelled while wake-ups are sent: no deadlock, and the cancelled ones are gone",
        .timeLimit(.minutes(1)))
    func cancelWhileNotifying() async {
        // A cancelled follower runs its stream's termination handler (which takes the signal's
        // lock) while holding its task's status lock; a wake-up sent under the signal's lock
        // takes the task's status lock. Sent under the lock, this deadlocked within seconds.
        let signal = EventSignal()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    signal.notify()
                    await Task.yield()
                }
            }
            for _ in 0..<2_000 {
                let follower = Task {
                    for await _ in signal.subscribe() {}
                }
                await Task.yield()
                follower.cancel()
                _ = await follower.value
            }
            group.cancelAll()
        }
        #expect(signal.subscriberCount == 0)
    }
}
