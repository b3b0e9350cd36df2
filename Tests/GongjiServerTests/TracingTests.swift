import Foundation
import GRPCCore
import GongjiProto
import Logging
import Testing

@testable import GongjiServer

#if canImport(Glibc)
    import Glibc
#endif

/// Tracing with OpenTelemetry: the parts a test can see without a collector. The spans a real
/// OTLP receiver gets are checked by the contract suite (Tests/contract/test_tracing.py).
@Suite("Tracing")
struct TracingTests {
    @Test(
        "a W3C traceparent is read as the recommendation says; anything malformed is as if absent",
        arguments: [
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "4bf92f3577b34da6a3ce929d0e0e4736", true),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "4bf92f3577b34da6a3ce929d0e0e4736", false),
            ("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-future", "4bf92f3577b34da6a3ce929d0e0e4736", true),
            ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", nil, false),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", nil, false),
            ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", nil, false),
            ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", nil, false),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", nil, false),
            ("00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01", nil, false),
            ("garbage", nil, false),
        ] as [(String, String?, Bool)])
    func traceParent(header: String, traceID: String?, sampled: Bool) {
        let parsed = TraceParent(header)
        #expect(parsed?.traceID == traceID)
        if traceID != nil { #expect(parsed?.isSampled == sampled) }
    }

    @Test("an absent or a silent collector neither fails nor holds up a call", arguments: [CollectorFault.absent, .silent])
    func collectorFaultsNeverReachACall(fault: CollectorFault) async throws {
        let collector = try FaultyCollector(fault)
        defer { collector.close() }
        // An export that waited for this collector would take 120 s; a queue of 16 fills at once.
        let daemon = try await TestDaemon.start(
            tracing: .init(otlpEndpoint: "http://127.0.0.1:\(collector.port)", sampleRatio: 1, queueSpansMax: 16, exportTimeoutSeconds: 120)
        )
        let started = ContinuousClock.now
        let codes = try await daemon.withClient("gateway") { client in
            let health = Grpc_Health_V1_Health.Client(wrapping: client)
            var codes: [RPCError.Code?] = []
            for index in 0..<50 {
                let sampled: Metadata = ["traceparent": "00-\(String(format: "%032x", index + 1))-00f067aa0ba902b7-01"]
                codes.append(await statusCode { try await health.check(.init(), metadata: sampled, options: failFast) })
            }
            return codes
        }
        let elapsed = ContinuousClock.now - started
        await daemon.stop()
        #expect(codes.allSatisfy { $0 == nil }, "every call answered OK")
        // 50 health checks take well under a second here; a call that waited for the exporter
        // would take 120 s. Generous, so that a loaded machine cannot fail it.
        #expect(elapsed < .seconds(90), "took \(elapsed)")
    }

    @Test("reload changes the sample ratio; turning tracing on or another collector needs a restart")
    func reloadChangesTheSampleRatio() async throws {
        let (env, _) = try makeDevEnvironment("gongji-tracing-reload")
        let path = env.configPath
        let original = try String(contentsOfFile: path, encoding: .utf8)
        func write(_ tracing: String) throws {
            try original.replacingOccurrences(of: "\n  log:", with: "\n  \(tracing)\n  log:").write(
                toFile: path, atomically: true, encoding: .utf8)
        }
        try write(#"tracing: { otlp_endpoint: "http://127.0.0.1:9", sample_ratio: 0.5 },"#)
        let config = try GongjiConfig.load(path: path, environment: [:])
        #expect(config.tracing?.ratio == 0.5)
        let daemon = try await GongjiDaemon.build(config: config, logger: Logger(label: "test"))
        defer { try? daemon.closeStore() }
        #expect(daemon.tracing?.sampleRatio == 0.5)
        try write(#"tracing: { otlp_endpoint: "http://127.0.0.1:9", sample_ratio: 0.25 },"#)
        try await daemon.reload(configPath: path)
        #expect(daemon.tracing?.sampleRatio == 0.25)
        try write(#"tracing: { otlp_endpoint: "http://127.0.0.1:9", sample_ratio: 2 },"#)
        await #expect(throws: ConfigError.self) { try await daemon.reload(configPath: path) }
        #expect(daemon.tracing?.sampleRatio == 0.25, "a refused reload changes nothing")
    }

    @Test("a daemon without a tracing section traces nothing")
    func offByDefault() async throws {
        let (_, config) = try makeDevEnvironment("gongji-tracing-off")
        #expect(config.tracing == nil)
        let daemon = try await GongjiDaemon.build(config: config, logger: Logger(label: "test"))
        defer { try? daemon.closeStore() }
        #expect(daemon.tracing == nil)
    }
}

/// What is wrong with the collector.
enum CollectorFault: Sendable, CustomStringConvertible {
    /// Nothing listens on its port: connections are refused.
    case absent
    /// It accepts connections (the kernel's backlog) and never answers a byte.
    case silent

    var description: String { self == .absent ? "absent" : "silent" }
}

/// A collector address that fails as `fault` says.
final class FaultyCollector: Sendable {
    let port: Int
    private let descriptor: Int32

    init(_ fault: CollectorFault) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard fd >= 0, bound, listen(fd, 128) == 0 else { throw POSIXError(.EADDRNOTAVAIL) }
        port = Int(UInt16(bigEndian: address.sin_port))
        if fault == .absent {
            _ = Glibc.close(fd)
            descriptor = -1
        } else {
            descriptor = fd
        }
    }

    func close() { if descriptor >= 0 { _ = Glibc.close(descriptor) } }
}
