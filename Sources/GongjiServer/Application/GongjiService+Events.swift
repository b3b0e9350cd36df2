import GongjiCore

extension GongjiService {
    /// R-EVT-3: refuses a position the retention clean-up removed events after, before a stream starts.
    public func checkFollowing(after position: Int64) async throws {
        try EventRules.checkPosition(position, removedThrough: try await store.eventsRemovedThrough())
    }

    /// The newest position of the journal now (a follower that starts from now starts after it).
    public func newestEventPosition() async throws -> Int64 { try await store.newestEventPosition() }

    /// R-EVT-2: delivers the events after `position` that `person` is a party to (nil: every event).
    public func followEvents(
        after position: Int64, of person: ResidentID?, deliver: @escaping @Sendable (AccountEvent) async throws -> Void
    ) async throws {
        guard let events else { throw EventRules.followersBusy(max: 0) }
        logger.info("following events", metadata: ["event.after": "\(position)", "end_user": "\(person?.masked ?? "all")"])
        try await events.follow(after: position, of: person, deliver: deliver)
    }

    /// R-EVT-3: removes the events past their retention.
    public func removeExpiredEvents(retentionSeconds: Int) async throws -> Int {
        let removed = try await store.removeExpiredEvents(now: now().now, retentionSeconds: Int64(retentionSeconds))
        if removed > 0 { logger.info("expired events removed", metadata: ["events.removed": "\(removed)"]) }
        return removed
    }
}
