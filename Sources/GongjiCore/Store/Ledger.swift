/// The double-entry ledger's accounts: every movement of money is a set of entries on these
/// accounts that sums to zero.
public enum LedgerAccount {
    /// One part of a person's personal account.
    public static func person(_ id: ResidentID, _ part: BalancePart) -> String { "person:\(id.value):\(part.rawValue)" }
    /// Where a region's collected premiums go.
    public static func premiumCollection(_ region: RegionCode) -> String { "region:\(region):premium_collection" }
    /// Money that came in through another channel (R-PAY-5).
    public static func external(_ region: RegionCode) -> String { "external:\(region)" }
    /// Where credits to personal accounts come from.
    public static let platformFunding = "platform:funding"
}

/// One entry of a ledger movement.
public struct LedgerEntry: Hashable, Sendable {
    /// The account (see `LedgerAccount`).
    public var account: String
    /// Signed amount: negative leaves the account, positive enters it.
    public var amount: Money

    /// Creates an entry.
    public init(_ account: String, _ amount: Money) {
        self.account = account
        self.amount = amount
    }
}

/// A named movement of money: entries that sum to zero, written together or not at all.
public struct LedgerMovement: Hashable, Sendable {
    /// Unique name (`payment:<id>`, `credit:<reference>`, …).
    public var name: String
    /// The entries with a non-zero amount.
    public var entries: [LedgerEntry]

    /// A movement of `entries`; zero entries are dropped. The entries must sum to zero.
    public init(_ name: String, _ entries: [LedgerEntry]) {
        self.name = name
        self.entries = entries.filter { $0.amount != .zero }
        precondition(Money.sum(self.entries.map(\.amount)) == .zero, "a ledger movement must sum to zero")
    }
}
