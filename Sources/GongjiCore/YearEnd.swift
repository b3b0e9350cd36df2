/// The year-end rollover as a whole (R-ACCT-2): it runs once per year, in order, and never into a
/// year that has not begun.
public enum YearEnd {
    /// The years a rollover may name at all.
    public static let yearRange = 2000...2200

    /// One account's rollover into `year` and its ledger movement (current-year part → carry-over).
    public static func rollOver(_ account: PersonalAccount, into year: Int) throws(DomainError) -> (PersonalAccount, LedgerMovement) {
        let rolled = try account.rolledOver(into: year)
        let moved = rolled.year == account.year ? Money.zero : account.currentYear
        return (
            rolled,
            LedgerMovement(
                "rollover:\(year):\(account.owner.value)",
                [
                    LedgerEntry(LedgerAccount.person(account.owner, .currentYear), Money(fen: -moved.fen)),
                    LedgerEntry(LedgerAccount.person(account.owner, .carryOver), moved),
                ])
        )
    }

    /// The year the next rollover must go into: the year after the last recorded rollover; for a
    /// database without one, the year after its oldest account's year; with no accounts at all,
    /// the current year.
    public static func nextRolloverYear(lastRolled: Int?, oldestAccountYear: Int?, today: CivilDate) -> Int {
        if let lastRolled { return lastRolled + 1 }
        if let oldestAccountYear { return oldestAccountYear + 1 }
        return today.year
    }

    /// Refuses a rollover into any year but the next one, or into a year that has not begun
    /// (China time); the error names the year that would be valid.
    public static func checkRollover(
        into requested: Int, lastRolled: Int?, oldestAccountYear: Int?,
        today: CivilDate
    ) throws(DomainError) {
        guard yearRange.contains(requested) else {
            throw .invalidField("year", "must be \(yearRange.lowerBound)…\(yearRange.upperBound)", zh: "年度无效")
        }
        let valid = nextRolloverYear(lastRolled: lastRolled, oldestAccountYear: oldestAccountYear, today: today)
        guard requested == valid else { throw .rolloverYearInvalid(requested: requested, valid: valid) }
        guard requested <= today.year else { throw .rolloverYearNotBegun(requested: requested, today: today) }
    }
}

extension YearEnd {
    /// The rollover into `year` (checked by `checkRollover`) of `accounts` (every account still in
    /// an earlier year): each account's new balances and movement, and the rollover's record.
    public static func plan(
        into year: Int, lastRolled: Int?, oldestAccountYear: Int?, accounts: [PersonalAccount],
        today: CivilDate
    ) throws(DomainError) -> [Write] {
        try checkRollover(into: year, lastRolled: lastRolled, oldestAccountYear: oldestAccountYear, today: today)
        var writes: [Write] = []
        for account in accounts {
            let (rolled, movement) = try rollOver(account, into: year)
            writes += [.account(rolled), .ledger(movement)]
        }
        return writes + [.rollover(year: year, accounts: accounts.count)]
    }
}
