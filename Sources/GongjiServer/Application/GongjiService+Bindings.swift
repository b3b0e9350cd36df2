import Foundation
import GongjiCore
import GongjiStore

extension GongjiService {
    /// The governing policy of an authorizer registered in `region`, with current availability.
    func policy(forAuthorizerIn region: RegionCode) -> RegionPolicy? { state.policies.policy(forAuthorizerIn: region) }

    /// R-BIND-*: binds a member for the authorizer `endUser`.
    public func createBinding(_ request: BindingRequest, endUser: ResidentID, key: IdempotencyKey?, actor: ChangeActor,
                              id: String = makeTimeOrderedID()) async throws -> BindingRecord {
        let today = clock.today()
        let memberID = try ResidentID.parse(request.memberIDNumber, today: today)
        let book = state.policies
        let record = try await store.createBinding(
            authorizer: endUser, member: memberID, documentIDs: [request.frontDocument ?? "", request.backDocument ?? ""],
            key: key, actor: actor, now: clock.nowUnix()
        ) { stored in
            guard let authorizer = stored.authorizer else { throw DomainError.authorizerNotFound(endUser) }
            let facts = BindingFacts(
                authorizer: authorizer.person, authorizerAccount: authorizer.account, member: stored.member?.person,
                authorizerBindings: stored.authorizerBindings, documents: stored.documents,
                policy: book.policy(forAuthorizerIn: authorizer.person.region), today: today)
            return try BindingRules.create(request, facts: facts, id: id)
        }
        logger.info("binding created", metadata: ["binding.id": "\(record.binding.id)", "binding.status": "\(record.binding.status.rawValue)",
                                                 "end_user": "\(endUser.masked)"])
        return record
    }

    /// Reads a binding for a gateway end user: only its authorizer or member may see it. A binding
    /// the end user may not see and one that does not exist look the same (PERMISSION_DENIED).
    public func binding(id: String, for endUser: ResidentID) async throws -> BindingRecord {
        guard let record = try await store.binding(id: id) else { throw DomainError.notParty("binding") }
        try PartyRules.requireParty(endUser, authorizer: record.binding.authorizer, member: record.binding.member, of: "binding")
        return record
    }

    /// R-BIND-7: the authorizer revokes.
    public func revokeBinding(id: String, endUser: ResidentID, key: IdempotencyKey?, actor: ChangeActor) async throws -> BindingRecord {
        let record = try await store.changeBinding(id: id, key: key, actor: actor, reason: nil, now: clock.nowUnix(), authorize: { binding in
            try PartyRules.requireParty(endUser, authorizer: binding.authorizer, member: binding.member, of: "binding")
        }) { binding in
            try BindingRules.revoke(binding, actor: endUser)
        }
        logger.info("binding revoked", metadata: ["binding.id": "\(id)"])
        return record
    }

    /// R-BIND-6: a reviewer approves or rejects a pending binding.
    public func reviewBinding(id: String, decision: BindingRules.ReviewDecision, key: IdempotencyKey?,
                              actor: ChangeActor) async throws -> BindingRecord {
        let reason: String? = if case .reject(let text) = decision { text } else { nil }
        let record = try await store.changeBinding(id: id, key: key, actor: actor, reason: reason, now: clock.nowUnix()) { binding in
            try BindingRules.review(binding, decision: decision)
        }
        logger.info("binding reviewed", metadata: ["binding.id": "\(id)", "binding.status": "\(record.binding.status.rawValue)"])
        return record
    }

    /// Removes uploads no binding uses after the retention time (R-DOC-4), and their files.
    public func removeExpiredDocuments() async throws -> Int {
        let removed = try await store.removeExpiredDocuments(nowUnix: clock.nowUnix(), retentionSeconds: Int64(retentionSeconds))
        for id in removed { documents.remove(id) }
        if !removed.isEmpty { logger.info("expired uploads removed", metadata: ["documents.removed": "\(removed.count)"]) }
        return removed.count
    }
}
