import Logging
import Synchronization

/// Log lines for events an outsider can cause in bulk (failed handshakes, refused connections):
/// at most one line per kind per `interval`; the next line says how many were left out.
public final class RateLimitedLog: Sendable {
    private struct Window: Sendable {
        var last: ContinuousClock.Instant
        var suppressed: Int
    }

    private let logger: Logger
    private let interval: Duration
    private let windows = Mutex<[String: Window]>([:])

    /// Logs through `logger` at warning level, one line per kind per `interval`.
    public init(logger: Logger, interval: Duration = .seconds(10)) {
        self.logger = logger
        self.interval = interval
    }

    /// Logs `message` unless a line of this `kind` was logged less than `interval` ago.
    func log(_ message: Logger.Message, kind: String, metadata: Logger.Metadata = [:]) {
        let now = ContinuousClock.now
        let suppressed: Int? = windows.withLock { windows in
            if let window = windows[kind], now - window.last < interval {
                windows[kind]?.suppressed += 1
                return nil
            }
            let suppressed = windows[kind]?.suppressed ?? 0
            windows[kind] = Window(last: now, suppressed: 0)
            return suppressed
        }
        guard let suppressed else { return }
        var metadata = metadata
        metadata["event"] = "\(kind)"
        if suppressed > 0 { metadata["event.suppressed"] = "\(suppressed)" }
        logger.warning(message, metadata: metadata)
    }
}
