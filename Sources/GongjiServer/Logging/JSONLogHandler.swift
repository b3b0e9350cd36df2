import Foundation
import Logging
import Synchronization

/// Writes one JSON object per line to standard output (journald keeps them). Components never
/// log personal data unmasked; this handler adds nothing of its own but time, level and label.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    /// The level is process-wide so that a reload (SIGHUP) changes it for every logger at once.
    public var logLevel: Logger.Level {
        get { Self.level.withLock { $0 } }
        set { Self.level.withLock { $0 = newValue } }
    }
    let label: String
    private static let output = Mutex(())
    static let level = Mutex(Logger.Level.info)
    private static let timeFormat = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// Creates a handler for `label` at `level`.
    public init(label: String, level: Logger.Level) {
        self.label = label
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?,
                    source: String, file: String, function: String, line: UInt) {
        var object: [String: Any] = [
            "time": Date().formatted(Self.timeFormat),
            "level": level.rawValue,
            "logger": label,
            "message": message.description,
        ]
        for (key, value) in metadata.merging(explicit ?? [:], uniquingKeysWith: { _, new in new }) {
            object[key] = Self.plain(value)
        }
        guard var data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        data.append(0x0A)
        Self.output.withLock { _ in
            FileHandle.standardOutput.write(data)
        }
    }

    static func plain(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let s): s
        case .stringConvertible(let c): c.description
        case .array(let a): a.map(plain)
        case .dictionary(let d): d.mapValues(plain)
        }
    }
}


/// Sets up swift-log with the JSON handler at `level` (e.g. "info"); call once at start.
public func bootstrapJSONLogging(level: String?) {
    let parsed = level.flatMap(LogLevelName.parse) ?? .info
    JSONLogHandler.level.withLock { $0 = parsed }
    LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: parsed) }
}

/// Changes the level of every JSON logger (on reload).
public func setJSONLogLevel(_ level: String?) {
    let parsed = level.flatMap(LogLevelName.parse) ?? .info
    JSONLogHandler.level.withLock { $0 = parsed }
}
