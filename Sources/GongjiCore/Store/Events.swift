/// R-EVT-1: one change of money or of a binding, as a notification needs it. Written by the same
/// write-set as the change (`Write.event`), never changed afterwards; the backend gives it its
/// position in the one order every daemon agrees on.
///
/// It names its two parties by ID number so that a person's events can be found, but carries
/// only the member's masked name, never a diagnosis, items or an image; what leaves the daemon
/// masks the ID numbers too.
public struct AccountEvent: Hashable, Sendable {
    /// What happened.
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        /// A premium paid from the authorizer's account (R-PAY).
        case premiumPaid = "premium_paid"
        /// An account paid at a designated institution (R-SETL): the patient's own or family funds.
        case settled
        /// A settlement reversed: the money back into the account.
        case settlementReversed = "settlement_reversed"
        /// A binding created (pending review, or active at once).
        case bindingCreated = "binding_created"
        /// A pending binding approved by a reviewer.
        case bindingApproved = "binding_approved"
        /// A pending binding rejected by a reviewer.
        case bindingRejected = "binding_rejected"
        /// A binding ended: by either party, or by a registry change.
        case bindingEnded = "binding_ended"
        /// The authorizer changed a binding's limit on family use.
        case limitChanged = "limit_changed"
        /// R-CTL-1: the authorizer froze family use through a binding.
        case familyUseFrozen = "family_use_frozen"
        /// R-CTL-1: the authorizer lifted the freeze.
        case familyUseUnfrozen = "family_use_unfrozen"
        /// R-XP-3: the authorizer granted an amount into the member's wallet (pending acceptance).
        case walletTransferSent = "wallet_transfer_sent"
        /// R-XP-4: the member accepted a transfer: the wallet holds it.
        case walletTransferAccepted = "wallet_transfer_accepted"
        /// R-XP-4: the member declined a transfer: back in the authorizer's account.
        case walletTransferDeclined = "wallet_transfer_declined"
        /// R-XP-4, R-XP-6: a transfer not accepted in time, or pending when its binding ended, came back.
        case walletTransferReturned = "wallet_transfer_returned"
        /// R-XP-6: the binding ended: what the wallet held from the authorizer came back.
        case walletReturned = "wallet_returned"
    }

    /// Its position (0 until the backend has stored it).
    public var position: Int64
    /// What happened.
    public var kind: Kind
    /// When, Unix seconds.
    public var at: Int64
    /// Whose account moved, or the binding's authorizer.
    public var authorizer: ResidentID
    /// Who it was for: the member (the patient; the authorizer himself for his own account's use).
    public var member: ResidentID
    /// The member's name, masked (`王**`).
    public var memberNameMasked: String
    /// The binding, when one is involved.
    public var bindingID: String?
    /// The money that moved out of (or back into) `authorizer`'s account, or the new limit.
    public var amount: Money?
    /// The parts of the account the money came from or went back to.
    public var parts: [BalancePart]
    /// The institution, for settlements and reversals.
    public var institution: InstitutionRef?
    /// The authorizer's balance (both parts) once the change is applied.
    public var balanceAfter: Money?
    /// The payment or settlement id.
    public var reference: String?

    /// The designated institution of a settlement, as shown to a person.
    public struct InstitutionRef: Hashable, Sendable {
        /// Its national code.
        public var code: InstitutionCode
        /// Its name.
        public var name: String
        /// Hospital or pharmacy.
        public var kind: InstitutionKind

        /// The reference of `institution`.
        public init(_ institution: Institution) {
            code = institution.code
            name = institution.name
            kind = institution.kind
        }

        /// A reference read back.
        public init(code: InstitutionCode, name: String, kind: InstitutionKind) {
            self.code = code
            self.name = name
            self.kind = kind
        }
    }

    /// Creates an event; `position` is the backend's to give.
    public init(
        position: Int64 = 0, kind: Kind, at: Int64, authorizer: ResidentID, member: ResidentID, memberName: String,
        bindingID: String? = nil, amount: Money? = nil, parts: [BalancePart] = [], institution: InstitutionRef? = nil,
        balanceAfter: Money? = nil, reference: String? = nil
    ) {
        self.position = position
        self.kind = kind
        self.at = at
        self.authorizer = authorizer
        self.member = member
        self.memberNameMasked = maskName(memberName)
        self.bindingID = bindingID
        self.amount = amount
        self.parts = parts
        self.institution = institution
        self.balanceAfter = balanceAfter
        self.reference = reference
    }

    /// Whether `person` is a party to it (R-EVT-2: a person follows the events he or she is a party to).
    public func concerns(_ person: ResidentID) -> Bool { authorizer == person || member == person }
}

extension AccountEvent {
    /// The event of a binding's creation or change.
    static func binding(_ kind: Kind, _ binding: Binding, now: Int64) -> AccountEvent {
        AccountEvent(
            kind: kind, at: now, authorizer: binding.authorizer, member: binding.member, memberName: binding.memberName,
            bindingID: binding.id, amount: kind == .limitChanged ? binding.medicalLimit : nil)
    }

    /// One event per account that moved in a settlement or its reversal, with that account's
    /// balance after it.
    static func settlement(
        _ kind: Kind, postings: [SettlementPosting], accounts: [PersonalAccount], record: SettlementRecord, now: Int64
    ) -> [AccountEvent] {
        SettlementPosting.byOwner(postings).map { owner, amount in
            let own = postings.filter { $0.owner == owner }
            var parts: [BalancePart] = []
            for posting in own where !parts.contains(posting.part) { parts.append(posting.part) }
            return AccountEvent(
                kind: kind, at: now, authorizer: owner, member: record.patient, memberName: record.patientName,
                bindingID: own.compactMap(\.bindingID).first, amount: amount, parts: parts,
                institution: InstitutionRef(record.institution),
                balanceAfter: accounts.first { $0.owner == owner }?.total, reference: record.settlementID)
        }
    }
}

extension BindingRules.Change {
    /// The event this change is.
    public func eventKind(_ changed: Binding) -> AccountEvent.Kind {
        switch self {
        case .revoke: .bindingEnded
        case .review: changed.status == .active ? .bindingApproved : .bindingRejected
        case .setMedicalLimit: .limitChanged
        case .freeze(_, let frozen): frozen ? .familyUseFrozen : .familyUseUnfrozen
        case .setUseLimits: .limitChanged
        }
    }
}

extension WriteSet {
    /// The events it writes.
    public var events: [AccountEvent] {
        writes.compactMap { if case .event(let event) = $0 { event } else { nil } }
    }

    /// R-EVT-1 as an invariant of every write-set: one event for each use of an account (the
    /// deduction lists' rows) and for each recorded change of a binding. Checked for every
    /// use case a backend runs (in debug builds, and so in every test).
    public var recordsEveryEvent: Bool {
        var expected = 0
        for write in writes {
            switch write {
            case .accountUse, .bindingEvent: expected += 1
            default: break
            }
        }
        return events.count == expected
    }
}

/// R-EVT-3: how long the journal keeps events.
public enum EventRetention {
    /// The clean-up's write: the events older than `retentionSeconds` at `now` go.
    public static func cleanUp(now: Int64, retentionSeconds: Int64) -> [Write] {
        precondition(retentionSeconds > 0, "a retention is positive")
        return [.removeEvents(writtenBefore: now - retentionSeconds)]
    }
}

/// R-EVT-2 and R-EVT-3: what a follower of the journal is told.
public enum EventRules {
    /// Checks a follower's position against the clean-up's horizon: the events after `position`
    /// up to `removedThrough` are gone (a follower cannot tell it missed them otherwise).
    public static func checkPosition(_ position: Int64, removedThrough: Int64) throws(DomainError) {
        guard position >= 0 else { throw .invalidField("after_position", "must not be negative", zh: "位置不能为负数") }
        guard position >= removedThrough else {
            throw DomainError(
                reason: .eventPositionGone, category: .outOfRange,
                message: "the events after position \(position) up to \(removedThrough) are past their retention; "
                    + "the oldest kept is after \(removedThrough)",
                messageZH: "该位置之后的部分事件已超过保存期限", details: ["oldest_position": String(removedThrough + 1)])
        }
    }

    /// This daemon serves `max` followers already.
    public static func followersBusy(max: Int) -> DomainError {
        DomainError(
            reason: .followersBusy, category: .resourceExhausted,
            message: "this daemon serves \(max) followers of the events; retry later or on another daemon",
            messageZH: "事件订阅过多，请稍后重试", details: ["followers_max": String(max)])
    }

    /// The follower did not take an event within `seconds`: its stream ends, to resume after `position`.
    public static func tooSlow(resumeAfter position: Int64, seconds: Int) -> DomainError {
        DomainError(
            reason: .followerTooSlow, category: .resourceExhausted,
            message: "the follower did not read an event for \(seconds) s; resume after position \(position)",
            messageZH: "事件接收过慢，请从断点继续", details: ["resume_after_position": String(position)])
    }

    /// The daemon stops: the stream ends, to resume (on another daemon) after `position`.
    public static func stopping(resumeAfter position: Int64) -> DomainError {
        DomainError(
            reason: .daemonStopping, category: .unavailable,
            message: "the daemon is stopping; resume after position \(position), here later or on another daemon",
            messageZH: "服务正在停止，请从断点继续", details: ["resume_after_position": String(position)])
    }
}
