import GongjiClient
import GongjiDev
import Logging
import Synchronization
import Testing

@testable import GongjiServer

/// Keeps the messages and metadata logged through it.
final class CapturedLines: Sendable {
    let lines = Mutex<[(message: String, metadata: Logger.Metadata)]>([])
}

struct CapturingLogHandler: LogHandler {
    let captured: CapturedLines
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        captured.lines.withLock { $0.append((event.message.description, event.metadata ?? [:])) }
    }
}

@Suite("events an outsider can cause in bulk are logged at a bounded rate")
struct RateLimitedLogTests {
    @Test("a burst of one kind is one line; the next line after the interval counts the ones left out; kinds are separate")
    func burst() async throws {
        let captured = CapturedLines()
        let log = RateLimitedLog(logger: Logger(label: "t") { _ in CapturingLogHandler(captured: captured) }, interval: .milliseconds(200))
        for _ in 0..<500 { log.log("TLS handshake failed", kind: "handshake_failed") }
        log.log("connection refused", kind: "connections_max")
        #expect(captured.lines.withLock { $0.count } == 2)
        try await Task.sleep(for: .milliseconds(250))
        log.log("TLS handshake failed", kind: "handshake_failed")
        let lines = captured.lines.withLock { $0 }
        #expect(lines.count == 3)
        #expect(lines.last?.metadata["event.suppressed"] == "499")
        #expect(lines.last?.metadata["event"] == "handshake_failed")
        #expect(lines[1].metadata["event"] == "connections_max")
    }
}
