/// The lifecycle state of a binding: pending review → active | rejected; active → revoked.
public enum BindingStatus: String, Hashable, Sendable, Codable, CaseIterable {
    /// Submitted, awaiting a reviewer (R-BIND-6).
    case pending
    /// In force.
    case active
    /// Refused by a reviewer, with a reason.
    case rejected
    /// Ended by the authorizer (R-BIND-7).
    case revoked

    /// Whether the binding counts towards the member limit and blocks a duplicate.
    public var isOpen: Bool { self == .pending || self == .active }

    var chinese: String {
        switch self {
        case .pending: "待审核"
        case .active: "已生效"
        case .rejected: "已驳回"
        case .revoked: "已解除"
        }
    }
}

/// Which side of the ID card an image shows.
public enum DocumentSide: String, Hashable, Sendable, Codable, CaseIterable {
    /// 人像面 (portrait side).
    case front
    /// 国徽面 (emblem side).
    case back
}

/// The authorizer's acceptance of the personal commitment letter (个人承诺书).
public struct CommitmentAcceptance: Hashable, Sendable, Codable {
    /// Which version of the text was accepted.
    public var version: String
    /// When it was accepted, seconds since the Unix epoch.
    public var acceptedAtUnix: Int64

    /// Creates an acceptance.
    public init(version: String, acceptedAtUnix: Int64) {
        self.version = version
        self.acceptedAtUnix = acceptedAtUnix
    }
}

/// A family mutual-aid authorization authorizer → member (共济授权).
/// Who ended a binding.
public enum BindingEndParty: String, Hashable, Sendable {
    /// The authorizer revoked it (R-BIND-7).
    case authorizer
    /// The member withdrew from it (R-BIND-10).
    case member
    /// A registry change ended it (R-BIND-11).
    case registry
}

public struct Binding: Hashable, Sendable {
    /// Opaque identifier assigned at creation.
    public var id: String
    /// The employee-insured person whose account pays.
    public var authorizer: ResidentID
    /// The family member who benefits.
    public var member: ResidentID
    /// The member's name as given (and matched against the registry).
    public var memberName: String
    /// How the member is related to the authorizer.
    public var relationship: Relationship
    /// The region whose policy governs the binding (the authorizer's).
    public var region: RegionCode
    /// The authorization start date.
    public var startDate: CivilDate
    /// Lifecycle state.
    public var status: BindingStatus
    /// Whether the member was bound as a not-yet-enrolled newborn (R-BIND-8).
    public var isNewborn: Bool
    /// The signed commitment, where the region requires one.
    public var commitment: CommitmentAcceptance?
    /// SHA-256 (hex) of the front image, where required.
    public var frontDocument: String?
    /// SHA-256 (hex) of the back image, where required.
    public var backDocument: String?
    /// The reviewer's reason for a rejection.
    public var rejectionReason: String?
    /// The annual limit on family-fund use at designated institutions (R-SETL-8); nil: no limit
    /// beyond the balance.
    public var medicalLimit: Money?
    /// Who ended the binding (R-BIND-7, R-BIND-10, R-BIND-11); nil while it has not ended.
    public var endedBy: BindingEndParty?
    /// Why the registry ended it (a reason such as `AUTHORIZER_NOT_EMPLOYEE_INSURED`).
    public var endReason: String?
    /// R-CTL-1: the authorizer froze family use through this binding (settlements pay nothing
    /// from family funds, premium payments are refused) until he or she lifts it.
    public var isFrozen = false
    /// R-CTL-2: the most family funds one settlement may take through this binding; nil: no limit.
    public var settlementLimit: Money?
    /// R-CTL-2: the most family funds settlements may take through it in one day (China time);
    /// nil: no limit.
    public var dailyLimit: Money?

    /// Creates a binding.
    public init(
        id: String, authorizer: ResidentID, member: ResidentID, memberName: String,
        relationship: Relationship, region: RegionCode, startDate: CivilDate, status: BindingStatus,
        isNewborn: Bool = false, commitment: CommitmentAcceptance? = nil,
        frontDocument: String? = nil, backDocument: String? = nil, rejectionReason: String? = nil,
        medicalLimit: Money? = nil
    ) {
        self.medicalLimit = medicalLimit
        self.id = id
        self.authorizer = authorizer
        self.member = member
        self.memberName = memberName
        self.relationship = relationship
        self.region = region
        self.startDate = startDate
        self.status = status
        self.isNewborn = isNewborn
        self.commitment = commitment
        self.frontDocument = frontDocument
        self.backDocument = backDocument
        self.rejectionReason = rejectionReason
    }
}
