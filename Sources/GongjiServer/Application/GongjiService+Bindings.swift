import Foundation
import GongjiCore

extension GongjiService {
    /// R-BIND-*: binds a member for the authorizer `endUser`.
    public func createBinding(
        _ request: BindingRequest, endUser: ResidentID, key: IdempotencyKey?, actor: ChangeActor,
        at time: ClockReading
    ) async throws -> BindingRecord {
        let record = try await store.createBinding(
            request, endUser: endUser, id: makeID(), key: key, actor: actor,
            policies: state.policies, today: time.today, now: time.now)
        logger.info(
            "binding created",
            metadata: [
                "binding.id": "\(record.binding.id)", "binding.status": "\(record.binding.status.rawValue)",
                "end_user": "\(endUser.masked)",
            ])
        return record
    }

    /// Reads a binding for a gateway end user: only its authorizer or member may see it. A binding
    /// the end user may not see and one that does not exist look the same (PERMISSION_DENIED).
    public func binding(id: String, for endUser: ResidentID) async throws -> BindingRecord {
        let record = try await store.binding(id: id)
        _ = try PartyRules.visible(record?.binding, to: endUser)
        return record!
    }

    /// The end user's bindings as authorizer or as member, newest first.
    public func bindings(of endUser: ResidentID, as perspective: BindingPerspective, page: PageRequest) async throws -> Page<BindingRecord>
    {
        try await pageTokens.page(page, list: "bindings-\(perspective.rawValue)-\(endUser.value)", cursorOf: \.seq) { cursor, limit in
            try await store.bindings(of: endUser, as: perspective, before: cursor, limit: limit)
        }
    }

    /// Pending bindings for review, oldest first, optionally of one region.
    public func pendingBindings(region: RegionCode?, page: PageRequest) async throws -> Page<BindingRecord> {
        try await pageTokens.page(page, list: "pending-\(region?.description ?? "")", cursorOf: \.seq) { cursor, limit in
            try await store.pendingBindings(region: region, after: cursor, limit: limit)
        }
    }

    /// The recorded changes of a binding.
    public func bindingEvents(id: String) async throws -> [BindingEvent] { try await store.bindingEvents(id: id) }

    /// R-BIND-7: the authorizer revokes.
    public func revokeBinding(
        id: String, endUser: ResidentID, key: IdempotencyKey?, actor: ChangeActor,
        at time: ClockReading
    ) async throws -> BindingRecord {
        let record = try await store.changeBinding(id: id, .revoke(by: endUser), key: key, actor: actor, now: time.now)
        logger.info("binding revoked", metadata: ["binding.id": "\(id)"])
        return record
    }

    /// R-CTL-2: the authorizer sets a binding's limits per settlement and per day (nil: the region's default).
    public func setFamilyUseLimits(
        bindingID: String, perSettlement: Money?, perDay: Money?, endUser: ResidentID, key: IdempotencyKey?, actor: ChangeActor,
        at time: ClockReading
    ) async throws -> BindingRecord {
        let record = try await store.changeBinding(
            id: bindingID, .setUseLimits(by: endUser, perSettlement: perSettlement, perDay: perDay, policies: state.policies), key: key,
            actor: actor, now: time.now)
        logger.info("family use limits set", metadata: ["binding.id": "\(bindingID)"])
        return record
    }

    /// R-CTL-1: the authorizer freezes (or lifts) family use through one binding, or through every
    /// open binding he or she authorizes; answers the bindings as they are then.
    public func freezeFamilyUse(
        bindingID: String?, frozen: Bool, endUser: ResidentID, key: IdempotencyKey?, actor: ChangeActor,
        at time: ClockReading
    ) async throws -> [BindingRecord] {
        let records: [BindingRecord]
        if let bindingID {
            records = [
                try await store.changeBinding(id: bindingID, .freeze(by: endUser, frozen: frozen), key: key, actor: actor, now: time.now)
            ]
        } else {
            // Each open binding read back by id (at most a few): a page of the list could miss an
            // old open binding behind many ended ones.
            var read: [BindingRecord] = []
            for binding in try await store.freezeFamilyUse(of: endUser, frozen: frozen, key: key, actor: actor, now: time.now) {
                if let record = try await store.binding(id: binding.id) { read.append(record) }
            }
            records = read
        }
        logger.info(
            frozen ? "family use frozen" : "family use freeze lifted",
            metadata: ["binding.id": "\(bindingID ?? "all")", "bindings": "\(records.count)"])
        return records
    }

    /// R-BIND-6: a reviewer approves or rejects a pending binding.
    public func reviewBinding(
        id: String, decision: BindingRules.ReviewDecision, key: IdempotencyKey?, actor: ChangeActor,
        at time: ClockReading
    ) async throws -> BindingRecord {
        let record = try await store.changeBinding(id: id, .review(decision), key: key, actor: actor, now: time.now)
        logger.info("binding reviewed", metadata: ["binding.id": "\(id)", "binding.status": "\(record.binding.status.rawValue)"])
        return record
    }
}
