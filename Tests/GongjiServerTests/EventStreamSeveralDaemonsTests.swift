import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GongjiCore
import GongjiProto
import GongjiServer
import Synchronization
import Testing

/// R-EVT-1 and R-EVT-2 with several daemons on one PostgreSQL database.
@Suite("Event stream across daemons", .serialized, .needsPostgreSQL, .timeLimit(.minutes(3)))
struct EventStreamSeveralDaemonsTests {
    /// The positions one follower received.
    final class Received: Sendable {
        private let positions = Mutex<[Int64]>([])
        var all: [Int64] { positions.withLock { $0 } }
        var last: Int64? { positions.withLock { $0.last } }
        func add(_ position: Int64) { positions.withLock { $0.append(position) } }
    }

    /// Follows on `daemon` after `after` (every event, or `user`'s) until `received` holds `total`
    /// positions, or `stopAt` of them (then returns, as a follower that goes away does).
    static func follow(
        _ daemon: TestDaemon, as user: String?, after: Int64, into received: Received, until total: Int, stopAt: Int? = nil
    ) async throws {
        let limit = stopAt ?? total
        guard received.all.count < limit else { return }
        try await daemon.withClient(user == nil ? "notifier" : "gateway") { client in
            var options = CallOptions.defaults
            options.waitForReady = false
            options.timeout = .seconds(120)
            try await Gongji_V1_EventService.Client(wrapping: client).followEvents(
                .with {
                    $0.afterPosition = after
                    $0.all = user == nil
                }, metadata: user.map(endUser) ?? [:], options: options
            ) { response in
                for try await message in response.messages {
                    received.add(message.event.position)
                    if received.all.count >= limit { return }
                }
            }
        }
    }

    @Test(
        "R-EVT-1 R-EVT-2 R-EVT-3 500 settlements committing on two daemons: four followers — two per daemon, one moving to the other daemon halfway — each see every event exactly once, in position order, as the table holds them; a follower that stops taking events is ended with where to resume, and the writers go on"
    )
    func fourFollowers() async throws {
        let url = try await freshPostgresSchema()
        let clock = TestClock(inWindow2025)
        let a = try await TestDaemon.start(clock: clock, postgresql: url, events: .init(slowFollowerSeconds: 1))
        let b = try await TestDaemon.start(directory: a.directory, pki: a.pki, clock: clock, postgresql: url)
        defer { Task { await TestDaemon.stop(a, b) } }
        let workers = 10
        let perWorker = 50
        let (patients, authorizers) = try await seedSettlementPatients(
            a.daemon.store, count: workers, policyDirectory: a.daemon.config.policies.directory, today: clock.today(),
            now: clock.nowUnix())
        let start = try await a.daemon.store.events(after: 0, of: nil, limit: 10_000).last?.position ?? 0
        let total = workers * perWorker
        let perPerson = perWorker
        let onA = Received()
        let mineOnA = Received()
        let onB = Received()
        let mover = Received()
        let slow = Received()
        let slowEnd = Mutex<DomainError?>(nil)
        // A follower on A that takes one event and then no more (the daemon's own feed, as its RPC uses).
        let feed = try #require(a.daemon.service.events)
        let stalled = Task {
            do {
                try await feed.follow(after: start, of: nil) { event in
                    slow.add(event.position)
                    if slow.all.count > 1 { try await Task.sleep(for: .seconds(3600)) }
                }
            } catch let error as DomainError {
                slowEnd.withLock { $0 = error }
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await Self.follow(a, as: nil, after: start, into: onA, until: total) }
            group.addTask {
                try await Self.follow(a, as: authorizers[0].value, after: start, into: mineOnA, until: perPerson)
            }
            group.addTask { try await Self.follow(b, as: nil, after: start, into: onB, until: total) }
            group.addTask {
                // Halfway it goes away, and comes back to the other daemon with its last position.
                try await Self.follow(b, as: nil, after: start, into: mover, until: total, stopAt: total / 2)
                try await Self.follow(a, as: nil, after: mover.last ?? start, into: mover, until: total)
            }
            try await Task.sleep(for: .milliseconds(500))
            // The mutations: each patient settles 1.00 fifty times, on the daemon of its parity.
            for worker in 0..<workers {
                group.addTask {
                    try await (worker % 2 == 0 ? a : b).withClient("settlement") { client in
                        for round in 0..<perWorker {
                            _ = try await Settler(client: client).settle("E-\(worker)-\(round)", patient: patients[worker], amount: 100)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        try await stalled.value
        let ended = slowEnd.withLock { $0 }
        #expect(ended?.reason == .followerTooSlow, "\(String(describing: ended))")
        #expect(ended?.details["resume_after_position"] == slow.all.first.map(String.init), "resume after the one it took")
        let table = try await a.daemon.store.events(after: start, of: nil, limit: 10_000)
        #expect(table.count == total, "one event per settlement")
        let positions = table.map(\.position)
        #expect(onA.all == positions, "follower on A")
        #expect(onB.all == positions, "follower on B")
        #expect(mover.all == positions, "the follower that moved from B to A: nothing missed, nothing twice")
        #expect(mineOnA.all == table.filter { $0.concerns(authorizers[0]) }.map(\.position), "the authorizer's own follower")
        #expect(Set(mover.all).count == mover.all.count)
    }
}

/// A count shared by tasks.
private final class Tally: Sendable {
    private let value = Mutex(0)
    var count: Int { value.withLock { $0 } }
    func add() { value.withLock { $0 += 1 } }
}

/// R-CTL-1 with several daemons: the freeze takes effect with its commit.
@Suite("Freezing family use across daemons", .serialized, .needsPostgreSQL, .timeLimit(.minutes(3)))
struct FreezeRaceTests {
    @Test(
        "R-CTL-1 settlements racing a freeze on two daemons: none committed after the freeze's commit pays family funds (event positions are commit order)"
    )
    func freezeRacesSettlements() async throws {
        let clock = TestClock(inWindow2025)
        let (a, b) = try await TestDaemon.startTwo(clock: clock)
        defer { Task { await TestDaemon.stop(a, b) } }
        let (patients, authorizers) = try await seedSettlementPatients(
            a.daemon.store, count: 1, policyDirectory: a.daemon.config.policies.directory, today: clock.today(), now: clock.nowUnix())
        let authorizer = authorizers[0]
        let start = try await a.daemon.store.events(after: 0, of: nil, limit: 10_000).last?.position ?? 0
        // The freeze goes out once settlements are being answered on both daemons (a fixed delay
        // raced the clients' handshakes on a slow machine), while most are still to come.
        let answered = Tally()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    try await (worker % 2 == 0 ? a : b).withClient("settlement") { client in
                        for round in 0..<40 {
                            _ = try await retryingKeyed {
                                try await Settler(client: client).settle("F-\(worker)-\(round)", patient: patients[0], amount: 100)
                            }
                            answered.add()
                        }
                    }
                }
            }
            group.addTask {
                let deadline = ContinuousClock.now + .seconds(60)
                while answered.count < 16 && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(5))
                }
                _ = try await b.withClient("gateway") { client in
                    try await retryingKeyed {
                        try await Gongji_V1_BindingService.Client(wrapping: client).freezeFamilyUse(
                            .with {
                                $0.requestID = "freeze-1"
                                $0.frozen = true
                            }, metadata: endUser(authorizer.value), options: failFast)
                    }
                }
            }
            try await group.waitForAll()
        }
        let events = try await a.daemon.store.events(after: start, of: authorizer, limit: 10_000)
        let freeze = try #require(events.first { $0.kind == .familyUseFrozen })
        let paidBefore = events.filter { $0.kind == .settled && $0.position < freeze.position }
        let paidAfter = events.filter { $0.kind == .settled && $0.position > freeze.position }
        #expect(paidAfter.isEmpty, "\(paidAfter.count) settlements paid family funds after the freeze committed")
        #expect(!paidBefore.isEmpty, "the race started before the freeze (some paid first)")
    }
}
