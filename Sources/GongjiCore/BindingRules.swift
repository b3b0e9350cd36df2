/// What the authorizer (through the gateway) asks for when binding a member (R-BIND-5).
public struct BindingRequest: Hashable, Sendable {
    /// The member's ID number as typed (validated here).
    public var memberIDNumber: String
    /// The member's name as typed.
    public var memberName: String
    /// How the member is related to the authorizer.
    public var relationship: Relationship
    /// The authorization start date.
    public var startDate: CivilDate
    /// The signed commitment, if given.
    public var commitment: CommitmentAcceptance?
    /// The uploaded front image's id (SHA-256 hex), if given.
    public var frontDocument: String?
    /// The uploaded back image's id, if given.
    public var backDocument: String?

    /// Creates a request.
    public init(
        memberIDNumber: String, memberName: String, relationship: Relationship, startDate: CivilDate,
        commitment: CommitmentAcceptance? = nil, frontDocument: String? = nil, backDocument: String? = nil
    ) {
        self.memberIDNumber = memberIDNumber
        self.memberName = memberName
        self.relationship = relationship
        self.startDate = startDate
        self.commitment = commitment
        self.frontDocument = frontDocument
        self.backDocument = backDocument
    }
}

/// The facts a binding decision needs, gathered by the store.
public struct BindingFacts: Sendable {
    /// The end user asking to bind, as the authorizer.
    public var actor: ResidentID
    /// The authorizer as registered; nil when the end user is not in the registry.
    public var authorizer: Person?
    /// The authorizer's personal account, if any.
    public var authorizerAccount: PersonalAccount?
    /// The member as registered, looked up by the requested ID number; nil if unknown.
    public var member: Person?
    /// All bindings of the authorizer (any state).
    public var authorizerBindings: [Binding]
    /// Uploaded documents found for the requested ids, with their side.
    public var documents: [String: DocumentSide]
    /// The governing policy, with its current availability; nil if the region has none.
    public var policy: RegionPolicy?
    /// Today in China time.
    public var today: CivilDate

    /// Creates the facts.
    public init(
        actor: ResidentID, authorizer: Person?, authorizerAccount: PersonalAccount?, member: Person?, authorizerBindings: [Binding],
        documents: [String: DocumentSide], policy: RegionPolicy?, today: CivilDate
    ) {
        self.actor = actor
        self.authorizer = authorizer
        self.authorizerAccount = authorizerAccount
        self.member = member
        self.authorizerBindings = authorizerBindings
        self.documents = documents
        self.policy = policy
        self.today = today
    }
}

/// Pure decisions on bindings (R-BIND-*, R-ID-*).
public enum BindingRules {
    /// Decides whether the authorizer may bind the member, and returns the binding to insert.
    public static func create(_ request: BindingRequest, facts: BindingFacts, id: String) throws(DomainError) -> Binding {
        guard let authorizer = facts.authorizer else { throw .authorizerNotFound(facts.actor) }
        guard let policy = facts.policy else { throw .authorizerRegionNotSupported(authorizer.region) }
        guard !policy.availability.suspended else { throw .suspended(policy) }
        let memberID = try ResidentID.parse(request.memberIDNumber, today: facts.today)
        let name = request.memberName.trimmingWhitespace
        guard TextLimits.personName.admits(name) else {
            throw .invalidField("member_name", "must be \(TextLimits.personName)", zh: "姓名不能为空且不超过\(TextLimits.personName.codePointsMax)个字")
        }
        try checkAuthorizer(authorizer, account: facts.authorizerAccount, policy: policy)
        guard let member = facts.member, member.id == memberID else { throw .personNotFound(role: "member", id: memberID) }
        guard member.name == name else {
            throw .member(
                .nameMismatch, "the name does not match the registered name of this ID number", "姓名与身份证号码不一致",
                ["id_number": memberID.masked], category: .invalidArgument)
        }
        guard member.id != authorizer.id else {
            throw .member(
                .selfBindingNotAllowed, "an authorizer cannot bind himself or herself", "不能绑定本人",
                category: .invalidArgument)
        }
        try checkRelationship(request.relationship, authorizer: authorizer, member: member, policy: policy)
        let isNewborn = try checkMemberInsurance(member, relationship: request.relationship, policy: policy, today: facts.today)
        let open = facts.authorizerBindings.filter { $0.status.isOpen }
        if let existing = open.first(where: { $0.member == member.id }) {
            throw .member(
                .bindingAlreadyExists, "this member is already bound (\(existing.status.rawValue))", "该家庭成员已绑定或正在审核",
                ["binding_id": existing.id], category: .alreadyExists)
        }
        if let limit = policy.member.limit, open.count >= limit { throw .memberLimitReached(limit: limit) }
        guard request.startDate >= facts.today else {
            throw .member(
                .startDateInPast, "the authorization start date \(request.startDate) is before today \(facts.today)",
                "授权开始日期不能早于今天", ["start_date": request.startDate.description, "today": facts.today.description],
                category: .invalidArgument)
        }
        try checkMaterials(request, documents: facts.documents, policy: policy, today: facts.today)
        var binding = Binding(
            id: id, authorizer: authorizer.id, member: member.id, memberName: name, relationship: request.relationship,
            region: policy.region, startDate: request.startDate,
            status: policy.review == .reviewer ? .pending : .active, isNewborn: isNewborn,
            commitment: policy.materials.requiresCommitment ? request.commitment : nil,
            frontDocument: policy.materials.idImages ? request.frontDocument : nil,
            backDocument: policy.materials.idImages ? request.backDocument : nil,
            medicalLimit: policy.settlementTerms.medicalLimitDefault)
        binding.settlementLimit = policy.settlementTerms.settlementLimitDefault
        binding.dailyLimit = policy.settlementTerms.dailyLimitDefault
        return binding
    }

    /// R-BIND-1: the authorizer is employee-insured, normal, registered where the policy says.
    static func checkAuthorizer(_ authorizer: Person, account: PersonalAccount?, policy: RegionPolicy) throws(DomainError) {
        guard authorizer.insuranceType == .employee else { throw .authorizerNotEmployeeInsured() }
        guard authorizer.status == .normal else {
            throw .authorizer(
                .authorizerStatusNotNormal, "the authorizer's insurance status is \(authorizer.status.rawValue)",
                "授权人参保状态不正常", ["status": authorizer.status.rawValue])
        }
        guard policy.covers(authorizerRegion: authorizer.region) else {
            throw .authorizer(
                .authorizerRegionNotAllowed, "the authorizer must be registered in \(policy.name)",
                "授权人须在\(policy.name)参保",
                [
                    "authorizer_region": authorizer.region.description,
                    "scope": policy.authorizer.scope.rawValue,
                ])
        }
        if policy.authorizer.requirePositiveBalance, (account?.total ?? .zero) <= .zero {
            throw .authorizer(
                .authorizerBalanceNotPositive, "the authorizer's personal account has no balance",
                "授权人个人账户无余额")
        }
    }

    /// R-BIND-2 and R-BIND-3: an allowed and plausible relationship.
    static func checkRelationship(
        _ relationship: Relationship, authorizer: Person, member: Person,
        policy: RegionPolicy
    ) throws(DomainError) {
        guard policy.member.relationships.contains(relationship) else {
            throw .member(
                .relationshipNotAllowed, "\(relationship.rawValue) cannot be bound in \(policy.name)",
                "该关系不在可绑定范围内", ["relationship": relationship.rawValue], category: .invalidArgument)
        }
        let plausible =
            switch relationship.birthOrder {
            case nil: true
            case .later?: member.birthDate > authorizer.birthDate
            case .earlier?: member.birthDate < authorizer.birthDate
            }
        guard plausible else {
            let later = relationship.birthOrder == .later
            throw .member(
                .relationshipImplausible,
                "a \(relationship.rawValue) must be born \(later ? "after" : "before") the authorizer",
                "\(relationship.chinese)的出生日期应\(later ? "晚于" : "早于")授权人",
                ["relationship": relationship.rawValue], category: .invalidArgument)
        }
    }

    /// R-BIND-2 and R-BIND-8: the member is insured, normal, in the same province (or, R-XP-1, in
    /// another where the region takes part in cross-province aid) — or a newborn.
    /// Returns whether the member is bound as a newborn.
    static func checkMemberInsurance(
        _ member: Person, relationship: Relationship, policy: RegionPolicy,
        today: CivilDate
    ) throws(DomainError) -> Bool {
        if member.insuranceType == .none {
            let age = member.birthDate.days(until: today)
            if let days = policy.member.newbornDays, relationship == .child {
                guard age <= days else {
                    throw .member(
                        .newbornWindowPassed,
                        "a child not yet insured can be bound within \(days) days of birth; this child is \(age) days old",
                        "新生儿出生超过\(days)天，请先为其参保", ["newborn_days": String(days), "age_days": String(age)])
                }
                return true
            }
            throw .member(
                .memberNotInsured, "the member is not enrolled in basic medical insurance",
                "被共济人未参加基本医疗保险", policy.member.newbornDays.map { ["newborn_days": String($0), "age_days": String(age)] } ?? [:])
        }
        guard policy.member.insuranceTypes.contains(member.insuranceType) else {
            throw .member(
                .memberInsuranceTypeNotAllowed,
                "a member insured under the \(member.insuranceType.rawValue) scheme cannot be bound in \(policy.name)",
                "被共济人参保类型不符合要求", ["insurance_type": member.insuranceType.rawValue])
        }
        guard member.status == .normal else {
            throw .member(
                .memberStatusNotNormal, "the member's insurance status is \(member.status.rawValue)",
                "被共济人参保状态不正常", ["status": member.status.rawValue])
        }
        // R-XP-1: across provinces only where the region takes part (then through the wallet).
        guard member.region.isInSameProvince(as: policy.region) || policy.takesPartCrossProvince else {
            throw .member(
                .crossProvinceNotAllowed, "the member is insured in another province (\(member.region))",
                "被共济人须在本省参保，不支持跨省共济",
                ["member_region": member.region.description, "province": policy.region.province.description])
        }
        return false
    }

    /// R-BIND-5: commitment and ID images, as the region requires.
    static func checkMaterials(
        _ request: BindingRequest, documents: [String: DocumentSide], policy: RegionPolicy,
        today: CivilDate
    ) throws(DomainError) {
        if policy.materials.requiresCommitment {
            guard let commitment = request.commitment else {
                throw .member(
                    .commitmentRequired, "the signed personal commitment is required in \(policy.name)",
                    "请先阅读并签署个人承诺书", ["accepted_versions": policy.materials.commitmentVersions.joined(separator: ",")],
                    category: .invalidArgument)
            }
            guard policy.materials.commitmentVersions.contains(commitment.version) else {
                throw .member(
                    .commitmentVersionUnknown, "commitment text version '\(TextLimits.echo(commitment.version))' is not accepted",
                    "个人承诺书版本无效", ["accepted_versions": policy.materials.commitmentVersions.joined(separator: ",")],
                    category: .invalidArgument)
            }
            guard CivilDate.inChina(unixSeconds: commitment.acceptedAtUnix) <= today else {
                throw .member(
                    .commitmentTimeInvalid, "the commitment cannot be accepted in the future", "承诺书签署时间无效",
                    category: .invalidArgument)
            }
        }
        guard policy.materials.idImages else { return }
        for (side, document) in [(DocumentSide.front, request.frontDocument), (.back, request.backDocument)] {
            guard let document, !document.isEmpty else {
                throw .member(
                    .idImagesRequired, "the \(side.rawValue) image of the member's ID card is required",
                    "请上传被共济人身份证正反面照片", ["missing_side": side.rawValue], category: .invalidArgument)
            }
            guard let found = documents[document] else {
                throw .member(
                    .documentNotFound, "document \(document) was not uploaded (or has expired)", "身份证照片未上传或已过期",
                    ["document_id": document], category: .notFound)
            }
            guard found == side else {
                throw .member(
                    .documentSideMismatch, "document \(document) shows the \(found.rawValue) side, not the \(side.rawValue)",
                    "身份证照片正反面不符", ["document_id": document, "side": found.rawValue], category: .invalidArgument)
            }
        }
    }

    /// A reviewer's decision on a pending binding (R-BIND-6).
    public enum ReviewDecision: Hashable, Sendable {
        /// Make the binding active.
        case approve
        /// Refuse it, with a reason for the authorizer.
        case reject(reason: String)
    }

    /// Applies a review decision to a pending binding.
    public static func review(_ binding: Binding, decision: ReviewDecision) throws(DomainError) -> Binding {
        guard binding.status == .pending else { throw .bindingState(binding, expected: "pending") }
        var result = binding
        switch decision {
        case .approve:
            result.status = .active
        case .reject(let reason):
            let trimmed = reason.trimmingWhitespace
            guard TextLimits.rejectionReason.admits(trimmed) else {
                throw .invalidField("reason", "a rejection needs a reason of \(TextLimits.rejectionReason)", zh: "驳回须填写原因")
            }
            result.status = .rejected
            result.rejectionReason = trimmed
        }
        return result
    }

    /// A change to an existing binding.
    public enum Change: Hashable, Sendable {
        /// The end user, as authorizer, revokes it (R-BIND-7).
        case revoke(by: ResidentID)
        /// A reviewer decides on it (R-BIND-6).
        case review(ReviewDecision)
        /// The end user, as authorizer, sets (or, nil, clears to the region's default) the annual
        /// limit on family-fund use at designated institutions (R-SETL-8).
        case setMedicalLimit(by: ResidentID, limit: Money?, policies: PolicyBook)
        /// R-CTL-1: the end user, as authorizer, freezes family use through it, or lifts the freeze.
        case freeze(by: ResidentID, frozen: Bool)
        /// R-CTL-2: the end user, as authorizer, sets (or, nil, resets to the region's default) the
        /// limits per settlement and per day on family use at institutions.
        case setUseLimits(by: ResidentID, perSettlement: Money?, perDay: Money?, policies: PolicyBook)

        /// The reason recorded with the change, if any.
        public var reason: String? {
            switch self {
            case .review(.reject(let text)): text
            case .setMedicalLimit(_, let limit, _): "medical limit \(limit.map { "\($0.fen) fen" } ?? "cleared")"
            case .freeze(_, let frozen): frozen ? "family use frozen" : "family use freeze lifted"
            case .setUseLimits(_, let perSettlement, let perDay, _):
                "limits per settlement \(perSettlement.map { "\($0.fen) fen" } ?? "default"), per day \(perDay.map { "\($0.fen) fen" } ?? "default")"
            default: nil
            }
        }
    }

    /// Applies `change` to the binding `id`, found as `current` (nil when there is none): a
    /// reviewer learns that a binding does not exist (BINDING_NOT_FOUND); an end user cannot tell
    /// it from one he or she is no party to (NOT_PARTY).
    public static func apply(_ change: Change, to current: Binding?, id: String) throws(DomainError) -> Binding {
        switch change {
        case .revoke(let endUser):
            return try revoke(PartyRules.visible(current, to: endUser), actor: endUser)
        case .review(let decision):
            guard let current else { throw .bindingNotFound(id) }
            return try review(current, decision: decision)
        case .freeze(let endUser, let frozen):
            return try freeze(PartyRules.visible(current, to: endUser), actor: endUser, frozen: frozen)
        case .setUseLimits(let endUser, let perSettlement, let perDay, let policies):
            let binding = try PartyRules.visible(current, to: endUser)
            return try setUseLimits(
                binding, actor: endUser, perSettlement: perSettlement, perDay: perDay,
                terms: policies.policy(of: binding.region)?.settlementTerms ?? .defaults)
        case .setMedicalLimit(let endUser, let limit, let policies):
            let binding = try PartyRules.visible(current, to: endUser)
            return try setMedicalLimit(
                binding, actor: endUser, limit: limit,
                terms: policies.policy(of: binding.region)?.settlementTerms ?? .defaults)
        }
    }

    /// R-SETL-8: the authorizer sets the annual limit of an open binding; nil restores the
    /// region's default; above the region's maximum is refused.
    public static func setMedicalLimit(
        _ binding: Binding, actor: ResidentID, limit: Money?,
        terms: RegionPolicy.SettlementTerms
    ) throws(DomainError) -> Binding {
        try checkAuthorizerMayChange(binding, actor: actor)
        if let limit {
            guard limit >= .zero, limit.isValidAmount else { throw .amountOutOfRange("annual_limit_fen") }
            if let max = terms.medicalLimitMax, limit > max {
                throw DomainError(
                    reason: .medicalLimitAboveMaximum, category: .invalidArgument,
                    message: "the region allows an annual limit of at most \(max.yuanString) yuan",
                    messageZH: "年度限额超过本地区上限", details: ["field": "annual_limit_fen", "maximum_fen": String(max.fen)])
            }
        }
        var result = binding
        result.medicalLimit = limit ?? terms.medicalLimitDefault
        return result
    }

    /// Only the authorizer changes an open binding's limits and controls (R-SETL-8, R-CTL-1, R-CTL-2).
    static func checkAuthorizerMayChange(_ binding: Binding, actor: ResidentID) throws(DomainError) {
        guard actor == binding.authorizer else { throw .notAuthorizer() }
        guard binding.status.isOpen else { throw .bindingState(binding, expected: "active or pending") }
    }

    /// R-CTL-2: the authorizer sets the limits per settlement and per day of an open binding; nil
    /// restores the region's default; above the region's maximum is refused.
    public static func setUseLimits(
        _ binding: Binding, actor: ResidentID, perSettlement: Money?, perDay: Money?, terms: RegionPolicy.SettlementTerms
    ) throws(DomainError) -> Binding {
        try checkAuthorizerMayChange(binding, actor: actor)
        for (field, limit, max) in [
            ("settlement_limit_fen", perSettlement, terms.settlementLimitMax), ("daily_limit_fen", perDay, terms.dailyLimitMax),
        ] {
            guard let limit else { continue }
            guard limit >= .zero, limit.isValidAmount else { throw .amountOutOfRange(field) }
            if let max, limit > max {
                throw DomainError(
                    reason: .useLimitAboveMaximum, category: .invalidArgument,
                    message: "the region allows \(field) of at most \(max.yuanString) yuan",
                    messageZH: "限额超过本地区上限", details: ["field": field, "maximum_fen": String(max.fen)])
            }
        }
        var result = binding
        result.settlementLimit = perSettlement ?? terms.settlementLimitDefault
        result.dailyLimit = perDay ?? terms.dailyLimitDefault
        return result
    }

    /// R-CTL-1: only the authorizer freezes family use through an open binding or lifts it (the
    /// member can do neither); freezing a frozen binding again changes nothing but is no error.
    public static func freeze(_ binding: Binding, actor: ResidentID, frozen: Bool) throws(DomainError) -> Binding {
        try checkAuthorizerMayChange(binding, actor: actor)
        var result = binding
        result.isFrozen = frozen
        return result
    }

    /// R-CTL-1 for the whole account: every open binding `actor` authorizes, frozen or lifted,
    /// with the writes of each change that is one (the others are as asked already).
    public static func freezeAll(
        _ bindings: [Binding], actor: ResidentID, frozen: Bool, by changeActor: ChangeActor, now: Int64
    ) -> (bindings: [Binding], writes: [Write]) {
        var changed: [Binding] = []
        var writes: [Write] = []
        for binding in bindings where binding.authorizer == actor && binding.status.isOpen {
            var result = binding
            result.isFrozen = frozen
            changed.append(result)
            guard binding.isFrozen != frozen else { continue }
            let change = Change.freeze(by: actor, frozen: frozen)
            writes += changeWrites(result, actor: changeActor, reason: change.reason, event: change.eventKind(result), now: now)
        }
        return (changed, writes)
    }

    /// Either party ends an active or pending binding: the authorizer revokes it (R-BIND-7), the
    /// member withdraws from it (R-BIND-10); history stays and the record says who ended it.
    public static func revoke(_ binding: Binding, actor: ResidentID) throws(DomainError) -> Binding {
        guard actor == binding.authorizer || actor == binding.member else { throw .notParty("binding") }
        guard binding.status.isOpen else { throw .bindingState(binding, expected: "active or pending") }
        var result = binding
        result.status = .revoked
        result.endedBy = actor == binding.authorizer ? .authorizer : .member
        return result
    }

    /// R-BIND-11: the open bindings a registry change of `person` ends, ended, with the reason:
    /// an authorizer no longer employee-insured with status normal, or a member terminated.
    public static func endedByRegistry(_ person: Person, open bindings: [Binding]) -> [Binding] {
        let authorizerReason: Reason? =
            person.insuranceType != .employee
            ? .authorizerNotEmployeeInsured
            : person.status != .normal ? .authorizerStatusNotNormal : nil
        let memberReason: Reason? = person.status == .terminated ? .memberTerminated : nil
        return bindings.compactMap { binding in
            guard binding.status.isOpen else { return nil }
            let reason = binding.authorizer == person.id ? authorizerReason : binding.member == person.id ? memberReason : nil
            guard let reason else { return nil }
            var ended = binding
            ended.status = .revoked
            ended.endedBy = .registry
            ended.endReason = reason.name
            return ended
        }
    }

    typealias Reason = DomainError.Reason
}

extension String {
    var trimmingWhitespace: String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars = scalars.dropFirst() }
        while let last = scalars.last, last.isWhitespace { scalars = scalars.dropLast() }
        return String(scalars)
    }
}

extension BindingRules {
    /// A binding family money moves through (a premium, a wallet transfer): active, started, its
    /// authorizer still employee-insured with status normal.
    static func checkUsable(_ binding: Binding, authorizer: Person, today: CivilDate) throws(DomainError) {
        guard binding.status == .active else { throw .bindingState(binding, expected: "active") }
        guard binding.startDate <= today else {
            throw .payment(
                .bindingNotStarted, "the authorization starts on \(binding.startDate)", "授权尚未开始",
                ["start_date": binding.startDate.description])
        }
        guard authorizer.insuranceType == .employee, authorizer.status == .normal else {
            throw .authorizer(
                .authorizerStatusNotNormal, "the authorizer is no longer employee-insured with status normal",
                "授权人参保状态不正常", ["status": authorizer.status.rawValue])
        }
    }
}
