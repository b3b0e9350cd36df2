import Foundation
import GongjiCore

/// Where the daemon gets the time from; tests pass a fixed or settable clock.
public protocol GongjiClock: Sendable {
    /// Seconds since the Unix epoch.
    func nowUnix() -> Int64
}

extension GongjiClock {
    /// Today in China time.
    public func today() -> CivilDate { CivilDate.inChina(unixSeconds: nowUnix()) }
}

/// The system's wall clock.
public struct SystemClock: GongjiClock {
    /// Creates the clock.
    public init() {}
    public func nowUnix() -> Int64 { Int64(Date().timeIntervalSince1970) }
}
