import Foundation
import GongjiCore
import GongjiStore
import Logging

/// The use cases of Gongji: gathers facts from the store, asks the core to decide, and has the
/// store apply the decision. The gRPC handlers translate to and from it and nothing more.
public final class GongjiService: Sendable {
    /// The durable store.
    public let store: Store
    /// Policies and roles that change at run time.
    public let state: RuntimeState
    /// The clock.
    public let clock: any GongjiClock
    /// The encrypted identity-document files.
    public let documents: DocumentStore
    /// Keys derived from the master key.
    public let secrets: Secrets
    /// Seconds an unused upload is kept.
    public let retentionSeconds: Int
    let logger: Logger

    /// Creates the service.
    public init(store: Store, documents: DocumentStore, secrets: Secrets, retentionSeconds: Int, state: RuntimeState,
                clock: any GongjiClock, logger: Logger) {
        self.store = store
        self.documents = documents
        self.secrets = secrets
        self.retentionSeconds = retentionSeconds
        self.state = state
        self.clock = clock
        self.logger = logger
    }

    /// Applies the operators' stored availability switches to freshly loaded policies.
    public func applyStoredAvailability(to book: PolicyBook) async throws -> PolicyBook {
        var result = book
        for (region, suspended) in try await store.availabilityOverrides() {
            guard var availability = result.policy(of: region)?.availability else { continue }
            availability.suspended = suspended
            result = result.settingAvailability(availability, for: region)
        }
        return result
    }

    // MARK: Registry

    /// Validates and stores a person.
    public func upsertPerson(_ row: RegistryRow, key: IdempotencyKey?) async throws -> (PersonRecord, created: Bool) {
        guard case .person(let person, let years) = row else { preconditionFailure("upsertPerson takes a person row") }
        let created = try await store.upsertPerson(person, paidYears: years, key: key, today: clock.today(), now: clock.nowUnix())
        guard let record = try await store.person(person.id) else { throw StoreError(.database, "person vanished after upsert") }
        logger.info("person upserted", metadata: ["person.id": "\(person.id.masked)", "created": "\(created)"])
        return (record, created)
    }

    /// Reads a person.
    public func person(idNumber: String) async throws -> PersonRecord {
        let id = try ResidentID.parse(idNumber, today: clock.today())
        guard let record = try await store.person(id) else { throw DomainError.personNotFound(id) }
        return record
    }

    /// Credits an account.
    public func credit(idNumber: String, amount: Money, reference: String, key: IdempotencyKey?) async throws -> (PersonalAccount, applied: Bool) {
        let id = try ResidentID.parse(idNumber, today: clock.today())
        let trimmed = try CreditRules.validate(amount: amount, reference: reference)
        let result = try await store.credit(id, amount: amount, reference: trimmed, key: key, now: clock.nowUnix())
        logger.info("account credited", metadata: ["person.id": "\(id.masked)", "amount_fen": "\(amount.fen)", "applied": "\(result.applied)"])
        return result
    }

    /// Applies parsed import rows, all or nothing.
    public func importRows(_ rows: [RegistryRow]) async throws -> ImportSummary {
        let summary = try await store.importRows(rows, today: clock.today(), now: clock.nowUnix())
        logger.notice("registry imported", metadata: [
            "import.persons": "\(summary.personsUpserted)", "import.credits": "\(summary.creditsApplied)",
            "import.credits_skipped": "\(summary.creditsSkipped)",
        ])
        return summary
    }

    /// The year-end rollover.
    public func rollOver(into year: Int, key: IdempotencyKey?) async throws -> Int {
        guard (2000...2200).contains(year) else {
            throw DomainError(reason: "INVALID_FIELD", category: .invalidArgument, message: "year must be 2000…2200",
                              messageZH: "年度无效", details: ["field": "year", "problem": "must be 2000…2200"])
        }
        let count = try await store.rollOver(into: year, key: key, today: clock.today(), now: clock.nowUnix())
        logger.notice("year rollover", metadata: ["year": "\(year)", "accounts": "\(count)"])
        return count
    }

    // MARK: Regions

    /// The policy of a region, or REGION_NOT_FOUND.
    public func policy(regionCode: String) throws -> RegionPolicy {
        guard let region = RegionCode(regionCode), let policy = state.policies.policy(of: region) else {
            throw DomainError(reason: "REGION_NOT_FOUND", category: .notFound, message: "no policy is loaded for region '\(regionCode)'",
                              messageZH: "未找到该统筹区", details: ["region_code": regionCode])
        }
        return policy
    }

    /// Suspends or resumes a region at run time (R-SUSP-1); persists across restarts.
    public func setAvailability(regionCode: String, suspended: Bool, key: IdempotencyKey?) async throws -> RegionPolicy {
        var policy = try policy(regionCode: regionCode)
        try await store.setAvailability(policy.region, suspended: suspended, key: key, now: clock.nowUnix())
        policy.availability.suspended = suspended
        let availability = policy.availability
        state.updatePolicies { $0.settingAvailability(availability, for: policy.region) }
        logger.notice("region availability changed", metadata: ["region": "\(policy.region)", "suspended": "\(suspended)"])
        return policy
    }
}
