import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GongjiCore
import GongjiProto
import GongjiSQLite
import GongjiServer
import GongjiStorage
import Logging
import Synchronization
import Testing

/// The event stream end to end (R-EVT-2, R-EVT-3): real daemons, mutual TLS, the gateway's client.
@Suite("Event stream", .serialized)
struct EventStreamTests {
    typealias Client = GRPCClient<HTTP2ClientTransport.Posix>

    /// Follows `user`'s events (or every event as the notifier) on `daemon` until `count` arrived.
    static func follow(
        _ daemon: TestDaemon, as user: String?, after: Int64 = 0, count: Int, seconds: Int = 20
    ) async throws -> [Gongji_V1_Event] {
        try await daemon.withClient(user == nil ? "notifier" : "gateway") { client in
            var options = CallOptions.defaults
            options.waitForReady = false
            options.timeout = .seconds(Int64(seconds))
            return try await Gongji_V1_EventService.Client(wrapping: client).followEvents(
                .with {
                    $0.afterPosition = after
                    $0.all = user == nil
                }, metadata: user.map(endUser) ?? [:], options: options
            ) { response in
                var events: [Gongji_V1_Event] = []
                for try await message in response.messages {
                    events.append(message.event)
                    if events.count == count { break }
                }
                return events
            }
        }
    }

    @Test("R-EVT-2 the authorizer's follower sees the binding and the payment as they commit, masked, in order; resumed, nothing twice")
    func followLive() async throws {
        let daemon = try await PaymentTests.start()
        defer { Task { await daemon.stop() } }
        let payments = PaymentTests()
        let follower = Task { try await Self.follow(daemon, as: Demo.hohhotAuthorizer, count: 2) }
        try await Task.sleep(for: .milliseconds(300))
        let binding = try await daemon.withClient("gateway") { client in
            try await payments.bind(
                client, authorizer: Demo.hohhotAuthorizer, member: Demo.hohhotChild, name: "王小明", version: "hohhot-2024-09",
                start: daemon.clock.today())
        }
        _ = try await daemon.withClient("gateway") { client in
            try await payments.pay(client, "ev-pay", binding: binding.bindingID, years: [2025], total: 40500, as: Demo.hohhotAuthorizer)
        }
        let events = try await follower.value
        #expect(events.map(\.kind) == [.bindingCreated, .premiumPaid])
        #expect(events[0].position < events[1].position)
        #expect(events[1].amountFen == 40500 && events[1].hasBalanceAfterFen && events[1].party == .authorizer)
        #expect(events[1].memberNameMasked == "王**" && events[1].bindingID == binding.bindingID)
        for event in events {
            #expect(!"\(event)".contains(Demo.hohhotAuthorizer) && !"\(event)".contains(Demo.hohhotChild), "masked")
        }
        // The member sees the payment made for him, without the authorizer's balance.
        let member = try await Self.follow(daemon, as: Demo.hohhotChild, count: 2)
        #expect(member.map(\.position) == events.map(\.position))
        #expect(member.allSatisfy { $0.party == .member } && !member[1].hasBalanceAfterFen)
        // Resumed after the first: the second only.
        let resumed = try await Self.follow(daemon, as: Demo.hohhotAuthorizer, after: events[0].position, count: 1)
        #expect(resumed.map(\.position) == [events[1].position])
        // A notifier follows everything.
        let all = try await Self.follow(daemon, as: nil, count: 2)
        #expect(all.map(\.position) == events.map(\.position) && all[1].hasBalanceAfterFen)
        // Operators see the deliveries (2 + 2 + 1 + 2) and the followers open now.
        let metrics = daemon.daemon.metrics.render()
        #expect(metrics.contains("gongji_events_delivered_total 7"), "\(metrics)")
        #expect(metrics.contains("gongji_event_followers ") && metrics.contains("gongji_event_delivery_age_seconds_bucket"))
    }

    @Test("R-EVT-3 a follower that does not take an event is ended with where to resume; the feed admits at most its maximum")
    func boundedFollowers() async throws {
        let daemon = try await PaymentTests.start()
        defer { Task { await daemon.stop() } }
        let service = daemon.daemon.service
        // Two events to read: a binding and a payment.
        let payments = PaymentTests()
        let binding = try await daemon.withClient("gateway") { client in
            try await payments.bind(
                client, authorizer: Demo.hohhotAuthorizer, member: Demo.hohhotChild, name: "王小明", version: "hohhot-2024-09",
                start: daemon.clock.today())
        }
        _ = try await daemon.withClient("gateway") { client in
            try await payments.pay(client, "ev-pay", binding: binding.bindingID, years: [2025], total: 40500, as: Demo.hohhotAuthorizer)
        }
        let feed = EventFeed(
            store: daemon.daemon.store, signal: daemon.daemon.sqlite!.eventSignal, followersMax: 1, slowAfter: .seconds(1),
            logger: Logger(label: "test"))
        // A follower that takes the first event and then never returns from the second delivery.
        let delivered = Mutex<[Int64]>([])
        let slow = Task {
            try await feed.follow(after: 0, of: nil) { event in
                delivered.withLock { $0.append(event.position) }
                if delivered.withLock({ $0.count }) == 1 { return }
                try await Task.sleep(for: .seconds(3600))
            }
        }
        try await Task.sleep(for: .milliseconds(200))
        // The one follower admitted is busy: another is refused.
        await #expect(throws: DomainError.self) {
            try await feed.follow(after: 0, of: nil) { _ in }
        }
        do {
            try await slow.value
            Issue.record("a follower that does not take an event must be ended")
        } catch let error as DomainError {
            #expect(error.reason == .followerTooSlow)
            let first = delivered.withLock { $0[0] }
            #expect(error.details["resume_after_position"] == String(first), "resume after the last event it took")
        }
        #expect(feed.followers == 0)
        // Graceful shutdown ends a follower waiting for events, with its position.
        let waiting = Task { try await feed.follow(after: 0, of: nil) { _ in } }
        try await Task.sleep(for: .milliseconds(300))
        feed.stop()
        do {
            try await waiting.value
            Issue.record("stop must end the follower")
        } catch let error as DomainError {
            #expect(error.reason == .daemonStopping && error.details["resume_after_position"] != nil)
        }
        _ = service
    }

    @Test("R-EVT-3 a position the retention removed events after is OUT_OF_RANGE naming the oldest kept")
    func positionGone() async throws {
        let daemon = try await PaymentTests.start()
        defer { Task { await daemon.stop() } }
        let payments = PaymentTests()
        _ = try await daemon.withClient("gateway") { client in
            try await payments.bind(
                client, authorizer: Demo.hohhotAuthorizer, member: Demo.hohhotChild, name: "王小明", version: "hohhot-2024-09",
                start: daemon.clock.today())
        }
        daemon.clock.advance(seconds: 7200)
        #expect(try await daemon.daemon.service.removeExpiredEvents(retentionSeconds: 3600) == 1)
        let error = await rpcFailure { try await Self.follow(daemon, as: Demo.hohhotAuthorizer, after: 0, count: 1) }
        #expect(error?.code == .outOfRange && error?.message.hasPrefix("EVENT_POSITION_GONE") == true, "\(String(describing: error))")
    }
}
