import GongjiCore

/// An error a use case decided on, not a storage failure: every backend passes it through as it
/// is (and never retries the transaction for it, nor takes it for the database's health).
public protocol DecidedError: Error {}

extension DomainError: DecidedError {}

extension SettlementRefused: DecidedError {}
