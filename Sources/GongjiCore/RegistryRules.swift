/// What registering a person opens.
public enum RegistryRules {
    /// The personal account an employee-insured person gets when first registered (R-ACCT-1:
    /// empty, in the current year); nil for anyone else. An existing account is kept as it is.
    public static func accountToOpen(for person: Person, today: CivilDate) -> PersonalAccount? {
        person.insuranceType == .employee ? PersonalAccount(owner: person.id, year: today.year, currentYear: .zero, carryOver: .zero) : nil
    }
}

extension RegistryRules {
    /// What registering (or re-registering) `person` writes: the person and the years paid
    /// elsewhere, the account an employee gets (an existing one is kept as it is), and the end of
    /// every open binding the change no longer allows (R-BIND-11), recorded as the registry's.
    /// `stored` is the person as registered before, `open` his or her pending and active bindings.
    public static func registration(
        _ person: Person, paidYears: [Int], stored: PersonRecord?, open: [Binding],
        wallets: WalletsOfBindings = WalletsOfBindings(), today: CivilDate, now: Int64
    ) throws(DomainError) -> (writes: [Write], record: PersonRecord) {
        var writes: [Write] = [.person(person, paidYears: paidYears)]
        var account = stored?.account
        if account == nil, let opened = accountToOpen(for: person, today: today) {
            writes.append(.openAccount(opened))
            account = opened
        }
        let registry = ChangeActor(certificateIdentity: "registry", endUser: nil, requestID: nil)
        var accounts = Dictionary(wallets.accounts.map { ($0.owner, $0) }, uniquingKeysWith: { first, _ in first })
        for ended in BindingRules.endedByRegistry(person, open: open) {
            writes += BindingRules.changeWrites(ended, actor: registry, reason: ended.endReason, event: .bindingEnded, now: now)
            // R-XP-6: what the member's wallet holds through it comes back to the authorizer.
            let returned = try WalletRules.returnOnEnd(
                ended, holding: wallets.holdings.first { $0.bindingID == ended.id },
                pending: wallets.pending.filter { $0.bindingID == ended.id }, account: accounts[ended.authorizer], now: now)
            for case .account(let after) in returned { accounts[after.owner] = after }
            writes += returned
        }
        if let after = accounts[person.id], account != nil { account = after }
        return (writes, PersonRecord(person: person, paidYears: Array(Set(paidYears)).sorted(), account: account))
    }
}

/// R-XP-6: what the wallets hold through a person's open bindings, their pending transfers and
/// the accounts of those bindings' authorizers (the money goes back there when a binding ends).
public struct WalletsOfBindings: Sendable {
    /// What the wallets hold, by binding.
    public var holdings: [WalletHolding]
    /// The transfers still stored as pending.
    public var pending: [WalletTransfer]
    /// The authorizers' accounts.
    public var accounts: [PersonalAccount]

    /// Creates them.
    public init(holdings: [WalletHolding] = [], pending: [WalletTransfer] = [], accounts: [PersonalAccount] = []) {
        self.holdings = holdings
        self.pending = pending
        self.accounts = accounts
    }
}
