/// Each plan of the core as the write-set a backend applies: the rows, the record to answer with
/// (less the sequence number the backend assigns), nothing left for a backend to decide.

extension PaymentPlan {
    /// The payment's rows: the debited account, the payment with its years and postings, the
    /// ledger, the authorizer's deduction-list row, and the newborn's enrollment.
    public func writeSet(now: Int64) -> (writes: WriteSet, row: PaymentRow) {
        let row = PaymentRow(
            record: PaymentRecord(
                id: paymentID, bindingID: binding.id, authorizer: binding.authorizer, authorizerName: authorizerName,
                member: binding.member,
                memberName: binding.memberName, region: binding.region, lines: quote.lines, total: quote.total, postings: postings,
                external: external, receiptNumber: "", createdAt: now, seq: 0, fromWallet: walletHolding != nil, kind: quote.kind),
            issuedOn: issuedOn, enrollsMember: enrollsMember)
        var writes = WriteSet([.account(authorizerAccount), .payment(row), .ledger(movement)], now: now)
        if let walletHolding {
            // R-XP-5, R-XP-7: paid from the wallet: the member's province spent it.
            writes.append(.walletHolding(walletHolding))
            writes.append(
                .walletMovement(
                    WalletMovement(
                        kind: .spent, provinces: walletHolding.clearingPair(binding), amount: quote.accountPart, bindingID: binding.id,
                        reference: "payment:\(paymentID)")))
        }
        writes.append(
            .accountUse(
                AccountUseRow(
                    kind: .premium, owner: binding.authorizer, member: binding.member, memberName: binding.memberName,
                    amount: quote.accountPart, paymentID: paymentID)))
        var parts: [BalancePart] = []
        for posting in postings where !parts.contains(posting.part) { parts.append(posting.part) }
        writes.append(
            .event(
                AccountEvent(
                    kind: .premiumPaid, at: now, authorizer: binding.authorizer, member: binding.member,
                    memberName: binding.memberName, bindingID: binding.id, amount: quote.accountPart, parts: parts,
                    balanceAfter: authorizerAccount.total, reference: paymentID)))
        if let enrolledMember { writes.append(.enrollment(enrolledMember)) }
        return (writes, row)
    }
}

extension SettlementPlan {
    /// The settlement's rows: the settlement with its postings, the debited accounts, the ledger
    /// and one deduction-list row per account that paid.
    public func writeSet(today: CivilDate, now: Int64) -> (writes: WriteSet, row: SettlementRow) {
        let row = SettlementRow(
            record: SettlementRecord(
                settlementID: settlementID, institution: institution, patient: patient.id, patientName: patient.name,
                split: split, status: .settled, settledAt: now, reversedAt: nil, seq: 0),
            day: today)
        var writes = WriteSet(
            [.settlement(row)] + accounts.map(Write.account) + holdings.map(Write.walletHolding) + walletMovements.map(Write.walletMovement)
                + [.ledger(movement)], now: now)
        writes.append(
            contentsOf: SettlementPosting.byOwner(split.postings).map { owner, amount in
                .accountUse(
                    AccountUseRow(
                        kind: .settlement, owner: owner, member: patient.id, memberName: patient.name, amount: amount,
                        settlement: .inserted))
            })
        writes.append(
            contentsOf: AccountEvent.settlement(.settled, postings: split.postings, accounts: accounts, record: row.record, now: now)
                .map(Write.event))
        return (writes, row)
    }
}

extension ReversalPlan {
    /// The reversal's rows: the credited accounts, the settlement marked reversed, the ledger and
    /// one deduction-list row per account credited; and the record as it reads afterwards.
    public func writeSet(of record: SettlementRecord, today: CivilDate, now: Int64) -> (writes: WriteSet, reversed: SettlementRecord) {
        var writes = WriteSet(
            accounts.map(Write.account) + holdings.map(Write.walletHolding) + walletMovements.map(Write.walletMovement)
                + [.settlementReversed(sequence: record.seq, day: today), .ledger(movement)], now: now)
        writes.append(
            contentsOf: SettlementPosting.byOwner(credits).map { owner, amount in
                .accountUse(
                    AccountUseRow(
                        kind: .reversal, owner: owner, member: record.patient, memberName: record.patientName, amount: amount,
                        settlement: .sequence(record.seq)))
            })
        writes.append(
            contentsOf: AccountEvent.settlement(.settlementReversed, postings: credits, accounts: accounts, record: record, now: now)
                .map(Write.event))
        var reversed = record
        reversed.status = .reversed
        reversed.reversedAt = now
        return (writes, reversed)
    }
}

extension SettlementPosting {
    /// What each owner's account gave (or got back), in the order of the postings.
    public static func byOwner(_ postings: [SettlementPosting]) -> [(owner: ResidentID, amount: Money)] {
        var amounts: [(owner: ResidentID, amount: Money)] = []
        for posting in postings {
            if let index = amounts.firstIndex(where: { $0.owner == posting.owner }) {
                amounts[index].amount = amounts[index].amount.adding(posting.amount)!
            } else {
                amounts.append((posting.owner, posting.amount))
            }
        }
        return amounts
    }
}

extension CreditRules.Plan {
    /// The credit's rows (none when the reference was applied before).
    public func writes(credit id: ResidentID, amount: Money, reference: String) -> [Write] {
        guard case .apply(let account, let movement) = self else { return [] }
        return [.credit(reference: reference, owner: id, amount: amount), .account(account), .ledger(movement)]
    }

    /// The account as it is after the credit: `account` when it was applied before.
    public func account(before account: PersonalAccount?) -> PersonalAccount? {
        guard case .apply(let credited, _) = self else { return account }
        return credited
    }
}

extension BindingRules {
    /// A new binding's rows: the binding, its first recorded change and its event.
    public static func creationWrites(_ binding: Binding, actor: ChangeActor, now: Int64) -> [Write] {
        [.newBinding(binding), .bindingEvent(binding, actor: actor, reason: nil), .event(.binding(.bindingCreated, binding, now: now))]
    }

    /// A changed binding's rows: its state, the recorded change and its event (`kind`).
    public static func changeWrites(
        _ changed: Binding, actor: ChangeActor, reason: String?, event kind: AccountEvent.Kind, now: Int64
    )
        -> [Write]
    {
        [.bindingState(changed), .bindingEvent(changed, actor: actor, reason: reason), .event(.binding(kind, changed, now: now))]
    }
}
