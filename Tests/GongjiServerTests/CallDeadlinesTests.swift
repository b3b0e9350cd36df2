import Foundation
import GRPCCore
import GongjiClient
import GongjiDev
import NIOCore
import Testing

@testable import GongjiServer

/// Runs `body` in a task of its own, as the server runs each call (cancelling the test's own task
/// would cancel the test).
func inCallTask<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await Task { try await body() }.value
}

@Suite("calls are bounded by limits.call_timeout_seconds without a task per call")
struct CallDeadlinesTests {
    @Test("a call past its deadline fails DEADLINE_EXCEEDED / CALL_TIMEOUT, its task cancelled hardStop later; others are untouched")
    func timeout() async throws {
        let deadlines = CallDeadlines(resolution: .milliseconds(20), hardStop: .milliseconds(100))
        let started = ContinuousClock.now
        let slow = await rpcFailure {
            try await inCallTask { try await deadlines.run(timeout: .milliseconds(100)) { try await Task.sleep(for: .seconds(30)) } }
        }
        #expect(slow?.code == .deadlineExceeded && slow?.reason == "CALL_TIMEOUT", "\(String(describing: slow))")
        // Far sooner than the body's 30 s (the bound is loose: the whole suite shares 2 cores).
        #expect(ContinuousClock.now - started < .seconds(20))
        // A call that ignores cancellation still fails once its deadline has passed.
        let stubborn = await rpcFailure {
            try await inCallTask {
                try await deadlines.run(timeout: .milliseconds(50)) {
                    let until = ContinuousClock.now + .milliseconds(300)
                    while ContinuousClock.now < until { await Task.yield() }
                    return 1
                }
            }
        }
        #expect(stubborn?.code == .deadlineExceeded)
        // Fast calls return their result or their own error, and leave nothing registered.
        #expect(try await inCallTask { try await deadlines.run(timeout: .seconds(5)) { 42 } } == 42)
        let own = await rpcFailure {
            try await inCallTask { try await deadlines.run(timeout: .seconds(5)) { throw RPCError(code: .notFound, message: "x") } }
        }
        #expect(own?.code == .notFound)
        #expect(deadlines.count == 0)
    }

    @Test("many concurrent calls: only the slow ones time out")
    func concurrent() async throws {
        let deadlines = CallDeadlines(resolution: .milliseconds(20), hardStop: .milliseconds(100))
        let codes = await withTaskGroup(of: RPCError.Code?.self) { group in
            for index in 0..<200 {
                group.addTask {
                    // A slow call has 200 ms and needs 30 s; a fast one needs 1 ms and has 30 s, so a
                    // loaded machine (CI runs every suite at once on 2 cores) cannot make it late.
                    let slow = index % 10 == 0
                    return await statusCode {
                        try await deadlines.run(timeout: slow ? .milliseconds(200) : .seconds(30)) {
                            try await Task.sleep(for: slow ? .seconds(30) : .milliseconds(1))
                        }
                    }
                }
            }
            return await group.reduce(into: [RPCError.Code?]()) { $0.append($1) }
        }
        #expect(codes.filter { $0 == .deadlineExceeded }.count == 20)
        #expect(codes.filter { $0 == nil }.count == 180)
        #expect(deadlines.count == 0)
    }
}

@Suite("a stream past limits.call_timeout_seconds, through the daemon", .serialized)
struct StreamDeadlineTests {
    @Test("a client stream left open past the call timeout ends DEADLINE_EXCEEDED with CALL_TIMEOUT (not CANCELLED)")
    func clientStreamTimesOut() async throws {
        var limits = GongjiConfig.Limits()
        limits.callTimeoutSeconds = 1
        let daemon = try await TestDaemon.start(limits: limits)
        defer { Task { await daemon.stop() } }
        try await Demo.load(daemon)
        let today = daemon.clock.today().description
        let started = ContinuousClock.now
        let failure = await rpcFailure {
            try await daemon.withClient("settlement") { client in
                try await Settler(client: client).service.reconcileSettlements(options: failFast) { writer in
                    try await writer.write(
                        .with {
                            $0.header = .with {
                                $0.institutionCode = Settler.hospital
                                $0.date = today
                            }
                        })
                    try await Task.sleep(for: .seconds(30))
                }
            }
        }
        #expect(failure?.code == .deadlineExceeded && failure?.reason == "CALL_TIMEOUT", "\(String(describing: failure))")
        #expect(ContinuousClock.now - started < .seconds(15), "cut at the call timeout, not when the client gave up")
    }
}

@Suite("a unary call past limits.call_timeout_seconds, through the daemon", .serialized, .needsPostgreSQL)
struct UnaryDeadlineTests {
    @Test("a unary call held past the call timeout (its database gone) ends DEADLINE_EXCEEDED with CALL_TIMEOUT")
    func unaryTimesOut() async throws {
        let cluster = FileManager.default.temporaryDirectory.appendingPathComponent("gongji-pg-deadline-\(UUID().uuidString)")
        let url = try postgresScript("start", cluster)
        defer {
            _ = try? postgresScript("stop", cluster)
            try? FileManager.default.removeItem(at: cluster)
        }
        var limits = GongjiConfig.Limits()
        limits.callTimeoutSeconds = 1
        let daemon = try await TestDaemon.start(limits: limits, postgresql: url)
        defer { Task { await daemon.stop() } }
        try await Demo.load(daemon)
        try postgresScript("stop", cluster)
        let failure = await rpcFailure {
            try await daemon.withClient("settlement") {
                try await Settler(client: $0).settle("U-1", patient: Demo.hohhotChild, amount: 100)
            }
        }
        #expect(failure?.code == .deadlineExceeded && failure?.reason == "CALL_TIMEOUT", "\(String(describing: failure))")
    }
}
