import Foundation

/// A registered person with the premium years paid elsewhere and, for the employee-insured, the
/// personal account.
public struct PersonRecord: Hashable, Sendable {
    /// The person.
    public var person: Person
    /// Resident premium years paid outside Gongji.
    public var paidYears: [Int]
    /// The personal account, if any.
    public var account: PersonalAccount?

    /// Creates a record.
    public init(person: Person, paidYears: [Int], account: PersonalAccount?) {
        self.person = person
        self.paidYears = paidYears
        self.account = account
    }
}

/// What an import did.
public struct ImportSummary: Hashable, Sendable {
    /// Persons created or replaced.
    public var personsUpserted = 0
    /// Credits applied.
    public var creditsApplied = 0
    /// Credits skipped because their reference was applied before.
    public var creditsSkipped = 0
    /// Designated institutions created or replaced.
    public var institutionsUpserted = 0

    /// An empty summary.
    public init() {}
}

/// A stored binding with its times and its position in lists.
public struct BindingRecord: Hashable, Sendable {
    /// The binding.
    public var binding: Binding
    /// Creation time, Unix seconds.
    public var createdAt: Int64
    /// Last state change, Unix seconds.
    public var updatedAt: Int64
    /// Insertion order (the list cursor).
    public var seq: Int64

    /// Creates a record.
    public init(binding: Binding, createdAt: Int64, updatedAt: Int64, seq: Int64) {
        self.binding = binding
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.seq = seq
    }
}

/// One recorded change of a binding.
public struct BindingEvent: Hashable, Sendable {
    /// The status it changed to.
    public var status: String
    /// The calling system's certificate identity.
    public var identity: String
    /// The end user it acted for, if any.
    public var endUser: String?
    /// The client's request id.
    public var requestID: String?
    /// When, Unix seconds.
    public var at: Int64

    /// Creates an event.
    public init(status: String, identity: String, endUser: String?, requestID: String?, at: Int64) {
        self.status = status
        self.identity = identity
        self.endUser = endUser
        self.requestID = requestID
        self.at = at
    }
}

/// Who changed something: the calling system's certificate identity, the end user it acted for,
/// and the client's request id.
public struct ChangeActor: Hashable, Sendable {
    /// Certificate identity.
    public var certificateIdentity: String
    /// The end user (ID number), if the call named one.
    public var endUser: ResidentID?
    /// The request id.
    public var requestID: String?

    /// Creates an actor.
    public init(certificateIdentity: String, endUser: ResidentID?, requestID: String?) {
        self.certificateIdentity = certificateIdentity
        self.endUser = endUser
        self.requestID = requestID
    }
}

/// Which side of a binding a list is from.
public enum BindingPerspective: String, Sendable {
    /// The person is the authorizer.
    case authorizer
    /// The person is the member.
    case member
}

/// A stored document's metadata.
public struct DocumentRecord: Hashable, Sendable {
    /// SHA-256 hex.
    public var id: String
    /// Which side.
    public var side: DocumentSide
    /// Detected media type.
    public var mediaType: String
    /// Size in bytes.
    public var size: Int
    /// Upload time, Unix seconds.
    public var uploadedAt: Int64

    /// Creates a record.
    public init(id: String, side: DocumentSide, mediaType: String, size: Int, uploadedAt: Int64) {
        self.id = id
        self.side = side
        self.mediaType = mediaType
        self.size = size
        self.uploadedAt = uploadedAt
    }
}

/// A stored premium payment with its receipt fields.
public struct PaymentRecord: Hashable, Sendable {
    /// Opaque id.
    public var id: String
    /// The binding paid through.
    public var bindingID: String
    /// The payer.
    public var authorizer: ResidentID
    /// The payer's registered name.
    public var authorizerName: String
    /// The member paid for.
    public var member: ResidentID
    /// The member's name.
    public var memberName: String
    /// The governing region.
    public var region: RegionCode
    /// Years and amounts.
    public var lines: [PremiumLine]
    /// The whole amount.
    public var total: Money
    /// Debits from the payer's account parts.
    public var postings: [Posting]
    /// The part paid through another channel.
    public var external: ExternalPayment?
    /// The receipt number (电子回单号).
    public var receiptNumber: String
    /// The receipt's verification code: computed from `receiptText` under the daemon's receipt
    /// key when the payment is read (the store does not hold it), empty until then.
    public var verificationCode: String
    /// Payment time, Unix seconds.
    public var createdAt: Int64
    /// List cursor.
    public var seq: Int64
    /// R-XP-5: paid from what the member's wallet holds from the authorizer (the postings' parts
    /// are the parts of the account the wallet's money came from), not from the account.
    public var fromWallet = false
    /// R-LTC-1: which premium it paid.
    public var kind = PremiumKind.resident

    /// Creates a record.
    public init(
        id: String, bindingID: String, authorizer: ResidentID, authorizerName: String, member: ResidentID,
        memberName: String, region: RegionCode, lines: [PremiumLine], total: Money, postings: [Posting],
        external: ExternalPayment?, receiptNumber: String, verificationCode: String = "", createdAt: Int64, seq: Int64,
        fromWallet: Bool = false, kind: PremiumKind = .resident
    ) {
        self.fromWallet = fromWallet
        self.kind = kind
        self.id = id
        self.bindingID = bindingID
        self.authorizer = authorizer
        self.authorizerName = authorizerName
        self.member = member
        self.memberName = memberName
        self.region = region
        self.lines = lines
        self.total = total
        self.postings = postings
        self.external = external
        self.receiptNumber = receiptNumber
        self.verificationCode = verificationCode
        self.createdAt = createdAt
        self.seq = seq
    }

    /// The part paid from the account.
    public var accountPart: Money { Money.sum(postings.map(\.amount)) ?? .zero }

    /// The text a receipt's verification code signs: every field a holder can read on it.
    public var receiptText: String {
        [
            receiptNumber, id, authorizer.value, member.value, lines.map { String($0.year) }.joined(separator: ","), String(total.fen),
            String((external?.amount ?? .zero).fen), region.description, String(createdAt),
        ].joined(separator: "|") + (kind == .resident ? "" : "|\(kind.rawValue)")
    }
}

/// What a keyed money mutation answered: the record, and whether it is the stored answer of an
/// earlier request with the same key (a retry: nothing moved this time, so no metric counts it).
public struct Answered<Record: Hashable & Sendable>: Hashable, Sendable {
    /// The payment or settlement.
    public var record: Record
    /// Whether this is an earlier request's answer, returned again.
    public var isReplay: Bool

    /// Creates an answer.
    public init(_ record: Record, isReplay: Bool) {
        self.record = record
        self.isReplay = isReplay
    }
}

/// A retried mutation: who asked (`scope`, e.g. method and caller), the client's request id, and
/// a fingerprint of the request's content.
public struct IdempotencyKey: Hashable, Sendable {
    /// Method and caller identity.
    public var scope: String
    /// The client's request id.
    public var requestID: String
    /// Digest of the request content, excluding the request id.
    public var fingerprint: Data
    /// What the id is: a client's request id, or an institution's settlement id (R-SETL-4).
    public var kind: Kind

    /// What kind of id names the request.
    public enum Kind: Hashable, Sendable {
        /// A `request_id`.
        case request
        /// An institution's `settlement_id`.
        case settlement
    }

    /// Creates a key.
    public init(scope: String, requestID: String, fingerprint: Data, kind: Kind = .request) {
        self.scope = scope
        self.requestID = requestID
        self.fingerprint = fingerprint
        self.kind = kind
    }
}

/// One use of a personal account (R-SETL-9): a premium payment, a settlement at a designated
/// institution, or its reversal. Never diagnosis or items.
public struct AccountUseRecord: Hashable, Sendable {
    /// What it was.
    public enum Kind: String, Hashable, Sendable {
        /// A premium payment.
        case premium
        /// A settlement at a designated institution.
        case settlement
        /// The reversal of a settlement: the money came back.
        case reversal
        /// R-XP-3: granted into the member's wallet (out of the account, pending acceptance).
        case walletTransfer = "wallet_transfer"
        /// R-XP-4: the member accepted a transfer (the wallet holds it).
        case walletTransferAccepted = "wallet_transfer_accepted"
        /// R-XP-4: the member declined a transfer: the money came back.
        case walletTransferDeclined = "wallet_transfer_declined"
        /// R-XP-4, R-XP-6: a transfer not accepted in time, or what a wallet held when its binding
        /// ended, came back.
        case walletReturned = "wallet_returned"
    }

    /// What it was.
    public var kind: Kind
    /// Whose account paid (or was credited back).
    public var accountOwner: ResidentID
    /// Who it was for.
    public var member: ResidentID
    /// That person's name.
    public var memberName: String
    /// Amount (positive).
    public var amount: Money
    /// When, Unix seconds.
    public var at: Int64
    /// The premium payment, for `.premium`.
    public var paymentID: String?
    /// The settlement id, for `.settlement` and `.reversal`.
    public var settlementID: String?
    /// The institution, for `.settlement` and `.reversal`.
    public var institution: Institution?
    /// List cursor.
    public var seq: Int64
    /// The wallet transfer (or, a wallet returned at the end of its binding, the binding).
    public var reference: String?

    /// Creates a record.
    public init(
        kind: Kind, accountOwner: ResidentID, member: ResidentID, memberName: String, amount: Money, at: Int64,
        paymentID: String?, settlementID: String?, institution: Institution?, seq: Int64, reference: String? = nil
    ) {
        self.reference = reference
        self.kind = kind
        self.accountOwner = accountOwner
        self.member = member
        self.memberName = memberName
        self.amount = amount
        self.at = at
        self.paymentID = paymentID
        self.settlementID = settlementID
        self.institution = institution
        self.seq = seq
    }
}
