import Foundation
import GRPCCore
import GongjiCore
import GongjiPostgres
import GongjiProto
import GongjiServer
import GongjiStorage
import Logging
import Synchronization
import Testing

@Suite("PostgreSQL failover: a primary with a synchronous standby", .serialized, .timeLimit(.minutes(3)), .needsPostgreSQL)
struct FailoverTests {
    @Test(
        "the primary stopped hard under payments and settlements on two daemons, the standby promoted: calls in the gap are UNAVAILABLE (never INTERNAL), both daemons resume on the new primary without a restart, and every acknowledged payment and settlement is there exactly once"
    )
    func failover() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("gongji-failover-\(UUID().uuidString)")
        let primary = root.appendingPathComponent("primary")
        let standby = root.appendingPathComponent("standby")
        let primaryURL = try postgresScript("start", primary)
        defer {
            _ = try? postgresScript("stop", primary)
            _ = try? postgresScript("stop", standby)
            try? FileManager.default.removeItem(at: root)
        }
        let standbyPort = try postgresScript("standby", primary, standby)
        let primaryHost = String(primaryURL.dropFirst("postgres://gongji@".count).prefix { $0 != "/" })
        let url = "postgres://gongji@\(primaryHost),127.0.0.1:\(standbyPort)/gongji"

        let clock = TestClock(inWindow2025)
        let policies = try policiesWithMaanshanAmount()
        let (a, b) = try await TestDaemon.startTwo(clock: clock, policies: policies, postgresql: url)
        defer { Task { await TestDaemon.stop(a, b) } }
        let count = 8
        let (patients, authorizers) = try await seedSettlementPatients(
            a.daemon.store, count: count, policyDirectory: a.daemon.config.policies.directory,
            today: a.clock.today(), now: a.clock.nowUnix())
        let tally = LoadTally(patients: count)
        final class Progress: Sendable {
            let paid: Mutex<[Bool]>
            let afterPromote = Mutex<(a: Int, b: Int, first: ContinuousClock.Instant?)>((0, 0, nil))
            let promoted = Mutex<ContinuousClock.Instant?>(nil)
            init(count: Int) { paid = Mutex([Bool](repeating: false, count: count)) }
        }
        let progress = Progress(count: count)
        func waitFor(_ what: String, seconds: Int = 60, _ condition: () async throws -> Bool) async throws {
            let deadline = ContinuousClock.now + .seconds(seconds)
            while try await !condition() {
                guard ContinuousClock.now < deadline else {
                    Issue.record("timed out waiting for \(what)")
                    throw CancellationError()
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        /// Calls `body` until it succeeds (what the gateway and a hospital's system do: the same
        /// request id or settlement id again), counting each failure by code and reason.
        @Sendable func retried(_ body: () async throws -> Void) async throws {
            let deadline = ContinuousClock.now + .seconds(90)
            while true {
                do {
                    try await body()
                    return
                } catch let error as RPCError {
                    tally.withLock { $0.failures["\(error.code) \(error.reason ?? "-")", default: 0] += 1 }
                    guard ContinuousClock.now < deadline else { throw error }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
        }
        // Each patient has a worker on one of the two daemons: a premium payment for its binding,
        // then settlements of 1.00, each retried with its id until acknowledged.
        let load = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for patient in 0..<count {
                    let daemon = patient % 2 == 0 ? a : b
                    group.addTask {
                        try await daemon.withClient("gateway") { gateway in
                            try await daemon.withClient("settlement") { client in
                                try await retried {
                                    _ = try await PaymentTests().pay(
                                        gateway, "F-PAY-\(patient)", binding: "seed-\(patient)", years: [2025], total: 40500,
                                        as: authorizers[patient].value)
                                }
                                progress.paid.withLock { $0[patient] = true }
                                var round = 0
                                while !tally.withLock({ $0.stop }) {
                                    try await retried {
                                        _ = try await Settler(client: client).settle(
                                            "F-\(patient)-\(round)", patient: patients[patient], amount: 100)
                                    }
                                    tally.withLock { $0.acknowledged[patient] += 1 }
                                    if progress.promoted.withLock({ $0 }) != nil {
                                        progress.afterPromote.withLock {
                                            if patient % 2 == 0 { $0.a += 1 } else { $0.b += 1 }
                                            if $0.first == nil { $0.first = .now }
                                        }
                                    }
                                    round += 1
                                }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        try await waitFor("payments and settlements before the failover") { tally.withLock { $0.total } >= 40 }
        try postgresScript("crash", primary)
        let crashed = ContinuousClock.now
        try await waitFor("calls refused while there is no primary") { tally.withLock { !$0.failures.isEmpty } }
        try await Task.sleep(for: .seconds(1))
        try postgresScript("promote", standby)
        progress.promoted.withLock { $0 = .now }
        try await waitFor("settlements on the new primary through both daemons") {
            progress.afterPromote.withLock { $0.a >= 20 && $0.b >= 20 }
        }
        tally.withLock { $0.stop = true }
        try await load.value

        let final = tally.withLock { $0 }
        let resumed = progress.afterPromote.withLock { $0.first! } - progress.promoted.withLock { $0! }
        let unavailable = final.failures.filter { $0.key.hasPrefix("unavailable") }.values.reduce(0, +)
        // The new primary, read on its own (no failover list).
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let direct = try await PostgresStore(
            configuration: try PostgresStore.configuration(url: "postgres://gongji@127.0.0.1:\(standbyPort)/gongji", poolSize: 2),
            logger: logger)
        defer { direct.close() }
        var present = 0
        for patient in 0..<count {
            let total = try await direct.person(authorizers[patient])!.account!.total
            let expected = 100_000 - Int64(final.acknowledged[patient]) * 100 - (progress.paid.withLock { $0[patient] } ? 40500 : 0)
            #expect(total.fen == expected, "patient \(patient): \(final.acknowledged[patient]) settlements acknowledged, account \(total)")
            if total.fen == expected { present += final.acknowledged[patient] + 1 }
        }
        let acknowledged = final.total + progress.paid.withLock { $0.filter { $0 }.count }
        print(
            "failover: \(unavailable) calls answered UNAVAILABLE in the gap (\(final.failures)); resumed \(resumed) after the promotion "
                + "(\(ContinuousClock.now - crashed) since the crash, in all); \(acknowledged) acknowledged = \(present) present on the new primary"
        )
        #expect(!final.failures.isEmpty && final.failures.keys.allSatisfy { $0.hasPrefix("unavailable") }, "\(final.failures)")
        #expect(progress.paid.withLock { $0.allSatisfy { $0 } })
        #expect(acknowledged == present)
        #expect(try await direct.ledgerSum() == .zero)
    }
}
