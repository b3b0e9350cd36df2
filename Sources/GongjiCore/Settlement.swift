import Foundation

/// Kinds of designated institution (R-SETL-1).
public enum InstitutionKind: String, Hashable, Sendable, CaseIterable {
    /// 定点医疗机构: codes `H` and 11 digits.
    case hospital
    /// 定点零售药店: codes `P` and 11 digits.
    case pharmacy

    /// The letter its national codes start with.
    public var letter: Character { self == .hospital ? "H" : "P" }

    /// The kind of provider family funds may pay (R-SCOPE-1).
    var provider: FundUse.ProviderKind { self == .hospital ? .designatedMedicalInstitution : .designatedRetailPharmacy }
}

/// A designated institution's national code: `H` or `P`, then 11 digits.
public struct InstitutionCode: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The code, e.g. `H15010000001`.
    public let value: String

    /// The kind its letter names.
    public var kind: InstitutionKind { value.first == "H" ? .hospital : .pharmacy }

    /// Parses a code; anything else is INVALID_FIELD naming `field`.
    public static func parse(_ text: String, field: String = "institution_code") throws(DomainError) -> InstitutionCode {
        let utf8 = Array(text.utf8)
        guard utf8.count == 12, utf8[0] == UInt8(ascii: "H") || utf8[0] == UInt8(ascii: "P"),
            utf8.dropFirst().allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { throw .invalidField(field, "must be H or P followed by 11 digits", zh: "定点医药机构编码无效") }
        return InstitutionCode(value: text)
    }

    public var description: String { value }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }
}

/// A designated institution as loaded by operators (R-SETL-1).
public struct Institution: Hashable, Sendable {
    /// Its national code.
    public var code: InstitutionCode
    /// Its name.
    public var name: String
    /// Hospital or pharmacy (the code's letter).
    public var kind: InstitutionKind
    /// Its pooling region.
    public var region: RegionCode
    /// First day it may settle.
    public var validFrom: CivilDate
    /// Last day it may settle; nil: open-ended.
    public var validTo: CivilDate?

    /// Creates an institution (validated already: see `validated`).
    public init(code: InstitutionCode, name: String, kind: InstitutionKind, region: RegionCode, validFrom: CivilDate, validTo: CivilDate?) {
        self.code = code
        self.name = name
        self.kind = kind
        self.region = region
        self.validFrom = validFrom
        self.validTo = validTo
    }

    /// Validates an institution as sent by operators or an import row.
    public static func validated(
        code: String, name: String, kind: InstitutionKind?, regionCode: String, validFrom: String,
        validTo: String, field prefix: String = "institution"
    ) throws(DomainError) -> Institution {
        let code = try InstitutionCode.parse(code, field: "\(prefix).institution_code")
        let name = name.trimmingWhitespace
        guard TextLimits.institutionName.admits(name) else {
            throw .invalidField("\(prefix).name", "must be \(TextLimits.institutionName)", zh: "机构名称无效")
        }
        guard let kind, kind == code.kind else {
            throw .invalidField(
                "\(prefix).kind", "must be \(code.kind.rawValue) for a code starting with \(code.kind.letter)", zh: "机构类型与编码不符")
        }
        let region = try RegionCode.parse(regionCode, field: "\(prefix).region_code")
        guard let from = CivilDate(iso: validFrom) else {
            throw .invalidField("\(prefix).valid_from_date", "must be a date YYYY-MM-DD", zh: "有效期开始日期无效")
        }
        var to: CivilDate? = nil
        if !validTo.isEmpty {
            guard let date = CivilDate(iso: validTo), date >= from else {
                throw .invalidField("\(prefix).valid_to_date", "must be a date YYYY-MM-DD on or after valid_from_date", zh: "有效期结束日期无效")
            }
            to = date
        }
        return Institution(code: code, name: name, kind: kind, region: region, validFrom: from, validTo: to)
    }

    /// Whether it may settle on `day`.
    public func isValid(on day: CivilDate) -> Bool { validFrom <= day && validTo.map { day <= $0 } ?? true }
}

/// Which institutions a `settlement` caller may act for (configuration: `settlement.institutions`).
public enum InstitutionScope: Hashable, Sendable {
    /// Every institution (the platform's settlement hub).
    case all
    /// These codes only; empty for none.
    case only(Set<String>)

    /// Whether the scope holds `code`.
    public func allows(_ code: InstitutionCode) -> Bool {
        switch self {
        case .all: true
        case .only(let codes): codes.contains(code.value)
        }
    }
}

/// The insurance credential presented at the institution (R-SETL-2).
public struct Credential: Hashable, Sendable {
    /// The national credential types.
    public enum Kind: String, Hashable, Sendable {
        /// 医保电子凭证, code 01.
        case electronicVoucher = "01"
        /// ID card, code 02.
        case idCard = "02"
        /// Social-security card, code 03.
        case socialSecurityCard = "03"
    }

    /// Its type; nil when the request named none.
    public var kind: Kind?
    /// The ID number of its holder, as sent.
    public var holderIDNumber: String

    /// Creates a credential.
    public init(kind: Kind?, holderIDNumber: String) {
        self.kind = kind
        self.holderIDNumber = holderIDNumber
    }
}

/// What an institution asks (2206/2207): its settlement id (empty for a pre-settlement), the
/// patient, the credential, and the amount the personal accounts may pay.
public struct SettlementOrder: Hashable, Sendable {
    /// The institution's code, as sent.
    public private(set) var institutionCode: String
    /// The institution's code, parsed once where the order is read (the error, if it is not one).
    public private(set) var institution: Result<InstitutionCode, DomainError>
    /// The institution's settlement id; empty for a pre-settlement.
    public var settlementID: String
    /// The patient's ID number, as sent.
    public private(set) var patientIDNumber: String
    /// The patient's ID number, parsed once where the order is read (the error, if it is not one).
    public private(set) var patient: Result<ResidentID, DomainError>
    /// The credential presented.
    public var credential: Credential
    /// The personal burden within the account's scope.
    public var amount: Money

    /// Creates an order, parsing its institution code and the patient's ID number (as of `today`,
    /// China time); the rules report a value that does not parse in their order of checks.
    public init(
        institutionCode: String, settlementID: String, patientIDNumber: String, credential: Credential, amount: Money,
        today: CivilDate
    ) {
        self.institutionCode = institutionCode
        self.institution = Result { () throws(DomainError) in try InstitutionCode.parse(institutionCode) }
        self.settlementID = settlementID
        self.patientIDNumber = patientIDNumber
        self.patient = Result { () throws(DomainError) in try ResidentID.parse(patientIDNumber, today: today) }
        self.credential = credential
        self.amount = amount
    }
}

/// Why a binding of the patient contributed nothing (R-SETL-6, R-SETL-8).
public enum FamilyFundNote: String, Hashable, Sendable {
    /// The patient has no binding as a member.
    case noBinding = "no_binding"
    /// Pending, rejected or revoked.
    case bindingNotActive = "binding_not_active"
    /// The start date has not come.
    case bindingNotStarted = "binding_not_started"
    /// The binding's region is suspended.
    case regionSuspended = "region_suspended"
    /// The annual limit for medical use is used up, or 0.
    case limitReached = "limit_reached"
    /// The authorizer's usable balance is zero.
    case balanceEmpty = "balance_empty"
    /// The own account and earlier bindings covered everything.
    case notNeeded = "not_needed"
    /// No policy is loaded for the binding's region.
    case regionNotSupported = "region_not_supported"
    /// R-CTL-1: the authorizer froze family use through the binding.
    case frozen
    /// R-XP-1: the binding crosses provinces: its family money reaches the member through the wallet.
    case crossProvinceWallet = "cross_province_wallet"
}

/// One binding of the patient as the split used it.
public struct FamilyFundUse: Hashable, Sendable {
    /// The binding.
    public var bindingID: String
    /// Its authorizer.
    public var authorizer: ResidentID
    /// Taken from the authorizer's account.
    public var amount: Money
    /// Why nothing was taken, when nothing was.
    public var note: FamilyFundNote?

    /// Creates a use.
    public init(bindingID: String, authorizer: ResidentID, amount: Money, note: FamilyFundNote?) {
        self.bindingID = bindingID
        self.authorizer = authorizer
        self.amount = amount
        self.note = note
    }
}

/// One debit of one account part by a settlement.
public struct SettlementPosting: Hashable, Sendable {
    /// Whose account.
    public var owner: ResidentID
    /// Which part.
    public var part: BalancePart
    /// How much (positive).
    public var amount: Money
    /// The binding through which family funds paid; nil for the patient's own account.
    public var bindingID: String?
    /// The account's year when debited: a reversal after the account rolled over credits a
    /// current-year debit to carry-over (R-SETL-5).
    public var accountYear: Int
    /// R-XP-5: paid from what the member's wallet holds from `owner` through the binding (the
    /// part is the part of `owner`'s account it came from), not from the account itself.
    public var fromWallet: Bool

    /// Creates a posting.
    public init(owner: ResidentID, part: BalancePart, amount: Money, bindingID: String?, accountYear: Int, fromWallet: Bool = false) {
        self.owner = owner
        self.part = part
        self.amount = amount
        self.bindingID = bindingID
        self.accountYear = accountYear
        self.fromWallet = fromWallet
    }
}

/// The split of an amount between the accounts and cash (R-SETL-3).
public struct SettlementSplit: Hashable, Sendable {
    /// The amount asked.
    public var amount: Money
    /// From the patient's own account (`acct_pay`).
    public var acctPay: Money
    /// From family funds (`acct_mulaid_pay`).
    public var acctMulaidPay: Money
    /// Cash (`psn_cash_pay`).
    public var cashPay: Money
    /// Every debit.
    public var postings: [SettlementPosting]
    /// Every binding of the patient, in the order considered.
    public var family: [FamilyFundUse]
    /// Why the family part is zero, when it is.
    public var familyZeroNote: FamilyFundNote?

    /// Creates a split.
    public init(
        amount: Money, acctPay: Money, acctMulaidPay: Money, cashPay: Money, postings: [SettlementPosting],
        family: [FamilyFundUse], familyZeroNote: FamilyFundNote?
    ) {
        self.amount = amount
        self.acctPay = acctPay
        self.acctMulaidPay = acctMulaidPay
        self.cashPay = cashPay
        self.postings = postings
        self.family = family
        self.familyZeroNote = familyZeroNote
    }
}

/// One binding of the patient, with what the split needs to know about it.
public struct FamilyBinding: Hashable, Sendable {
    /// The binding (the patient is its member).
    public var binding: Binding
    /// Its authorizer's account; nil when the authorizer has none.
    public var authorizerAccount: PersonalAccount?
    /// The binding's governing policy with its current availability; nil when none is loaded.
    public var policy: RegionPolicy?
    /// Family funds it paid at institutions this calendar year, net of reversals (R-SETL-8).
    public var usedThisYear: Money
    /// Family funds it paid at institutions today (China time), net of reversals (R-CTL-2).
    public var usedToday: Money
    /// R-XP-5: what the member's wallet holds through it (a cross-province binding).
    public var walletHolding: WalletHolding?

    /// Creates the facts of one binding.
    public init(
        binding: Binding, authorizerAccount: PersonalAccount?, policy: RegionPolicy?, usedThisYear: Money, usedToday: Money = .zero,
        walletHolding: WalletHolding? = nil
    ) {
        self.binding = binding
        self.authorizerAccount = authorizerAccount
        self.policy = policy
        self.usedThisYear = usedThisYear
        self.usedToday = usedToday
        self.walletHolding = walletHolding
    }
}

/// The facts a settlement needs, gathered by the store in one snapshot.
public struct SettlementFacts: Sendable {
    /// The institutions the caller may act for.
    public var scope: InstitutionScope
    /// The institution named by the order, if loaded.
    public var institution: Institution?
    /// The patient, if registered.
    public var patient: PersonRecord?
    /// The policy of the patient's region (the order of the own account's parts).
    public var patientPolicy: RegionPolicy?
    /// The patient's bindings as member, oldest first.
    public var bindings: [FamilyBinding]
    /// Today in China time.
    public var today: CivilDate

    /// Creates the facts.
    public init(
        scope: InstitutionScope, institution: Institution?, patient: PersonRecord?, patientPolicy: RegionPolicy?,
        bindings: [FamilyBinding], today: CivilDate
    ) {
        self.scope = scope
        self.institution = institution
        self.patient = patient
        self.patientPolicy = patientPolicy
        self.bindings = bindings
        self.today = today
    }
}

/// Lifecycle of a settlement.
public enum SettlementStatus: String, Hashable, Sendable {
    /// Money moved.
    case settled
    /// Reversed; the original stays.
    case reversed
}

/// A settlement as stored.
public struct SettlementRecord: Hashable, Sendable {
    /// The institution's settlement id.
    public var settlementID: String
    /// The institution.
    public var institution: Institution
    /// The patient.
    public var patient: ResidentID
    /// The patient's name.
    public var patientName: String
    /// The split that moved.
    public var split: SettlementSplit
    /// Settled or reversed.
    public var status: SettlementStatus
    /// When it settled, Unix seconds.
    public var settledAt: Int64
    /// When it was reversed, Unix seconds.
    public var reversedAt: Int64?
    /// Insertion order.
    public var seq: Int64

    /// Creates a record.
    public init(
        settlementID: String, institution: Institution, patient: ResidentID, patientName: String, split: SettlementSplit,
        status: SettlementStatus, settledAt: Int64, reversedAt: Int64?, seq: Int64
    ) {
        self.settlementID = settlementID
        self.institution = institution
        self.patient = patient
        self.patientName = patientName
        self.split = split
        self.status = status
        self.settledAt = settledAt
        self.reversedAt = reversedAt
        self.seq = seq
    }

    /// The day it settled, China time.
    public var settledOn: CivilDate { CivilDate.inChina(unixSeconds: settledAt) }
}

/// Everything a settlement writes (R-SETL-4): the store adds only the sequence number.
public struct SettlementPlan: Hashable, Sendable {
    /// The settlement id.
    public var settlementID: String
    /// The institution.
    public var institution: Institution
    /// The patient as registered.
    public var patient: Person
    /// The split.
    public var split: SettlementSplit
    /// Each debited account afterwards.
    public var accounts: [PersonalAccount]
    /// R-XP-5: the wallet holdings the split debited (or the reversal credited), as they are after it.
    public var holdings: [WalletHolding] = []
    /// R-XP-7: what the wallets spent, per binding.
    public var walletMovements: [WalletMovement] = []
    /// The ledger movement: the accounts pay the institution.
    public var movement: LedgerMovement
}

/// Everything a reversal writes (R-SETL-5).
public struct ReversalPlan: Hashable, Sendable {
    /// The credits, each to the part it goes back to.
    public var credits: [SettlementPosting]
    /// Each credited account afterwards.
    public var accounts: [PersonalAccount]
    /// R-XP-5: the wallet holdings the split debited (or the reversal credited), as they are after it.
    public var holdings: [WalletHolding] = []
    /// R-XP-7: wallet money the institution paid back (and, the binding having ended, returned).
    public var walletMovements: [WalletMovement] = []
    /// The ledger movement: the institution pays the accounts back.
    public var movement: LedgerMovement
}

extension LedgerAccount {
    /// What a designated institution was paid from personal accounts.
    public static func institution(_ code: InstitutionCode) -> String { "institution:\(code.value)" }
}

/// One day of an institution as the institution has it (R-SETL-7).
public struct ReconciliationClaim: Hashable, Sendable {
    /// How many settlements it counts.
    public var count: Int64
    /// Its sum of `acct_pay`.
    public var acctPaySum: Money
    /// Its sum of `acct_mulaid_pay`.
    public var acctMulaidPaySum: Money
    /// Its settlements.
    public var entries: [ReconciliationEntry]

    /// Creates a claim.
    public init(count: Int64, acctPaySum: Money, acctMulaidPaySum: Money, entries: [ReconciliationEntry]) {
        self.count = count
        self.acctPaySum = acctPaySum
        self.acctMulaidPaySum = acctMulaidPaySum
        self.entries = entries
    }
}

/// One settlement as one side has it.
public struct ReconciliationEntry: Hashable, Sendable {
    /// The settlement id.
    public var settlementID: String
    /// `acct_pay`.
    public var acctPay: Money
    /// `acct_mulaid_pay`.
    public var acctMulaidPay: Money
    /// Whether it is reversed.
    public var reversed: Bool

    /// Creates an entry.
    public init(settlementID: String, acctPay: Money, acctMulaidPay: Money, reversed: Bool) {
        self.settlementID = settlementID
        self.acctPay = acctPay
        self.acctMulaidPay = acctMulaidPay
        self.reversed = reversed
    }
}

/// Settlements and reversals of a day.
public struct SettlementTotals: Hashable, Sendable {
    /// Settlements made that day.
    public var settledCount: Int64 = 0
    /// Their `acct_pay`.
    public var settledAcctPay: Money = .zero
    /// Their `acct_mulaid_pay`.
    public var settledAcctMulaidPay: Money = .zero
    /// Reversals made that day.
    public var reversedCount: Int64 = 0
    /// Their `acct_pay`.
    public var reversedAcctPay: Money = .zero
    /// Their `acct_mulaid_pay`.
    public var reversedAcctMulaidPay: Money = .zero

    /// Zero totals.
    public init() {}
}

/// How one settlement differs between the two sides.
public struct ReconciliationDifference: Hashable, Sendable {
    /// How.
    public enum Kind: Hashable, Sendable {
        /// Only the institution has it.
        case onlyInstitution
        /// Only Gongji has it.
        case onlyGongji
        /// Both, with different amounts or reversal state.
        case different
    }

    /// The settlement id.
    public var settlementID: String
    /// How it differs.
    public var kind: Kind
    /// The institution's entry.
    public var institution: ReconciliationEntry?
    /// Gongji's entry.
    public var gongji: ReconciliationEntry?
}

/// The answer of a reconciliation.
public struct ReconciliationReport: Hashable, Sendable {
    /// Gongji's totals of the day.
    public var totals: SettlementTotals
    /// Whether the institution's count and sums equal Gongji's settlements of the day.
    public var headerMatches: Bool
    /// The differing settlements, at most `differencesMax`.
    public var differences: [ReconciliationDifference]
    /// More differences than listed.
    public var truncated: Bool
}

extension SettlementPosting {
    /// The ledger account it debits (or, reversed, credits): a part of `owner`'s account, or
    /// (R-XP-5) that part held in the member's wallet through the binding.
    public func ledgerAccount(member: ResidentID) -> String {
        if fromWallet, let bindingID { return LedgerAccount.wallet(member, binding: bindingID, part) }
        return LedgerAccount.person(owner, part)
    }
}
