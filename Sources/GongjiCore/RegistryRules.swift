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
        today: CivilDate, now: Int64
    ) -> (writes: [Write], record: PersonRecord) {
        var writes: [Write] = [.person(person, paidYears: paidYears)]
        var account = stored?.account
        if account == nil, let opened = accountToOpen(for: person, today: today) {
            writes.append(.openAccount(opened))
            account = opened
        }
        let registry = ChangeActor(certificateIdentity: "registry", endUser: nil, requestID: nil)
        for ended in BindingRules.endedByRegistry(person, open: open) {
            writes += BindingRules.changeWrites(ended, actor: registry, reason: ended.endReason, event: .bindingEnded, now: now)
        }
        return (writes, PersonRecord(person: person, paidYears: Array(Set(paidYears)).sorted(), account: account))
    }
}
