/// What a wallet transfer decision reads (R-XP-3, R-XP-4), gathered by the store.
public struct TransferFacts: Sendable {
    /// The end user asking, as the authorizer.
    public var actor: ResidentID
    /// The binding, if it exists.
    public var binding: Binding?
    /// The authorizer as registered.
    public var authorizer: Person?
    /// The authorizer's account.
    public var account: PersonalAccount?
    /// The member as registered.
    public var member: Person?
    /// The member's wallet, if open.
    public var wallet: Wallet?
    /// How many transfers the authorizer's account sent on the day of `now` (China time).
    public var sentToday: Int
    /// The binding's transfers still stored as pending (at most one is current; one past its
    /// return time is returned by the transfer that follows it).
    public var pending: [WalletTransfer]
    /// The governing (authorizer's) policy, with its current availability.
    public var policy: RegionPolicy?
    /// Now, Unix seconds.
    public var now: Int64

    /// Creates the facts.
    public init(
        actor: ResidentID, binding: Binding?, authorizer: Person?, account: PersonalAccount?, member: Person?, wallet: Wallet?,
        sentToday: Int, pending: [WalletTransfer], policy: RegionPolicy?, now: Int64
    ) {
        self.actor = actor
        self.binding = binding
        self.authorizer = authorizer
        self.account = account
        self.member = member
        self.wallet = wallet
        self.sentToday = sentToday
        self.pending = pending
        self.policy = policy
        self.now = now
    }
}

extension LedgerMovement {
    /// The movement's name prefix of R-XP-6's return of a wallet's holding.
    static let walletReturnPrefix = "wallet-return:"
}

/// Pure decisions on the cross-province path through the member's wallet (R-XP-1 … R-XP-6).
public enum WalletRules {
    /// R-XP-2: opens the member's wallet; the registry says which province insures the member.
    /// An open wallet is answered as it is (`opened` false).
    public static func open(
        member: Person?, actor: ResidentID, existing: Wallet?, now: Int64
    ) throws(DomainError) -> (
        wallet: Wallet, writes: [Write], opened: Bool
    ) {
        if let existing { return (existing, [], false) }
        guard let member, member.id == actor else { throw .personNotFound(actor) }
        guard member.insuranceType != .none, member.status == .normal else {
            throw .member(
                .memberNotInsured, "a wallet is opened by a person insured with status normal", "医保钱包须由正常参保人员开通",
                ["status": member.status.rawValue, "insurance_type": member.insuranceType.rawValue])
        }
        let wallet = Wallet(member: member.id, province: member.region.province, openedAt: now)
        return (wallet, [.wallet(wallet)], true)
    }

    /// Whether a binding of `policyRegion` with a member insured in `memberRegion` crosses provinces (R-XP-1).
    public static func crossesProvinces(policyRegion: RegionCode, memberRegion: RegionCode) -> Bool {
        !memberRegion.isInSameProvince(as: policyRegion)
    }

    /// R-XP-3 and R-XP-4: the authorizer grants `amount` into the member's wallet. Returns the
    /// transfer and its write-set (a transfer of the binding past its return time goes back first).
    public static func transfer(
        _ amount: Money, id: String, facts: TransferFacts
    ) throws(DomainError) -> (transfer: WalletTransfer, account: PersonalAccount, writes: [Write]) {
        let binding = try PartyRules.visible(facts.binding, to: facts.actor)
        guard facts.actor == binding.authorizer else { throw .notAuthorizer() }
        guard let authorizer = facts.authorizer, var account = facts.account else { throw .authorizerNotEmployeeInsured() }
        guard let policy = facts.policy else { throw .authorizerRegionNotSupported(binding.region) }
        guard let member = facts.member else { throw .personNotFound(role: "member", id: binding.member) }
        let today = CivilDate.inChina(unixSeconds: facts.now)
        try BindingRules.checkUsable(binding, authorizer: authorizer, today: today)
        if binding.isFrozen { throw .familyUseFrozen(binding) }
        guard !policy.availability.suspended else { throw .suspended(policy) }
        guard crossesProvinces(policyRegion: binding.region, memberRegion: member.region) else {
            throw .wallet(
                .notCrossProvince, "the member is insured in the authorizer's province: family funds pay for the member directly",
                "同省共济无需划转至医保钱包", ["member_region": member.region.description])
        }
        guard let terms = policy.crossProvince, terms.enabled else { throw .crossProvinceNotTakingPart(policy) }
        guard let wallet = facts.wallet else {
            throw .wallet(.walletNotOpen, "the member has not opened a medical-insurance wallet", "被共济人尚未开通医保钱包")
        }
        guard amount > .zero, amount.isValidAmount else { throw .amountOutOfRange("amount_fen") }
        guard amount <= terms.transferMax else {
            throw .wallet(
                .transferAboveMaximum, "one transfer grants at most \(terms.transferMax.yuanString) yuan", "单笔划转金额超过上限",
                ["transfer_max_fen": String(terms.transferMax.fen)], category: .invalidArgument)
        }
        let time = ClockTime.inChina(unixSeconds: facts.now)
        guard !terms.isQuiet(time) else {
            throw .wallet(
                .transferQuietHours, "no transfers between \(terms.quietFrom) and \(terms.quietUntil) China time", "该时段暂停划转",
                ["quiet_from": terms.quietFrom.description, "quiet_until": terms.quietUntil.description])
        }
        guard facts.sentToday < terms.transfersPerDay else {
            throw DomainError(
                reason: .transfersPerDayReached, category: .resourceExhausted,
                message: "an account sends at most \(terms.transfersPerDay) transfers a day", messageZH: "当日划转次数已达上限",
                details: ["transfers_per_day": String(terms.transfersPerDay)])
        }
        var writes: [Write] = []
        for stale in facts.pending {
            guard stale.status(at: facts.now) == .returned else {
                throw .wallet(
                    .transferPending, "a transfer to this member is still waiting for acceptance", "已有待领取的划转",
                    ["transfer_id": stale.id])
            }
            let returned = try returning(stale, to: account, at: stale.returnDueAt, now: facts.now)
            account = returned.account
            writes += returned.writes
        }
        let available = account.usable(policy.payment.balanceParts)
        guard available >= amount else {
            throw .balanceInsufficient(shortfall: amount.subtracting(available)!, available: available, total: amount)
        }
        let (postings, debited) = account.debiting(upTo: amount, from: policy.payment.balanceParts)
        let part = { (p: BalancePart) in Money.sum(postings.filter { $0.part == p }.map(\.amount)) ?? .zero }
        let sent = WalletTransfer(
            id: id, bindingID: binding.id, authorizer: binding.authorizer, member: binding.member, memberName: binding.memberName,
            currentYear: part(.currentYear), carryOver: part(.carryOver), accountYear: account.year,
            fromProvince: binding.region.province, toProvince: wallet.province, storedStatus: .pending, sentOn: today, sentAt: facts.now,
            returnDueAt: terms.returnAt.unixSeconds(on: today.adding(days: 1)))
        writes += [
            .account(debited), .walletTransfer(sent),
            .ledger(
                LedgerMovement(
                    "transfer:\(id)",
                    postings.flatMap {
                        [
                            LedgerEntry(LedgerAccount.person(binding.authorizer, $0.part), Money(fen: -$0.amount.fen)),
                            LedgerEntry(LedgerAccount.pendingTransfer(id, $0.part), $0.amount),
                        ]
                    })),
            use(.walletTransfer, sent),
            .event(event(.walletTransferSent, sent, parts: postings.map(\.part), balanceAfter: debited.total, now: facts.now)),
        ]
        return (sent, debited, writes)
    }

    /// The member's answer to a pending transfer.
    public enum Answer: String, Hashable, Sendable {
        /// The wallet takes it.
        case accept
        /// It goes back to the authorizer.
        case decline
    }

    /// R-XP-4: the member accepts or declines `transfer`. `holding` is what the wallet holds
    /// through the transfer's binding; `account` the authorizer's.
    public static func answer(
        _ answer: Answer, transfer: WalletTransfer?, actor: ResidentID, binding: Binding?, holding: WalletHolding?,
        account: PersonalAccount?, now: Int64
    ) throws(DomainError) -> (transfer: WalletTransfer, writes: [Write]) {
        guard let transfer, transfer.member == actor || transfer.authorizer == actor else { throw .notParty("transfer") }
        guard transfer.member == actor else {
            throw DomainError(
                reason: .notMember, category: .permissionDenied, message: "only the member answers a transfer",
                messageZH: "仅被共济人可领取或拒收划转")
        }
        let status = transfer.status(at: now)
        guard status == .pending else {
            throw .wallet(
                .transferNotPending, "the transfer is \(status.rawValue)", "该划转已处理",
                ["status": status.rawValue, "transfer_id": transfer.id])
        }
        switch answer {
        case .accept:
            guard let binding else { throw .notParty("binding") }
            guard binding.status == .active else { throw .bindingState(binding, expected: "active") }
            var resolved = transfer
            resolved.storedStatus = .accepted
            resolved.resolvedAt = now
            var held = holding ?? WalletHolding(member: transfer.member, bindingID: transfer.bindingID, authorizer: transfer.authorizer)
            for (part, amount) in parts(of: transfer) { held = try held.crediting(amount, to: part) }
            let provinces = ProvincePair(from: transfer.fromProvince, to: transfer.toProvince)
            held.provinces = provinces
            let entries = parts(of: transfer).flatMap { part, amount in
                [
                    LedgerEntry(LedgerAccount.pendingTransfer(transfer.id, part), Money(fen: -amount.fen)),
                    LedgerEntry(LedgerAccount.wallet(transfer.member, binding: transfer.bindingID, part), amount),
                ]
            }
            return (
                resolved,
                [
                    .walletTransfer(resolved), .walletHolding(held), .ledger(LedgerMovement("transfer-accepted:\(transfer.id)", entries)),
                    .walletMovement(
                        WalletMovement(
                            kind: .granted, provinces: provinces, amount: transfer.amount, bindingID: transfer.bindingID,
                            reference: transfer.id)),
                    use(.walletTransferAccepted, resolved),
                    .event(event(.walletTransferAccepted, resolved, parts: parts(of: transfer).map(\.0), balanceAfter: nil, now: now)),
                ]
            )
        case .decline:
            guard let account else { throw .authorizerNotEmployeeInsured() }
            let declined = try returning(transfer, to: account, at: now, now: now, as: .declined)
            return (declined.transfer, declined.writes)
        }
    }

    /// R-XP-4: returns the transfers past their return time (stored as pending) to their
    /// authorizers' accounts, each at its return time.
    public static func returnDue(_ transfers: [WalletTransfer], accounts: [PersonalAccount], now: Int64) throws(DomainError) -> [Write] {
        var byOwner = Dictionary(accounts.map { ($0.owner, $0) }, uniquingKeysWith: { first, _ in first })
        var writes: [Write] = []
        for transfer in transfers where transfer.status(at: now) == .returned && transfer.storedStatus == .pending {
            guard let account = byOwner[transfer.authorizer] else { continue }
            let returned = try returning(transfer, to: account, at: transfer.returnDueAt, now: now)
            byOwner[transfer.authorizer] = returned.account
            writes += returned.writes
        }
        return writes
    }

    /// R-XP-6: the binding ended: its pending transfers and what the wallet holds through it go
    /// back to the authorizer's account, to carry-over, at once.
    public static func returnOnEnd(
        _ binding: Binding, holding: WalletHolding?, pending: [WalletTransfer], account: PersonalAccount?, now: Int64
    ) throws(DomainError) -> [Write] {
        guard var account else { return [] }
        var writes: [Write] = []
        for transfer in pending where transfer.storedStatus == .pending {
            let returned = try returning(transfer, to: account, at: min(now, transfer.returnDueAt), now: now, toCarryOver: true)
            account = returned.account
            writes += returned.writes
        }
        if let holding, holding.total > .zero {
            account = try account.crediting(holding.total, to: .carryOver)
            var emptied = holding
            emptied.currentYear = .zero
            emptied.carryOver = .zero
            let entries =
                [BalancePart.currentYear, .carryOver].map { part in
                    LedgerEntry(
                        LedgerAccount.wallet(holding.member, binding: holding.bindingID, part),
                        Money(fen: -(part == .currentYear ? holding.currentYear : holding.carryOver).fen))
                } + [LedgerEntry(LedgerAccount.person(holding.authorizer, .carryOver), holding.total)]
            writes += [
                .account(account), .walletHolding(emptied),
                .walletMovement(
                    WalletMovement(
                        kind: .returned, provinces: holding.clearingPair(binding), amount: holding.total, bindingID: binding.id,
                        reference: binding.id)),
                .ledger(LedgerMovement("\(LedgerMovement.walletReturnPrefix)\(binding.id):\(now)", entries)),
                .accountUse(
                    AccountUseRow(
                        kind: .walletReturned, owner: binding.authorizer, member: binding.member, memberName: binding.memberName,
                        amount: holding.total, reference: binding.id)),
                .event(
                    AccountEvent(
                        kind: .walletReturned, at: now, authorizer: binding.authorizer, member: binding.member,
                        memberName: binding.memberName,
                        bindingID: binding.id, amount: holding.total, parts: [.carryOver], balanceAfter: account.total,
                        reference: binding.id)),
            ]
        }
        return writes
    }

    /// A transfer back into `account`: each part to the part it came from (a current-year part
    /// after a rollover, and everything when `toCarryOver`, to carry-over).
    static func returning(
        _ transfer: WalletTransfer, to account: PersonalAccount, at resolvedAt: Int64, now: Int64, toCarryOver: Bool = false,
        as status: WalletTransfer.Status = .returned
    ) throws(DomainError) -> (transfer: WalletTransfer, account: PersonalAccount, writes: [Write]) {
        var credited = account
        var entries: [LedgerEntry] = []
        var partsBack: [BalancePart] = []
        for (part, amount) in parts(of: transfer) {
            let target: BalancePart = toCarryOver || (part == .currentYear && account.year > transfer.accountYear) ? .carryOver : part
            credited = try credited.crediting(amount, to: target)
            entries += [
                LedgerEntry(LedgerAccount.pendingTransfer(transfer.id, part), Money(fen: -amount.fen)),
                LedgerEntry(LedgerAccount.person(transfer.authorizer, target), amount),
            ]
            if !partsBack.contains(target) { partsBack.append(target) }
        }
        var returned = transfer
        returned.storedStatus = status
        returned.resolvedAt = resolvedAt
        return (
            returned, credited,
            [
                .account(credited), .walletTransfer(returned), .ledger(LedgerMovement("transfer-returned:\(transfer.id)", entries)),
                use(status == .declined ? .walletTransferDeclined : .walletReturned, returned),
                .event(
                    event(
                        status == .declined ? .walletTransferDeclined : .walletTransferReturned, returned, parts: partsBack,
                        balanceAfter: credited.total, now: now)),
            ]
        )
    }

    /// The transfer's non-zero parts.
    static func parts(of transfer: WalletTransfer) -> [(BalancePart, Money)] {
        [(BalancePart.currentYear, transfer.currentYear), (.carryOver, transfer.carryOver)].filter { $0.1 > .zero }
    }

    /// The deduction-list row (R-SETL-9 style, both parties see it) of a transfer's step.
    static func use(_ kind: AccountUseRecord.Kind, _ transfer: WalletTransfer) -> Write {
        .accountUse(
            AccountUseRow(
                kind: kind, owner: transfer.authorizer, member: transfer.member, memberName: transfer.memberName, amount: transfer.amount,
                reference: transfer.id))
    }

    static func event(
        _ kind: AccountEvent.Kind, _ transfer: WalletTransfer, parts: [BalancePart], balanceAfter: Money?, now: Int64
    )
        -> AccountEvent
    {
        AccountEvent(
            kind: kind, at: now, authorizer: transfer.authorizer, member: transfer.member, memberName: transfer.memberName,
            bindingID: transfer.bindingID, amount: transfer.amount, parts: parts, balanceAfter: balanceAfter, reference: transfer.id)
    }
}

extension DomainError {
    static func wallet(
        _ reason: Reason, _ en: String, _ zh: String, _ details: [String: String] = [:], category: Category = .failedPrecondition
    ) -> DomainError {
        DomainError(reason: reason, category: category, message: en, messageZH: zh, details: details)
    }

    static func crossProvinceNotTakingPart(_ policy: RegionPolicy) -> DomainError {
        DomainError(
            reason: .crossProvinceNotAllowed, category: .failedPrecondition,
            message: "\(policy.name) does not take part in cross-province mutual aid", messageZH: "本地区暂未开通跨省共济",
            details: ["region": policy.region.description])
    }
}

extension WalletHolding {
    /// The provinces its money clears between (the binding's province on both sides for a
    /// holding stored before it knew them).
    public func clearingPair(_ binding: Binding) -> ProvincePair {
        provinces ?? ProvincePair(from: binding.region.province, to: binding.region.province)
    }
}

/// R-XP-7: one pair of provinces' clearing for a month.
public struct PairClearing: Hashable, Sendable {
    /// The authorizer's province and the member's.
    public var provinces: ProvincePair
    /// Accepted into wallets.
    public var granted = Money.zero
    /// Spent from wallets.
    public var spent = Money.zero
    /// Spent and reversed by the institution.
    public var reversed = Money.zero
    /// Returned from wallets to the authorizers.
    public var returned = Money.zero
    /// The movements behind the figures.
    public var movements: [WalletMovement] = []

    /// What the authorizer's province owes the member's: what entered the member's wallets and
    /// did not come back (what the wallets spent, the member's province paid out of it).
    public var netOwed: Money { granted.subtracting(returned) ?? .zero }
    /// How much the wallets of the pair changed by: granted − spent + reversed − returned, the
    /// change of their ledger accounts over the month.
    public var walletChange: Money { Money(fen: granted.fen - spent.fen + reversed.fen - returned.fen) }
}

/// R-XP-7: clearing (清算) between provinces, by month, China time.
public enum ClearingRules {
    /// The instants a month begins and ends (China time, Unix seconds), or MONTH_NOT_ENDED /
    /// INVALID_FIELD: only a month that has ended is cleared, so its answer never changes.
    public static func window(month text: String, now: Int64) throws(DomainError) -> (start: Int64, end: Int64) {
        let parts = text.split(separator: "-")
        guard parts.count == 2, parts[0].count == 4, parts[1].count == 2, let year = Int(parts[0]), let month = Int(parts[1]),
            let first = CivilDate(year: year, month: month, day: 1), (2000...2200).contains(year)
        else { throw .invalidField("month", "must be YYYY-MM", zh: "月份格式应为YYYY-MM") }
        let next = month == 12 ? CivilDate(year: year + 1, month: 1, day: 1)! : CivilDate(year: year, month: month + 1, day: 1)!
        let midnight = ClockTime(hour: 0, minute: 0)!
        let (start, end) = (midnight.unixSeconds(on: first), midnight.unixSeconds(on: next))
        guard now >= end else {
            throw DomainError(
                reason: .monthNotEnded, category: .failedPrecondition,
                message: "\(text) has not ended (China time); it is cleared from \(next)", messageZH: "该月尚未结束，暂不能清算",
                details: ["month": text, "clearable_from": next.description])
        }
        return (start, end)
    }

    /// The month's clearing per pair of provinces, in province order, from its movements.
    public static func report(_ movements: [WalletMovement]) -> [PairClearing] {
        var pairs: [ProvincePair: PairClearing] = [:]
        for movement in movements {
            var pair = pairs[movement.provinces] ?? PairClearing(provinces: movement.provinces)
            switch movement.kind {
            case .granted: pair.granted = pair.granted.adding(movement.amount) ?? pair.granted
            case .spent: pair.spent = pair.spent.adding(movement.amount) ?? pair.spent
            case .reversed: pair.reversed = pair.reversed.adding(movement.amount) ?? pair.reversed
            case .returned: pair.returned = pair.returned.adding(movement.amount) ?? pair.returned
            }
            pair.movements.append(movement)
            pairs[movement.provinces] = pair
        }
        return pairs.values.sorted { $0.provinces < $1.provinces }
    }
}
