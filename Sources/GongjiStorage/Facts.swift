import Foundation
import GongjiCore

/// What a use case reads before the core decides — named once for every backend, each with the
/// rows a backend locks before reading it (PostgreSQL; SQLite has one writer). Lock order, for
/// every request that locks more than one kind of row: the settlement, then the binding, then the
/// person, then the accounts in ID-number order. A backend answers each request with `StoredFacts`
/// and nothing more: it parses no input and calls no rule.
public enum FactsRequest: Hashable, Sendable {
    /// Nothing: the write depends on no stored fact.
    case nothing
    /// A quote or payment through a binding: the binding, both parties (paid years, accounts), the
    /// years paid for the member through Gongji and what the member's wallet holds through the
    /// binding (`holdings`). Locks the binding, then the authorizer's account.
    case premium(bindingID: String)
    /// A settlement: the institution, the patient, and the patient's bindings as member, oldest
    /// first, each with its authorizer's account, its family funds used at institutions in
    /// `day`'s year and on `day`, and what the patient's wallet holds through it (R-XP-5). Locks
    /// the accounts of the patient and of every authorizer (a wallet's holding changes only
    /// under its authorizer's account lock).
    case settlement(institution: InstitutionCode?, patient: ResidentID?, day: CivilDate)
    /// A reversal: the settlement, the accounts its postings debited, and for the postings paid
    /// from a wallet, their bindings (`bindings`) and holdings. Locks the settlement, then those
    /// accounts.
    case reversal(institution: InstitutionCode, settlementID: String)
    /// A new binding: the authorizer, the member (when the number is valid), the authorizer's
    /// bindings, and which of `documents` the authorizer uploaded. Locks the authorizer's person row.
    case newBinding(authorizer: ResidentID, member: ResidentID?, documents: [String])
    /// A binding. Locks it.
    case binding(id: String)
    /// R-CTL-1, the whole account: the authorizer (with the account) and his or her bindings.
    /// Locks the account — as a settlement does before it reads the bindings, so that a settlement
    /// committed after the freeze reads the frozen bindings.
    case accountBindings(ResidentID)
    /// A person being registered: as registered now, his or her open (pending or active) bindings,
    /// and (R-XP-6) what wallets hold through them, their pending transfers and their authorizers'
    /// accounts. Locks those accounts, then those transfers.
    case registration(ResidentID)
    /// A credit: the person with the account, and whose account `reference` was applied to. Locks
    /// the account.
    case credit(ResidentID, reference: String)
    /// A designated institution.
    case institution(InstitutionCode)
    /// The rollover into `year`: the last rollover, the oldest account's year, and every account
    /// of an earlier year. Locks out other rollovers, then those accounts.
    case rollover(year: Int)
    /// A document's recorded side.
    case document(id: String)
    /// The clean-up: the holds last renewed at or before `uploadedBefore`. Takes the clean-up's
    /// lock without waiting (one daemon at a time); `StoredFacts.cleanupLockHeld` says whether it got it.
    case documentHolds(uploadedBefore: Int64)
    /// R-XP-2: a person's wallet (`person`, `wallet`, `holdings`).
    case wallet(ResidentID)
    /// R-XP-3: a transfer through a binding: the binding, the authorizer (with the account), the
    /// member, the member's wallet, how many transfers the authorizer sent on `day`, and the
    /// binding's transfers stored as pending. Locks the binding, the account, then those transfers.
    case walletTransfer(bindingID: String, day: CivilDate)
    /// R-XP-4: a transfer (`transfers`), its binding, its authorizer (with the account) and what
    /// the wallet holds through the binding. Locks the binding, the account, then the transfer.
    case transfer(id: String)
    /// R-XP-4: the transfers stored as pending whose return time is at or before `at` (at most
    /// `limit`), with their authorizers' accounts. Takes the return's lock without waiting (one
    /// daemon at a time; `cleanupLockHeld` says whether it got it), then locks the bindings, the
    /// accounts, then the transfers.
    case dueTransfers(at: Int64, limit: Int)
    /// A person's transfers as sender (`.authorizer`) or receiver (`.member`), newest first,
    /// strictly before the cursor (`transfers`).
    case walletTransfers(of: ResidentID, as: BindingPerspective, before: Int64?, limit: Int)
    /// R-XP-6: a binding that may end: the binding, its authorizer (with the account), what the
    /// member's wallet holds through it and its transfers stored as pending. Locks the binding,
    /// the account, then those transfers.
    case endingBinding(id: String)
    /// What wallets hold from an authorizer now (`holdings`, non-zero ones).
    case holdingsFrom(ResidentID)
    /// R-XP-7: the wallet movements written at or after `from` and before `until`, in order (`walletMovements`).
    case walletMovements(from: Int64, until: Int64)
    /// A payment (a replay).
    case payment(id: String)
    /// A settlement by its sequence number (a replay).
    case numberedSettlement(Int64)
}

/// The answer to a `FactsRequest`: the fields that request names, the rest empty.
public struct StoredFacts: Sendable {
    /// The binding (`.premium`, `.binding`).
    public var binding: BindingRecord?
    /// The binding's or the new binding's authorizer; the person of `.registration` and `.credit`.
    public var person: PersonRecord?
    /// The binding's or the new binding's member.
    public var member: PersonRecord?
    /// Resident premium years paid for the member through Gongji (`.premium`).
    public var memberPaymentYears: Set<Int> = []
    /// R-LTC-1: long-term-care years paid for the member through Gongji (`.premium`).
    public var memberLongTermCareYears: Set<Int> = []
    /// The authorizer's bindings (`.newBinding`); the person's open bindings (`.registration`).
    public var bindings: [Binding] = []
    /// The documents the authorizer uploaded, by id, with their sides (`.newBinding`).
    public var documents: [String: DocumentSide] = [:]
    /// The institution (`.settlement`, `.institution`).
    public var institution: Institution?
    /// The patient's bindings as member, with what the core needs of each (`.settlement`).
    public var patientBindings: [StoredFamilyBinding] = []
    /// The settlement (`.reversal`, `.numberedSettlement`).
    public var settlement: SettlementRecord?
    /// Accounts (`.reversal`: those debited; `.rollover`: those of an earlier year).
    public var accounts: [PersonalAccount] = []
    /// Whose account the credit's reference went to (`.credit`).
    public var referenceOwner: ResidentID?
    /// The year of the last rollover and of the oldest account (`.rollover`).
    public var lastRolledYear: Int?
    /// See `lastRolledYear`.
    public var oldestAccountYear: Int?
    /// `.document`: nil when not recorded; the recorded side otherwise (nil inside when it does not decode).
    public var recordedSide: DocumentSide??
    /// The holds (`.documentHolds`).
    public var documentHolds: [DocumentHold] = []
    /// Whether this daemon holds the clean-up's lock (`.documentHolds`; the return's, `.dueTransfers`).
    public var cleanupLockHeld = true
    /// The payment (`.payment`).
    public var payment: PaymentRecord?
    /// The member's wallet (`.wallet`, `.walletTransfer`).
    public var wallet: Wallet?
    /// What wallets hold (`.wallet`: the person's; `.transfer`, `.endingBinding`: through the binding).
    public var holdings: [WalletHolding] = []
    /// Transfers (see the request).
    public var transfers: [WalletTransfer] = []
    /// How many transfers the authorizer sent that day (`.walletTransfer`).
    public var transfersSentToday = 0
    /// The wallet movements (`.walletMovements`).
    public var walletMovements: [WalletMovement] = []

    /// No facts.
    public init() {}
}

/// A binding of a patient as a settlement reads it.
public struct StoredFamilyBinding: Sendable {
    /// The binding.
    public var binding: Binding
    /// Its authorizer's account, if any.
    public var authorizerAccount: PersonalAccount?
    /// Family funds it paid at institutions this year, net of reversals.
    public var usedThisYear: Money
    /// Family funds it paid at institutions today, net of reversals (R-CTL-2).
    public var usedToday: Money
    /// R-XP-5: what the patient's wallet holds through it.
    public var walletHolding: WalletHolding?

    /// Creates it.
    public init(
        binding: Binding, authorizerAccount: PersonalAccount?, usedThisYear: Money, usedToday: Money, walletHolding: WalletHolding? = nil
    ) {
        self.binding = binding
        self.authorizerAccount = authorizerAccount
        self.usedThisYear = usedThisYear
        self.usedToday = usedToday
        self.walletHolding = walletHolding
    }
}

/// An idempotency key's stored row: the request's fingerprint and the result it recorded.
public struct StoredResult: Sendable {
    /// Digest of the request that first used the key.
    public var fingerprint: Data
    /// What it recorded (an id, a count, `created`/`replaced` …).
    public var result: String

    /// Creates it.
    public init(fingerprint: Data, result: String) {
        self.fingerprint = fingerprint
        self.result = result
    }
}
