import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Writes one JSON object per line to standard output (journald keeps them). Components never
/// log personal data unmasked; this handler adds nothing of its own but time, level and label.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    /// Metadata of the context a line is written in (the call's trace), below the line's own.
    public var metadataProvider: Logger.MetadataProvider?
    /// The level is process-wide so that a reload (SIGHUP) changes it for every logger at once.
    public var logLevel: Logger.Level {
        get { Self.level.withLock { $0 } }
        set { Self.level.withLock { $0 = newValue } }
    }
    let label: String
    private static let output = Mutex(())
    static let level = Mutex(Logger.Level.info)

    /// Creates a handler for `label` at `level`.
    public init(label: String, level: Logger.Level, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        // Hand-written JSON: this runs for every call the daemon serves, and JSONSerialization
        // (locale-aware key sorting, boxing) cost a fifth of the server's CPU under load.
        var out = JSONLine()
        out.field("time", Self.timestamp())
        out.field("level", event.level.rawValue)
        out.field("logger", label)
        out.field("message", event.message.description)
        var merged = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty { merged.merge(provided, uniquingKeysWith: { own, _ in own }) }
        if let metadata = event.metadata { merged.merge(metadata, uniquingKeysWith: { _, new in new }) }
        if let error = event.error, merged["error"] == nil { merged["error"] = "\(error)" }
        for key in merged.keys.sorted() {
            out.key(key)
            out.value(merged[key]!)
        }
        out.finish()
        Self.output.withLock { _ in
            out.bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = Glibc.write(STDOUT_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                    if written < 0 && errno == EINTR { continue }
                    guard written > 0 else { return }
                    offset += written
                }
            }
        }
    }

    /// Now as RFC 3339 UTC with milliseconds (`2026-11-23T07:15:38.123Z`).
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T\(pad(parts.tm_hour, 2)):"
            + "\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(now.tv_nsec / 1_000_000), 3))Z"
    }
}

/// One JSON object being written as UTF-8.
struct JSONLine {
    var bytes: [UInt8] = [UInt8(ascii: "{")]

    init() { bytes.reserveCapacity(256) }

    mutating func field(_ key: String, _ value: String) {
        self.key(key)
        string(value)
    }

    mutating func key(_ key: String) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        string(key)
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func value(_ value: Logger.Metadata.Value) {
        switch value {
        case .string(let text): string(text)
        case .stringConvertible(let convertible): string(convertible.description)
        case .array(let items):
            bytes.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                self.value(item)
            }
            bytes.append(UInt8(ascii: "]"))
        case .dictionary(let dictionary):
            bytes.append(UInt8(ascii: "{"))
            for (index, key) in dictionary.keys.sorted().enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                string(key)
                bytes.append(UInt8(ascii: ":"))
                self.value(dictionary[key]!)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    /// A JSON string: quotes, backslashes and control characters escaped, the rest as UTF-8.
    mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [
                    UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                    hex[Int(byte >> 4)], hex[Int(byte & 0xF)],
                ])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func finish() {
        bytes.append(UInt8(ascii: "}"))
        bytes.append(0x0A)
    }
}

/// Sets up swift-log with the JSON handler at `level` (e.g. "info"); call once at start.
public func bootstrapJSONLogging(level: String?) {
    let parsed = level.flatMap(LogLevelName.parse) ?? .info
    JSONLogHandler.level.withLock { $0 = parsed }
    LoggingSystem.bootstrap(
        { label, provider in JSONLogHandler(label: label, level: parsed, metadataProvider: provider) },
        metadataProvider: CallTracing.logMetadata)
}

/// Changes the level of every JSON logger (on reload).
public func setJSONLogLevel(_ level: String?) {
    let parsed = level.flatMap(LogLevelName.parse) ?? .info
    JSONLogHandler.level.withLock { $0 = parsed }
}
