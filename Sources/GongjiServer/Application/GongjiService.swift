import Foundation
import GongjiCore
import GongjiSQLite
import GongjiStorage
import Logging
import Synchronization

/// The use cases of Gongji. Each reads the clock once (the handler passes that reading in), asks
/// the store to gather facts and apply the core's plan, and logs what happened. The gRPC handlers
/// translate to and from it and nothing more; they never reach the store.
public final class GongjiService: Sendable {
    /// The durable store, through its contract.
    let store: any FamilyAccountStore
    /// The encrypted identity-document files.
    let documents: DocumentStore
    /// Policies and roles that change at run time.
    public let state: RuntimeState
    /// The clock.
    public let clock: any GongjiClock
    /// Keys derived from the master key.
    let secrets: Secrets
    /// Seconds an unused upload is kept.
    let retentionSeconds: Int
    /// Makes the ids of new records.
    let makeID: @Sendable () -> String
    let pageTokens: PageTokens
    let logger: Logger
    /// Reconciliations being read and compared now (`reconciling`).
    let reconciliationsRunning = Mutex(0)
    /// The followers of the event journal (set by the composition root).
    public let events: EventFeed?

    /// Creates the service.
    public init(
        store: any FamilyAccountStore, documents: DocumentStore, secrets: Secrets, retentionSeconds: Int, state: RuntimeState,
        clock: any GongjiClock, makeID: @escaping @Sendable () -> String = makeTimeOrderedID, events: EventFeed? = nil,
        logger: Logger
    ) {
        self.events = events
        self.store = store
        self.documents = documents
        self.secrets = secrets
        self.retentionSeconds = retentionSeconds
        self.state = state
        self.clock = clock
        self.makeID = makeID
        self.pageTokens = PageTokens(key: secrets.pageTokenKey)
        self.logger = logger
    }

    /// Reads the clock: once per request.
    public func now() -> ClockReading { clock.read() }

    /// Applies the operators' stored availability switches to freshly loaded policies.
    public func applyStoredAvailability(to book: PolicyBook) async throws -> PolicyBook {
        Self.applying(try await store.availabilityOverrides(), to: book)
    }

    /// Reads the stored availability switches again and applies them to the running policies
    /// (R-MULTI-1: a region suspended through another daemon on the same database is suspended
    /// here too). A switch made through this daemon while the read was under way wins over what
    /// the read saw. Returns whether the running policies changed.
    @discardableResult
    public func refreshAvailability() async throws -> Bool {
        let generation = state.generation
        let overrides = try await store.availabilityOverrides()
        let current = state.policies
        let refreshed = Self.applying(overrides, to: current)
        guard refreshed != current else { return false }
        guard state.updatePolicies(ifGeneration: generation, { Self.applying(overrides, to: $0) }) else { return false }
        for (region, suspended) in overrides
        where current.policy(of: region)?.availability.suspended != suspended
            && refreshed.policy(of: region) != nil
        {
            logger.notice("region availability changed by another daemon", metadata: ["region": "\(region)", "suspended": "\(suspended)"])
        }
        return true
    }

    static func applying(_ overrides: [RegionCode: Bool], to book: PolicyBook) -> PolicyBook {
        var result = book
        for (region, suspended) in overrides {
            guard var availability = result.policy(of: region)?.availability, availability.suspended != suspended else { continue }
            availability.suspended = suspended
            result = result.settingAvailability(availability, for: region)
        }
        return result
    }

    // MARK: Registry

    /// Validates and stores a person.
    public func upsertPerson(
        _ person: Person, paidYears: [Int], key: IdempotencyKey?,
        at time: ClockReading
    ) async throws -> (record: PersonRecord, created: Bool) {
        let result = try await store.upsertPerson(person, paidYears: paidYears, key: key, today: time.today, now: time.now)
        logger.info("person upserted", metadata: ["person.id": "\(person.id.masked)", "created": "\(result.created)"])
        return result
    }

    /// Reads a person.
    public func person(idNumber: String, at time: ClockReading) async throws -> PersonRecord {
        let id = try ResidentID.parse(idNumber, today: time.today)
        guard let record = try await store.person(id) else { throw DomainError.personNotFound(id) }
        return record
    }

    /// Credits one part of an account (R-ACCT-3); a nil part is one the request named but this
    /// version does not know.
    public func credit(
        idNumber: String, amount: Money, part requested: BalancePart?, reference: String, key: IdempotencyKey?,
        at time: ClockReading
    ) async throws -> (account: PersonalAccount, applied: Bool) {
        let id = try ResidentID.parse(idNumber, today: time.today)
        let trimmed = try CreditRules.validate(amount: amount, reference: reference)
        let part = try CreditRules.validate(part: requested)
        let result = try await store.credit(id, amount: amount, part: part, reference: trimmed, key: key, now: time.now)
        logger.info(
            "account credited",
            metadata: [
                "person.id": "\(id.masked)", "amount_fen": "\(amount.fen)", "balance_part": "\(part.rawValue)",
                "applied": "\(result.applied)",
            ])
        return result
    }

    /// Applies parsed import rows, all or nothing.
    public func importRows(_ rows: [RegistryRow], at time: ClockReading) async throws -> ImportSummary {
        let summary = try await store.importRows(rows, today: time.today, now: time.now)
        logger.notice(
            "registry imported",
            metadata: [
                "import.persons": "\(summary.personsUpserted)", "import.credits": "\(summary.creditsApplied)",
                "import.credits_skipped": "\(summary.creditsSkipped)",
            ])
        return summary
    }

    /// The year-end rollover (R-ACCT-2).
    public func rollOver(into year: Int, key: IdempotencyKey?, at time: ClockReading) async throws -> Int {
        let count = try await store.rollOver(into: year, key: key, today: time.today, now: time.now)
        logger.notice("year rollover", metadata: ["year": "\(year)", "accounts": "\(count)"])
        return count
    }

    // MARK: Regions

    /// The loaded policies, by region code.
    public func regions(_ request: PageRequest) async throws -> Page<RegionPolicy> {
        let all = state.policies.policies.values.sorted { $0.region < $1.region }
        return try await pageTokens.page(request, list: "regions", cursorOf: { Int64($0.region.value) }) { cursor, limit in
            Array(all.filter { cursor == nil || Int64($0.region.value) > cursor! }.prefix(limit))
        }
    }

    /// The policy of a region, or REGION_NOT_FOUND.
    public func policy(regionCode: String) throws -> RegionPolicy {
        try state.policies.policy(regionCode: regionCode)
    }

    /// Suspends or resumes a region at run time (R-SUSP-1); persists across restarts.
    public func setAvailability(
        regionCode: String, suspended: Bool, key: IdempotencyKey?, at time: ClockReading
    ) async throws -> RegionPolicy {
        var policy = try policy(regionCode: regionCode)
        try await store.setAvailability(policy.region, suspended: suspended, key: key, now: time.now)
        policy.availability.suspended = suspended
        let availability = policy.availability
        state.updatePolicies { $0.settingAvailability(availability, for: policy.region) }
        logger.notice("region availability changed", metadata: ["region": "\(policy.region)", "suspended": "\(suspended)"])
        return policy
    }
}
