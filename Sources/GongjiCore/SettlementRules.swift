/// Pure decisions on settlements at designated institutions (R-SETL-*).
public enum SettlementRules {
    /// The most entries one reconciliation may send (a large hospital's day, with room).
    public static let reconciliationEntriesMax = 200_000
    /// The most bytes of entries one reconciliation may send: each entry counts its settlement
    /// id's UTF-8 bytes and `reconciliationEntryBytes` for its amounts. 200,000 entries of
    /// 32-byte ids are 12.8 MB.
    public static let reconciliationBytesMax = 16 << 20
    /// What each entry counts besides its id (two amounts, the flag and their framing).
    public static let reconciliationEntryBytes = 32
    /// At most this many reconciliations are read and compared at once by one daemon; more are
    /// refused RESOURCE_EXHAUSTED `RECONCILIATION_BUSY`, to retry later.
    public static let reconciliationsConcurrentMax = 4
    /// The most differences a reconciliation lists.
    public static let differencesMax = 1000

    /// R-SETL-1, R-SETL-2: who may settle what for whom. Returns the institution and the patient.
    static func check(_ order: SettlementOrder, facts: SettlementFacts) throws(DomainError) -> (Institution, PersonRecord) {
        let code = try order.institution.get()
        guard facts.scope.allows(code) else { throw .institutionNotAllowed(code) }
        guard let institution = facts.institution, institution.code == code else { throw .institutionNotFound(code) }
        guard institution.isValid(on: facts.today) else { throw .institutionNotValid(institution, today: facts.today) }
        guard order.amount > .zero, order.amount.isValidAmount else { throw .amountOutOfRange("amount_fen") }
        let patient = try order.patient.get()
        guard order.credential.kind != nil else {
            throw .invalidField("credential.type", "must be ELECTRONIC_VOUCHER, ID_CARD or SOCIAL_SECURITY_CARD", zh: "医保凭证类型无效")
        }
        // R-SETL-2: someone else's credential (冒用) is never settled.
        let holder = try? ResidentID.parse(order.credential.holderIDNumber, today: facts.today)
        guard holder == patient else { throw .credentialNotPatientsOwn(patient: patient) }
        guard let record = facts.patient, record.person.id == patient else { throw .personNotFound(patient) }
        return (institution, record)
    }

    /// R-SETL-3, R-SETL-6, R-SETL-8: the split of the order's amount, moving nothing.
    public static func preSettle(_ order: SettlementOrder, facts: SettlementFacts) throws(DomainError) -> SettlementSplit {
        let (institution, patient) = try check(order, facts: facts)
        return split(order.amount, institution: institution, patient: patient, facts: facts).split
    }

    /// R-SETL-4: everything a settlement writes.
    public static func settle(_ order: SettlementOrder, facts: SettlementFacts) throws(DomainError) -> SettlementPlan {
        let id = try settlementID(order.settlementID)
        let (institution, patient) = try check(order, facts: facts)
        let (split, accounts, holdings) = split(order.amount, institution: institution, patient: patient, facts: facts)
        let entries =
            split.postings.map { LedgerEntry($0.ledgerAccount(member: patient.person.id), Money(fen: -$0.amount.fen)) }
            + [LedgerEntry(LedgerAccount.institution(institution.code), Money.sum(split.postings.map(\.amount)) ?? .zero)]
        let reference = "\(institution.code.value):\(id)"
        let spent = holdings.compactMap { holding -> WalletMovement? in
            let paid = split.postings.filter { $0.fromWallet && $0.bindingID == holding.bindingID }
            guard let entry = facts.bindings.first(where: { $0.binding.id == holding.bindingID }), !paid.isEmpty else { return nil }
            return WalletMovement(
                kind: .spent, provinces: holding.clearingPair(entry.binding), amount: Money.sum(paid.map(\.amount)) ?? .zero,
                bindingID: holding.bindingID, reference: reference)
        }
        return SettlementPlan(
            settlementID: id, institution: institution, patient: patient.person, split: split, accounts: accounts, holdings: holdings,
            walletMovements: spent, movement: LedgerMovement("settlement:\(reference)", entries))
    }

    /// The own account first, then each binding oldest first within its region's usable parts
    /// and its annual limit; cash for the rest.
    static func split(
        _ amount: Money, institution: Institution, patient: PersonRecord,
        facts: SettlementFacts
    ) -> (split: SettlementSplit, accounts: [PersonalAccount], holdings: [WalletHolding]) {
        var remaining = amount
        var postings: [SettlementPosting] = []
        var accounts: [PersonalAccount] = []
        var holdings: [WalletHolding] = []
        // The patient's own account: the parts in the order of the patient's region, then the rest.
        if let own = patient.account {
            let order = facts.patientPolicy?.payment.balanceParts ?? [.carryOver, .currentYear]
            let parts = order + [.carryOver, .currentYear].filter { !order.contains($0) }
            let (debits, after) = own.debiting(upTo: remaining, from: parts)
            if !debits.isEmpty {
                postings += debits.map {
                    SettlementPosting(owner: own.owner, part: $0.part, amount: $0.amount, bindingID: nil, accountYear: own.year)
                }
                accounts.append(after)
                remaining = remaining.subtracting(Money.sum(debits.map(\.amount))!)!
            }
        }
        let acctPay = amount.subtracting(remaining)!
        var family: [FamilyFundUse] = []
        // R-XP-5: the wallet (cross-province bindings) before the same-province bindings, each oldest first.
        let crossing = { (entry: FamilyBinding) in
            WalletRules.crossesProvinces(policyRegion: entry.binding.region, memberRegion: patient.person.region)
        }
        for entry in facts.bindings.filter(crossing) + facts.bindings.filter({ !crossing($0) }) {
            let binding = entry.binding
            var note: FamilyFundNote? = nil
            var taken = Money.zero
            if binding.status != .active {
                note = .bindingNotActive
            } else if binding.startDate > facts.today {
                note = .bindingNotStarted
            } else if binding.isFrozen {
                note = .frozen
            } else if entry.policy == nil {
                note = .regionNotSupported
            } else if entry.policy!.availability.suspended {
                note = .regionSuspended
            } else if remaining == .zero {
                note = .notNeeded
            } else {
                // R-SCOPE-1: a designated institution, the member's own credential (checked above).
                precondition(
                    (try? FundUse.check(
                        .providerCost(provider: institution.kind.provider, credentialHolder: binding.member),
                        binding: binding)) != nil, "the binding may pay at a designated institution")
                // R-SETL-8 (the year), R-CTL-2 (one settlement, the day): the least of what each leaves.
                let yearLeft = binding.medicalLimit.map { $0 > entry.usedThisYear ? $0.subtracting(entry.usedThisYear)! : .zero }
                let dayLeft = binding.dailyLimit.map { $0 > entry.usedToday ? $0.subtracting(entry.usedToday)! : .zero }
                let limitLeft = [yearLeft, binding.settlementLimit, dayLeft].compactMap { $0 }.min()
                // An account already debited by this split (the same authorizer twice) goes on from there.
                let account = entry.authorizerAccount.map { current in accounts.first { $0.owner == current.owner } ?? current }
                let usable = account?.usable(entry.policy!.payment.balanceParts) ?? .zero
                if limitLeft == .zero {
                    note = .limitReached
                } else if crossing(entry) {
                    // R-XP-5: what the wallet holds through this binding, by the part it came from.
                    guard let holding = entry.walletHolding, holding.total > .zero else {
                        note = .crossProvinceWallet
                        family.append(FamilyFundUse(bindingID: binding.id, authorizer: binding.authorizer, amount: .zero, note: note))
                        continue
                    }
                    let cap = Money.min(remaining, limitLeft.map { Money.min($0, holding.total) } ?? holding.total)
                    let (debits, after) = holding.debiting(cap, order: entry.policy!.payment.balanceParts)
                    postings += debits.map {
                        SettlementPosting(
                            owner: binding.authorizer, part: $0.part, amount: $0.amount, bindingID: binding.id,
                            accountYear: entry.authorizerAccount?.year ?? facts.today.year, fromWallet: true)
                    }
                    taken = Money.sum(debits.map(\.amount))!
                    holdings.append(after)
                    remaining = remaining.subtracting(taken)!
                } else if usable == .zero {
                    note = .balanceEmpty
                } else if let account {
                    let cap = Money.min(remaining, limitLeft.map { Money.min($0, usable) } ?? usable)
                    let (debits, after) = account.debiting(upTo: cap, from: entry.policy!.payment.balanceParts)
                    postings += debits.map {
                        SettlementPosting(
                            owner: account.owner, part: $0.part, amount: $0.amount, bindingID: binding.id, accountYear: account.year)
                    }
                    accounts.removeAll { $0.owner == after.owner }
                    accounts.append(after)
                    taken = Money.sum(debits.map(\.amount))!
                    remaining = remaining.subtracting(taken)!
                }
            }
            family.append(FamilyFundUse(bindingID: binding.id, authorizer: binding.authorizer, amount: taken, note: note))
        }
        let mulaid = amount.subtracting(acctPay)!.subtracting(remaining)!
        let zeroNote: FamilyFundNote? = mulaid > .zero ? nil : facts.bindings.isEmpty ? .noBinding : family.first?.note
        return (
            SettlementSplit(
                amount: amount, acctPay: acctPay, acctMulaidPay: mulaid, cashPay: remaining, postings: postings,
                family: family, familyZeroNote: zeroNote), accounts, holdings
        )
    }

    /// R-SETL-5: the reversal of `record` on `today`, within the institution's region's reversal
    /// period; `accounts` are the debited accounts as they are now. Nil when it is reversed
    /// already (a second reversal changes nothing).
    public static func reverse(
        _ record: SettlementRecord, accounts: [PersonalAccount], holdings: [WalletHolding] = [], walletBindings: [Binding] = [],
        terms: RegionPolicy.SettlementTerms,
        today: CivilDate
    ) throws(DomainError) -> ReversalPlan? {
        guard record.status == .settled else { return nil }
        let lastDay = record.settledOn.adding(days: terms.reversalDays)
        guard today <= lastDay else {
            throw DomainError(
                reason: .reversalPeriodPassed, category: .failedPrecondition,
                message: "settlement \(record.settlementID) could be reversed until \(lastDay)",
                messageZH: "已超过撤销期限",
                details: [
                    "settlement_id": record.settlementID, "last_day": lastDay.description,
                    "reversal_days": String(terms.reversalDays),
                ])
        }
        var byOwner = Dictionary(accounts.map { ($0.owner, $0) }, uniquingKeysWith: { first, _ in first })
        var byBinding = Dictionary(holdings.map { ($0.bindingID, $0) }, uniquingKeysWith: { first, _ in first })
        var credits: [SettlementPosting] = []
        var movements: [WalletMovement] = []
        let reference = "\(record.institution.code.value):\(record.settlementID)"
        // R-XP-7: wallet money the institution pays back, and (the binding ended) returned to the authorizer.
        func moved(_ kind: WalletMovement.Kind, _ posting: SettlementPosting) {
            guard let bindingID = posting.bindingID else { return }
            let binding = walletBindings.first { $0.id == bindingID }
            let pair =
                byBinding[bindingID]?.provinces ?? binding.map { ProvincePair(from: $0.region.province, to: $0.region.province) }
            guard let pair else { return }
            if let index = movements.firstIndex(where: { $0.kind == kind && $0.bindingID == bindingID }) {
                movements[index].amount = movements[index].amount.adding(posting.amount) ?? movements[index].amount
            } else {
                movements.append(
                    WalletMovement(kind: kind, provinces: pair, amount: posting.amount, bindingID: bindingID, reference: reference))
            }
        }
        for posting in record.split.postings {
            if posting.fromWallet, let bindingID = posting.bindingID {
                // R-XP-5: back into the wallet, to the part it came from — unless the binding has ended
                // (R-XP-6 returned the wallet): then to the authorizer's carry-over.
                if walletBindings.first(where: { $0.id == bindingID })?.status == .active, let holding = byBinding[bindingID] {
                    byBinding[bindingID] = try holding.crediting(posting.amount, to: posting.part)
                    credits.append(posting)
                    moved(.reversed, posting)
                    continue
                }
                moved(.reversed, posting)
                moved(.returned, posting)
            }
            guard let account = byOwner[posting.owner] else { preconditionFailure("the store hands over every debited account") }
            // A current-year debit whose year has rolled over since goes back to carry-over.
            var credit = posting
            if posting.part == .currentYear, account.year > posting.accountYear { credit.part = .carryOver }
            if posting.fromWallet {
                credit.part = .carryOver
                credit.fromWallet = false
            }
            credit.accountYear = account.year
            byOwner[posting.owner] = try account.crediting(posting.amount, to: credit.part)
            credits.append(credit)
        }
        let total = Money.sum(credits.map(\.amount)) ?? .zero
        let entries =
            credits.map { LedgerEntry($0.ledgerAccount(member: record.patient), $0.amount) }
            + [LedgerEntry(LedgerAccount.institution(record.institution.code), Money(fen: -total.fen))]
        let touched = Set(credits.filter { !$0.fromWallet }.map(\.owner))
        let refilled = Set(credits.filter(\.fromWallet).compactMap(\.bindingID))
        return ReversalPlan(
            credits: credits, accounts: byOwner.values.filter { touched.contains($0.owner) }.sorted { $0.owner.value < $1.owner.value },
            holdings: byBinding.values.filter { refilled.contains($0.bindingID) }.sorted { $0.bindingID < $1.bindingID },
            walletMovements: movements,
            movement: LedgerMovement("reversal:\(record.institution.code.value):\(record.settlementID)", entries))
    }

    /// R-SETL-7: compares the institution's day with Gongji's settlements of that day
    /// (`settled`) and totals the settlements and reversals of the day.
    public static func reconcile(
        _ claim: ReconciliationClaim, settled: [SettlementRecord],
        reversedThatDay: [SettlementRecord]
    ) -> ReconciliationReport {
        var totals = SettlementTotals()
        for record in settled {
            totals.settledCount += 1
            totals.settledAcctPay = totals.settledAcctPay.adding(record.split.acctPay) ?? totals.settledAcctPay
            totals.settledAcctMulaidPay = totals.settledAcctMulaidPay.adding(record.split.acctMulaidPay) ?? totals.settledAcctMulaidPay
        }
        for record in reversedThatDay {
            totals.reversedCount += 1
            totals.reversedAcctPay = totals.reversedAcctPay.adding(record.split.acctPay) ?? totals.reversedAcctPay
            totals.reversedAcctMulaidPay = totals.reversedAcctMulaidPay.adding(record.split.acctMulaidPay) ?? totals.reversedAcctMulaidPay
        }
        let ours = Dictionary(
            settled.map {
                (
                    $0.settlementID,
                    ReconciliationEntry(
                        settlementID: $0.settlementID, acctPay: $0.split.acctPay,
                        acctMulaidPay: $0.split.acctMulaidPay, reversed: $0.status == .reversed)
                )
            }, uniquingKeysWith: { first, _ in first })
        var theirs: [String: ReconciliationEntry] = [:]
        for entry in claim.entries where theirs[entry.settlementID] == nil { theirs[entry.settlementID] = entry }
        var differences: [ReconciliationDifference] = []
        for id in Set(ours.keys).union(theirs.keys).sorted() {
            switch (theirs[id], ours[id]) {
            case (let institution?, nil):
                differences.append(.init(settlementID: id, kind: .onlyInstitution, institution: institution, gongji: nil))
            case (nil, let gongji?): differences.append(.init(settlementID: id, kind: .onlyGongji, institution: nil, gongji: gongji))
            case (let institution?, let gongji?) where institution != gongji:
                differences.append(.init(settlementID: id, kind: .different, institution: institution, gongji: gongji))
            default: break
            }
        }
        let matches =
            claim.count == totals.settledCount && claim.acctPaySum == totals.settledAcctPay
            && claim.acctMulaidPaySum == totals.settledAcctMulaidPay
        return ReconciliationReport(
            totals: totals, headerMatches: matches, differences: Array(differences.prefix(differencesMax)),
            truncated: differences.count > differencesMax)
    }

    /// The refusal of a settlement id unknown for the institution.
    public static func notFound(_ code: String, _ id: String) -> DomainError {
        let echoed = TextLimits.echo(id)
        return DomainError(
            reason: .settlementNotFound, category: .notFound, message: "institution \(code) has no settlement \(echoed)",
            messageZH: "未找到该结算记录", details: ["institution_code": code, "settlement_id": echoed])
    }

    /// A settlement id as sent (Settle, GetSettlement, ReverseSettlement, a reconciliation entry):
    /// within `TextLimits.settlementID`, without surrounding spaces; else INVALID_FIELD, echoing
    /// none of it.
    public static func settlementID(_ id: String, field: String = "settlement_id") throws(DomainError) -> String {
        guard TextLimits.settlementID.admits(id), id.trimmingWhitespace == id else {
            throw .invalidField(field, "must be \(TextLimits.settlementID) without surrounding spaces", zh: "结算编号无效")
        }
        return id
    }
}

/// Collects a reconciliation's entries as they arrive, refusing the first that breaks a limit
/// before it is held: an id over `TextLimits.settlementID`, more than `reconciliationEntriesMax`
/// entries or more than `reconciliationBytesMax` bytes of them.
public struct ReconciliationAccumulator: Sendable {
    /// The entries so far.
    public private(set) var entries: [ReconciliationEntry] = []
    /// The bytes counted so far.
    public private(set) var bytes = 0

    /// An empty reconciliation.
    public init() {}

    /// Adds the next entry.
    public mutating func append(_ entry: ReconciliationEntry) throws(DomainError) {
        _ = try SettlementRules.settlementID(entry.settlementID, field: "entries[\(entries.count)].settlement_id")
        guard entries.count < SettlementRules.reconciliationEntriesMax else {
            throw .invalidField("entries", "at most \(SettlementRules.reconciliationEntriesMax) entries per day", zh: "对账明细过多")
        }
        bytes += entry.settlementID.utf8.count + SettlementRules.reconciliationEntryBytes
        guard bytes <= SettlementRules.reconciliationBytesMax else {
            throw .invalidField("entries", "at most \(SettlementRules.reconciliationBytesMax) bytes of entries per day", zh: "对账明细过多")
        }
        entries.append(entry)
    }
}

extension DomainError {
    /// Too many reconciliations at once on this daemon.
    public static func reconciliationBusy() -> DomainError {
        DomainError(
            reason: .reconciliationBusy, category: .resourceExhausted,
            message: "\(SettlementRules.reconciliationsConcurrentMax) reconciliations are running on this daemon; retry in a few seconds",
            messageZH: "对账请求过多，请稍后重试", details: ["concurrent_max": String(SettlementRules.reconciliationsConcurrentMax)])
    }

    /// The caller may not act for this institution.
    public static func institutionNotAllowed(_ code: InstitutionCode) -> DomainError {
        DomainError(
            reason: .institutionNotAllowed, category: .permissionDenied,
            message: "this caller may not settle for institution \(code)", messageZH: "无权代该机构结算",
            details: ["institution_code": code.value])
    }

    /// No designated institution with this code is loaded.
    public static func institutionNotFound(_ code: InstitutionCode) -> DomainError {
        DomainError(
            reason: .institutionNotFound, category: .notFound, message: "institution \(code) is not a loaded designated institution",
            messageZH: "非定点医药机构", details: ["institution_code": code.value])
    }

    static func institutionNotValid(_ institution: Institution, today: CivilDate) -> DomainError {
        DomainError(
            reason: .institutionNotValid, category: .failedPrecondition,
            message:
                "institution \(institution.code) may settle from \(institution.validFrom) to \(institution.validTo?.description ?? "open end"), not on \(today)",
            messageZH: "定点医药机构不在有效期内",
            details: [
                "institution_code": institution.code.value, "valid_from_date": institution.validFrom.description,
                "valid_to_date": institution.validTo?.description ?? "",
            ])
    }

    static func credentialNotPatientsOwn(patient: ResidentID) -> DomainError {
        DomainError(
            reason: .credentialNotPatientsOwn, category: .permissionDenied,
            message: "the credential's holder is not the patient: the patient must use his or her own credential",
            messageZH: "须使用患者本人医保凭证", details: ["patient_id_number": patient.masked])
    }

    /// A settlement id used before by the institution for a different settlement.
    public static func settlementIDReused(_ id: String) -> DomainError {
        DomainError(
            reason: .settlementIDReused, category: .alreadyExists,
            message: "settlement_id \(id) was settled before with other content", messageZH: "结算编号已被其他结算使用",
            details: ["settlement_id": id])
    }
}

extension SettlementRules {
    /// The institution a caller acting for `scope` names, or INVALID_FIELD / INSTITUTION_NOT_ALLOWED.
    public static func access(_ scope: InstitutionScope, institutionCode: String) throws(DomainError) -> InstitutionCode {
        try access(scope, institution: Result { () throws(DomainError) in try InstitutionCode.parse(institutionCode) })
    }

    /// `access(_:institutionCode:)` for a code parsed already.
    public static func access(
        _ scope: InstitutionScope, institution: Result<InstitutionCode, DomainError>
    ) throws(DomainError) -> InstitutionCode {
        let code = try institution.get()
        guard scope.allows(code) else { throw .institutionNotAllowed(code) }
        return code
    }

    /// A reconciliation or totals day, `YYYY-MM-DD`.
    public static func day(_ text: String, field: String = "date") throws(DomainError) -> CivilDate {
        guard let day = CivilDate(iso: text) else { throw .invalidField(field, "must be a date YYYY-MM-DD", zh: "日期无效") }
        return day
    }
}

extension SettlementRules {
    /// R-SETL-5 under the terms of the institution's region (the published defaults when its
    /// policy names none, or none is loaded).
    public static func reverse(
        _ record: SettlementRecord, accounts: [PersonalAccount], holdings: [WalletHolding] = [], walletBindings: [Binding] = [],
        policies: PolicyBook, today: CivilDate
    ) throws(DomainError) -> ReversalPlan? {
        try reverse(
            record, accounts: accounts, holdings: holdings, walletBindings: walletBindings,
            terms: policies.policy(of: record.institution.region)?.settlementTerms ?? .defaults, today: today)
    }
}

extension SettlementFacts {
    /// The facts of a settlement with the governing policies taken from `policies`: the patient's
    /// region's (the order of the own account's parts) and each binding's region's.
    public init(
        scope: InstitutionScope, institution: Institution?, patient: PersonRecord?,
        bindings: [(
            binding: Binding, authorizerAccount: PersonalAccount?, usedThisYear: Money, usedToday: Money, walletHolding: WalletHolding?
        )],
        policies: PolicyBook,
        today: CivilDate
    ) {
        self.init(
            scope: scope, institution: institution, patient: patient,
            patientPolicy: patient.flatMap { policies.policy(of: $0.person.region) },
            bindings: bindings.map {
                FamilyBinding(
                    binding: $0.binding, authorizerAccount: $0.authorizerAccount, policy: policies.policy(of: $0.binding.region),
                    usedThisYear: $0.usedThisYear, usedToday: $0.usedToday, walletHolding: $0.walletHolding)
            }, today: today)
    }
}

/// A settlement the core refused, with the region of the institution it named when that is
/// loaded: the refusal as the caller gets it, and what its metric is labelled with.
public struct SettlementRefused: Error, Sendable {
    /// The refusal.
    public var error: DomainError
    /// The institution's region, if the order named a loaded institution.
    public var region: RegionCode?

    /// Creates it.
    public init(error: DomainError, region: RegionCode?) {
        self.error = error
        self.region = region
    }
}
