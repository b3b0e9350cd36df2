import GongjiCore

// The cross-province path through the member's wallet (R-XP-*), written once above every
// backend like every other use case: facts, the core's decision, one write-set, exactly once.

extension StorageBackend {
    /// R-XP-2: the end user opens his or her wallet; an open wallet is answered as it is.
    public func openWallet(for member: ResidentID, key: IdempotencyKey?, now: Int64) async throws -> (view: WalletView, opened: Bool) {
        try await run(
            UseCase(
                key: key, facts: .wallet(member),
                decide: { facts in
                    let (wallet, writes, opened) = try WalletRules.open(
                        member: facts.person?.person, actor: member, existing: facts.wallet, now: now)
                    return Decision(WriteSet(writes, now: now)) { _ in
                        ((WalletView(wallet: wallet, holdings: facts.holdings), opened), opened ? "opened" : "open")
                    }
                }, replayFacts: { _ in .wallet(member) },
                replayed: { result, facts in (WalletView(wallet: facts.wallet, holdings: facts.holdings), result == "opened") }))
    }

    /// A person's wallet, as it is now.
    public func wallet(of member: ResidentID) async throws -> WalletView {
        let facts = try await facts(.wallet(member))
        return WalletView(wallet: facts.wallet, holdings: facts.holdings)
    }

    /// R-XP-3: the authorizer `endUser` grants `amount` into the wallet of the binding's member,
    /// exactly once per key. Answers the transfer and the authorizer's balance after it.
    public func transferToWallet(
        bindingID: String, amount: Money, endUser: ResidentID, transferID: String, key: IdempotencyKey?, policies: PolicyBook,
        now: Int64
    ) async throws -> (transfer: WalletTransfer, balanceAfter: Money) {
        let today = CivilDate.inChina(unixSeconds: now)
        return try await run(
            UseCase(
                key: key, facts: .walletTransfer(bindingID: bindingID, day: today),
                decide: { facts in
                    let binding = facts.binding?.binding
                    let transferFacts = TransferFacts(
                        actor: endUser, binding: binding, authorizer: facts.person?.person, account: facts.person?.account,
                        member: facts.member?.person, wallet: facts.wallet, sentToday: facts.transfersSentToday,
                        pending: facts.transfers, policy: binding.flatMap { policies.policy(of: $0.region) }, now: now)
                    let (transfer, account, writes) = try WalletRules.transfer(amount, id: transferID, facts: transferFacts)
                    return Decision(WriteSet(writes, now: now)) { _ in ((transfer, account.total), transfer.id) }
                }, replayFacts: { .transfer(id: $0) },
                replayed: { _, facts in
                    guard let transfer = facts.transfers.first else { throw StoreError(.database, "idempotent result vanished") }
                    return (transfer, facts.person?.account?.total ?? .zero)
                }))
    }

    /// R-XP-4: the member `endUser` accepts or declines a pending transfer.
    public func answerTransfer(
        id: String, _ answer: WalletRules.Answer, endUser: ResidentID, key: IdempotencyKey?, now: Int64
    ) async throws -> WalletTransfer {
        try await run(
            UseCase(
                key: key, facts: .transfer(id: id),
                decide: { facts in
                    let (transfer, writes) = try WalletRules.answer(
                        answer, transfer: facts.transfers.first, actor: endUser, binding: facts.binding?.binding,
                        holding: facts.holdings.first, account: facts.person?.account, now: now)
                    return Decision(WriteSet(writes, now: now)) { _ in (transfer, transfer.id) }
                }, replayFacts: { .transfer(id: $0) },
                replayed: { _, facts in
                    guard let transfer = facts.transfers.first else { throw StoreError(.database, "idempotent result vanished") }
                    return transfer
                }))
    }

    /// R-XP-4: returns the transfers whose return time has come (at most `limit` per call), each
    /// exactly once; on PostgreSQL one daemon at a time. Returns how many it returned.
    public func returnDueTransfers(now: Int64, limit: Int = 500) async throws -> Int {
        try await run(
            UseCase(
                key: nil, facts: .dueTransfers(at: now, limit: limit),
                decide: { facts in
                    guard facts.cleanupLockHeld else { return Decision(WriteSet(now: now)) { _ in (0, "") } }
                    let writes = try WalletRules.returnDue(facts.transfers, accounts: facts.accounts, now: now)
                    let returned = writes.count { if case .walletTransfer = $0 { true } else { false } }
                    return Decision(WriteSet(writes, now: now)) { _ in (returned, "") }
                }, replayed: { _, _ in 0 }), bulk: true)
    }

    /// What wallets hold from `authorizer` now (non-zero holdings), by binding.
    public func holdings(from authorizer: ResidentID) async throws -> [WalletHolding] {
        try await facts(.holdingsFrom(authorizer)).holdings
    }

    /// R-XP-7: the wallet movements written at or after `from` and before `until`, in order.
    public func walletMovements(from: Int64, until: Int64) async throws -> [WalletMovement] {
        try await facts(.walletMovements(from: from, until: until)).walletMovements
    }

    /// A person's transfers as sender or receiver, newest first, strictly before the cursor.
    public func walletTransfers(
        of person: ResidentID, as perspective: BindingPerspective, before: Int64?, limit: Int
    ) async throws
        -> [WalletTransfer]
    {
        try await facts(.walletTransfers(of: person, as: perspective, before: before, limit: limit)).transfers
    }
}
