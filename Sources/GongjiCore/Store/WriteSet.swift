/// Everything one use case writes, as the core planned it: typed rows that a backend turns into
/// SQL and applies in one transaction, in order, all or nothing. A backend adds only what only it
/// can — the sequence number of the one numbered row a write-set may insert (a payment, a
/// settlement, a binding), and the removed documents' ids — and decides nothing.
public struct WriteSet: Hashable, Sendable {
    /// The rows, in the order they are written.
    public var writes: [Write]
    /// The time of every row written, Unix seconds.
    public var now: Int64

    /// A write-set of `writes` at `now`.
    public init(_ writes: [Write] = [], now: Int64) {
        self.writes = writes
        self.now = now
    }

    /// Appends `write`.
    public mutating func append(_ write: Write) { writes.append(write) }

    /// Appends `writes`.
    public mutating func append(contentsOf writes: [Write]) { self.writes.append(contentsOf: writes) }
}

/// What a backend did beyond the write-set itself.
public struct Applied: Hashable, Sendable {
    /// The sequence number given to the write-set's numbered row (payment, settlement or binding).
    public var sequence: Int64?
    /// The ids of documents `Write.removeUnheldDocuments` removed.
    public var removedDocuments: [String]
    /// How many events `Write.removeEvents` removed.
    public var removedEvents: Int

    /// Creates the outcome.
    public init(sequence: Int64? = nil, removedDocuments: [String] = [], removedEvents: Int = 0) {
        self.sequence = sequence
        self.removedDocuments = removedDocuments
        self.removedEvents = removedEvents
    }
}

/// One row (or a row and its children) of a write-set.
public enum Write: Hashable, Sendable {
    /// Creates or replaces a person and the premium years paid elsewhere.
    case person(Person, paidYears: [Int])
    /// Opens an account unless the person has one.
    case openAccount(PersonalAccount)
    /// An account's year and balances.
    case account(PersonalAccount)
    /// A member enrolled by a payment: insurance type, status and region.
    case enrollment(Person)
    /// A credit's reference, applied once.
    case credit(reference: String, owner: ResidentID, amount: Money)
    /// A movement's ledger entries (they sum to zero).
    case ledger(LedgerMovement)
    /// Creates or replaces a designated institution.
    case institution(Institution)
    /// An operator's availability switch of a region.
    case availability(RegionCode, suspended: Bool)
    /// The record of a year-end rollover.
    case rollover(year: Int, accounts: Int)
    /// A new binding (numbered).
    case newBinding(Binding)
    /// A binding's changed state.
    case bindingState(Binding)
    /// A recorded change of a binding (its status now, who, why).
    case bindingEvent(Binding, actor: ChangeActor, reason: String?)
    /// A premium payment with its years and postings (numbered: its receipt number follows).
    case payment(PaymentRow)
    /// A settlement with its postings (numbered).
    case settlement(SettlementRow)
    /// A settlement reversed on `day`.
    case settlementReversed(sequence: Int64, day: CivilDate)
    /// One use of an account for the deduction lists.
    case accountUse(AccountUseRow)
    /// A document's record, unless the bytes are recorded already.
    case document(DocumentRecord, uploadedBy: ResidentID)
    /// An uploader's hold on a document (its retention starts again).
    case documentHold(documentID: String, uploader: ResidentID)
    /// Releases an uploader's hold.
    case releaseDocumentHold(documentID: String, uploader: ResidentID)
    /// Removes the records of documents that no uploader and no binding holds (`Applied.removedDocuments`).
    case removeUnheldDocuments
    /// R-XP-2: opens a member's wallet unless it is open.
    case wallet(Wallet)
    /// R-XP-3, R-XP-4: a wallet transfer as it now stands (inserted, or its status changed).
    case walletTransfer(WalletTransfer)
    /// What a wallet holds through a binding, as it now stands.
    case walletHolding(WalletHolding)
    /// R-XP-7: wallet money moved between two provinces' funds (written at the set's time).
    case walletMovement(WalletMovement)
    /// An event of the journal (R-EVT-1), positioned by the backend.
    case event(AccountEvent)
    /// R-EVT-3: removes the events written before this time (Unix seconds) and remembers the
    /// newest position removed (`Applied.removedEvents` says how many).
    case removeEvents(writtenBefore: Int64)
}

/// A payment as written: the record less its sequence and receipt numbers.
public struct PaymentRow: Hashable, Sendable {
    /// The record; `seq`, `receiptNumber` and `verificationCode` are filled in later.
    public var record: PaymentRecord
    /// The receipt's day (the receipt number is this day and the sequence).
    public var issuedOn: CivilDate
    /// Whether the payment enrolled a newborn member.
    public var enrollsMember: Bool

    /// Creates the row.
    public init(record: PaymentRecord, issuedOn: CivilDate, enrollsMember: Bool) {
        self.record = record
        self.issuedOn = issuedOn
        self.enrollsMember = enrollsMember
    }

    /// The stored record once the backend has numbered it `sequence`.
    public func numbered(_ sequence: Int64) -> PaymentRecord {
        var numbered = record
        numbered.seq = sequence
        numbered.receiptNumber = ReceiptNumber.make(issuedOn: issuedOn, sequence: sequence)
        return numbered
    }
}

/// A settlement as written: the record less its sequence number.
public struct SettlementRow: Hashable, Sendable {
    /// The record; `seq` is filled in later.
    public var record: SettlementRecord
    /// The day it settled (China time).
    public var day: CivilDate

    /// Creates the row.
    public init(record: SettlementRecord, day: CivilDate) {
        self.record = record
        self.day = day
    }

    /// The stored record once the backend has numbered it `sequence`.
    public func numbered(_ sequence: Int64) -> SettlementRecord {
        var numbered = record
        numbered.seq = sequence
        return numbered
    }
}

/// One use of an account (a row of the deduction lists).
public struct AccountUseRow: Hashable, Sendable {
    /// What it was.
    public var kind: AccountUseRecord.Kind
    /// Whose account paid (or got the money back).
    public var owner: ResidentID
    /// Who it was for.
    public var member: ResidentID
    /// That person's name.
    public var memberName: String
    /// Amount (positive).
    public var amount: Money
    /// The premium payment, for `.premium`.
    public var paymentID: String?
    /// The settlement, for `.settlement` and `.reversal`.
    public var settlement: SettlementReference?
    /// The wallet transfer, or the binding whose wallet came back (the wallet's kinds).
    public var reference: String?

    /// Which settlement a use belongs to.
    public enum SettlementReference: Hashable, Sendable {
        /// The one the same write-set inserts.
        case inserted
        /// A stored one.
        case sequence(Int64)
    }

    /// Creates the row.
    public init(
        kind: AccountUseRecord.Kind, owner: ResidentID, member: ResidentID, memberName: String, amount: Money,
        paymentID: String? = nil, settlement: SettlementReference? = nil, reference: String? = nil
    ) {
        self.reference = reference
        self.kind = kind
        self.owner = owner
        self.member = member
        self.memberName = memberName
        self.amount = amount
        self.paymentID = paymentID
        self.settlement = settlement
    }
}
