import GongjiCore

/// An error a use case decided on, not a storage failure: every backend passes it through as it
/// is (and never retries the transaction for it, nor takes it for the database's health).
public protocol DecidedError: Error {}

extension DomainError: DecidedError {}

/// A settlement the core refused, with the region of the institution it named when that is
/// loaded: the refusal as the caller gets it, and what its metric is labelled with.
public struct SettlementRefused: DecidedError {
    /// The refusal.
    public var error: DomainError
    /// The institution's region, if the order named a loaded institution.
    public var region: RegionCode?

    /// Creates it.
    public init(error: DomainError, region: RegionCode?) {
        self.error = error
        self.region = region
    }
}
