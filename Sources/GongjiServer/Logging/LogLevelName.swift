import Logging

/// Log level names as written in the configuration.
enum LogLevelName {
    static let all = Logger.Level.allCases.map(\.rawValue)

    static func parse(_ text: String) -> Logger.Level? { Logger.Level(rawValue: text.lowercased()) }
}
