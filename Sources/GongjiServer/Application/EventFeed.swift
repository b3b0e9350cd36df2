import Foundation
import GongjiCore
import GongjiStorage
import Logging
import Synchronization

/// The followers of the event journal on this daemon (R-EVT-2, R-EVT-3).
///
/// A follower reads the journal's table after its position, a page at a time, then waits for a
/// wake-up (a commit here, another daemon's notification, or a second passing) and reads again.
/// The table is the truth and positions are in commit order, so a follower that reconnects
/// anywhere with its last position misses nothing and gets nothing twice. Writers never wait for
/// a follower and no follower holds more than a page: one that does not take an event within
/// `slowAfter` is ended with the position to resume from; at most `followersMax` follow at once.
public final class EventFeed: Sendable {
    let store: any FamilyAccountStore
    let signal: EventSignal
    /// Followers at once on this daemon.
    public let followersMax: Int
    /// How long a follower may take to accept one event.
    let slowAfter: Duration
    /// How often a follower reads the table without a wake-up.
    let pollInterval: Duration
    /// Events read at a time.
    static let pageSize = 256
    private struct State {
        var followers = 0
        var stopping = false
    }
    private let state = Mutex(State())
    let logger: Logger
    /// Told of each event delivered, with its age (seconds since it was written, whole seconds).
    let delivered: @Sendable (_ ageSeconds: Int64) -> Void

    /// A feed over `store`'s journal, woken by `signal`.
    public init(
        store: any FamilyAccountStore, signal: EventSignal, followersMax: Int, slowAfter: Duration = .seconds(10),
        pollInterval: Duration = .seconds(1), delivered: @escaping @Sendable (_ ageSeconds: Int64) -> Void = { _ in },
        logger: Logger
    ) {
        self.delivered = delivered
        self.store = store
        self.signal = signal
        self.followersMax = followersMax
        self.slowAfter = slowAfter
        self.pollInterval = pollInterval
        self.logger = logger
    }

    /// Followers now.
    public var followers: Int { state.withLock { $0.followers } }

    /// Ends every follower (graceful shutdown) with DAEMON_STOPPING and where to resume.
    public func stop() {
        state.withLock { $0.stopping = true }
        signal.notify()
    }

    /// Delivers the events after `position` that `person` is a party to (nil: all) to `deliver`,
    /// in position order, until cancelled or ended with an error that says where to resume.
    public func follow(
        after position: Int64, of person: ResidentID?, deliver: @escaping @Sendable (AccountEvent) async throws -> Void
    ) async throws {
        try EventRules.checkPosition(position, removedThrough: try await store.eventsRemovedThrough())
        let admitted = state.withLock { state -> Bool? in
            guard !state.stopping else { return nil }
            guard state.followers < followersMax else { return false }
            state.followers += 1
            return true
        }
        switch admitted {
        case nil: throw EventRules.stopping(resumeAfter: position)
        case false?: throw EventRules.followersBusy(max: followersMax)
        case true?: break
        }
        defer { state.withLock { $0.followers -= 1 } }
        // Subscribed before the first read: a commit between the read and the wait still wakes it.
        // Wake-ups: the signal's, and one every poll interval (a notification lost while the
        // listening connection was being replaced costs latency, not events).
        let signalled = signal.subscribe()
        let (wakeUps, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let progress = Progress(position)
        let interval = pollInterval
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { for await _ in signalled { wake.yield() } }
            group.addTask {
                while true {
                    try await Task.sleep(for: interval)
                    wake.yield()
                }
            }
            group.addTask { try await self.read(from: progress, of: person, wakeUps: wakeUps, deliver: deliver) }
            group.addTask { try await self.watch(progress) }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Reads and delivers, waiting for a wake-up whenever it has caught up.
    private func read(
        from progress: Progress, of person: ResidentID?, wakeUps: AsyncStream<Void>,
        deliver: @Sendable (AccountEvent) async throws -> Void
    ) async throws {
        var wakeUp = wakeUps.makeAsyncIterator()
        while true {
            let page = try await store.events(after: progress.position, of: person, limit: Self.pageSize)
            for event in page {
                progress.startDelivery()
                try await deliver(event)
                progress.delivered(event.position)
                delivered(max(0, Int64(Date().timeIntervalSince1970) - event.at))
            }
            if state.withLock({ $0.stopping }) { throw EventRules.stopping(resumeAfter: progress.position) }
            if page.count == Self.pageSize { continue }
            guard await wakeUp.next() != nil else { throw CancellationError() }
        }
    }

    /// Ends the follower when one delivery takes longer than `slowAfter`.
    private func watch(_ progress: Progress) async throws {
        let tick = min(slowAfter / 4, .seconds(1))
        while true {
            try await Task.sleep(for: tick)
            if let since = progress.deliveringSince, ContinuousClock.now - since > slowAfter {
                logger.notice("event follower too slow: ended", metadata: ["event.position": "\(progress.position)"])
                throw EventRules.tooSlow(resumeAfter: progress.position, seconds: Int(slowAfter.components.seconds))
            }
        }
    }
}

/// Where a follower is: the position of the last event delivered, and since when the event being
/// delivered has been waiting for the follower.
final class Progress: Sendable {
    private struct State {
        var position: Int64
        var deliveringSince: ContinuousClock.Instant?
    }
    private let state: Mutex<State>

    init(_ position: Int64) { state = Mutex(State(position: position)) }

    var position: Int64 { state.withLock { $0.position } }
    var deliveringSince: ContinuousClock.Instant? { state.withLock { $0.deliveringSince } }

    func startDelivery() { state.withLock { $0.deliveringSince = .now } }

    func delivered(_ position: Int64) {
        state.withLock {
            $0.position = position
            $0.deliveringSince = nil
        }
    }
}
