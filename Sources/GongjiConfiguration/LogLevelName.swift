import Logging

/// Log level names as written in the configuration.
public enum LogLevelName {
    /// Every level's name.
    public static let all = Logger.Level.allCases.map(\.rawValue)

    /// The level named `text` (any case), or nil.
    public static func parse(_ text: String) -> Logger.Level? { Logger.Level(rawValue: text.lowercased()) }
}
