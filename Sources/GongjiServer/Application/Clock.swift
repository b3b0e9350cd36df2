import Foundation
import GongjiCore

/// Where the daemon gets the time from; tests pass a fixed or settable clock.
public protocol GongjiClock: Sendable {
    /// Seconds since the Unix epoch.
    func nowUnix() -> Int64
}

/// One reading of the clock: a request reads the clock once, so that a call crossing midnight
/// parses, decides and records with the same day.
public struct ClockReading: Hashable, Sendable {
    /// Seconds since the Unix epoch.
    public var now: Int64
    /// The same instant's day in China time.
    public var today: CivilDate

    /// The reading of `now`.
    public init(now: Int64) {
        self.now = now
        self.today = CivilDate.inChina(unixSeconds: now)
    }
}

extension GongjiClock {
    /// Reads the clock once.
    public func read() -> ClockReading { ClockReading(now: nowUnix()) }
    /// Today in China time.
    public func today() -> CivilDate { CivilDate.inChina(unixSeconds: nowUnix()) }
}

/// The system's wall clock.
public struct SystemClock: GongjiClock {
    /// Creates the clock.
    public init() {}
    public func nowUnix() -> Int64 { Int64(Date().timeIntervalSince1970) }
}

/// A clock stopped at one instant: a seeding tool reads the time once, so that everything it
/// writes has the same day even when seeding runs across midnight in China.
public struct FixedClock: GongjiClock {
    /// Seconds since the Unix epoch at which the clock stands.
    public let now: Int64
    /// Creates a clock standing at `now`.
    public init(nowUnix now: Int64) { self.now = now }
    public func nowUnix() -> Int64 { now }
}
