/// Which basic medical insurance a person is enrolled in (R-PERSON-1).
public enum InsuranceType: String, Hashable, Sendable, Codable, CaseIterable {
    /// 职工医保: has a personal account and may authorize.
    case employee
    /// 城乡居民医保: pays a yearly premium.
    case resident
    /// Not enrolled (e.g. a newborn).
    case none
}

/// The state of a person's insurance (R-PERSON-1).
public enum InsuranceStatus: String, Hashable, Sendable, Codable, CaseIterable {
    /// 正常参保.
    case normal
    /// 暂停.
    case suspended
    /// 终止.
    case terminated
}

/// A family relationship from the authorizer's point of view: the member is the authorizer's ….
public enum Relationship: String, Hashable, Sendable, Codable, CaseIterable {
    /// 配偶.
    case spouse
    /// 父母: the member is a parent of the authorizer.
    case parent
    /// 子女: the member is a child of the authorizer.
    case child
    /// 祖父母/外祖父母: the member is a grandparent of the authorizer (R-BIND-2a).
    case grandparent
    /// 孙子女/外孙子女: the member is a grandchild of the authorizer (R-BIND-2a).
    case grandchild
    /// 兄弟姐妹: the member is a sibling of the authorizer (R-BIND-2a).
    case sibling

    /// R-BIND-3: whether the member must be born after (`.later`) or before (`.earlier`) the
    /// authorizer; nil for no order (spouse, sibling).
    public var birthOrder: BirthOrder? {
        switch self {
        case .spouse, .sibling: nil
        case .child, .grandchild: .later
        case .parent, .grandparent: .earlier
        }
    }

    /// The order of birth dates a relationship implies.
    public enum BirthOrder: Sendable {
        /// The member is born after the authorizer.
        case later
        /// The member is born before the authorizer.
        case earlier
    }

    /// Its name in Chinese.
    public var chinese: String {
        switch self {
        case .spouse: "配偶"
        case .parent: "父母"
        case .child: "子女"
        case .grandparent: "祖父母/外祖父母"
        case .grandchild: "孙子女/外孙子女"
        case .sibling: "兄弟姐妹"
        }
    }
}

/// An insured person as registered by the insurance platform (R-PERSON-1).
public struct Person: Hashable, Sendable {
    /// The resident ID number.
    public var id: ResidentID
    /// The registered name (R-ID-2 compares against it).
    public var name: String
    /// The kind of insurance.
    public var insuranceType: InsuranceType
    /// The insurance status.
    public var status: InsuranceStatus
    /// The pooling region (统筹区) of the insurance; for a person not enrolled, where registered.
    public var region: RegionCode
    /// A special category such as `subsistence_allowance` (低保), `extreme_poverty` (特困) or
    /// `disability` (残疾); nil for none. Category names are those of the policy files.
    public var specialCategory: String?

    /// Creates a person.
    public init(
        id: ResidentID, name: String, insuranceType: InsuranceType, status: InsuranceStatus,
        region: RegionCode, specialCategory: String? = nil
    ) {
        self.id = id
        self.name = name
        self.insuranceType = insuranceType
        self.status = status
        self.region = region
        self.specialCategory = specialCategory
    }

    /// The birth date, from the ID number.
    public var birthDate: CivilDate { id.birthDate }
}

/// The two parts of a personal account balance (R-ACCT-1).
public enum BalancePart: String, Hashable, Sendable, Codable, CaseIterable {
    /// The current year's credits.
    case currentYear = "current_year"
    /// 历年结余: balance carried over from previous years.
    case carryOver = "carry_over"
}

/// An employee-insured person's personal account (个人账户), in fen (R-ACCT-1).
public struct PersonalAccount: Hashable, Sendable {
    /// The owner.
    public var owner: ResidentID
    /// The year the current-year part belongs to.
    public var year: Int
    /// The current year's part.
    public var currentYear: Money
    /// The carry-over part (历年结余).
    public var carryOver: Money

    /// Creates an account.
    public init(owner: ResidentID, year: Int, currentYear: Money = .zero, carryOver: Money = .zero) {
        self.owner = owner
        self.year = year
        self.currentYear = currentYear
        self.carryOver = carryOver
    }

    /// The whole balance.
    public var total: Money { currentYear.adding(carryOver) ?? .max }

    /// The balance of one part.
    public func balance(of part: BalancePart) -> Money {
        switch part {
        case .currentYear: currentYear
        case .carryOver: carryOver
        }
    }

    /// Takes up to `amount` from `parts`, in that order: the debits made and the account after
    /// them. Premium payments and settlements both spend an account this way.
    public func debiting(upTo amount: Money, from parts: [BalancePart]) -> (postings: [Posting], account: PersonalAccount) {
        var account = self
        var remaining = amount
        var postings: [Posting] = []
        for part in parts where remaining > .zero {
            let take = Money.min(remaining, account.balance(of: part))
            guard take > .zero else { continue }
            postings.append(Posting(part: part, amount: take))
            account = account.debiting(take, from: part)
            remaining = remaining.subtracting(take)!
        }
        return (postings, account)
    }

    /// The sum of `parts`.
    public func usable(_ parts: [BalancePart]) -> Money { Money.sum(parts.map(balance(of:))) ?? .zero }

    /// The account after `amount` comes back into `part`.
    func crediting(_ amount: Money, to part: BalancePart) throws(DomainError) -> PersonalAccount {
        var result = self
        switch part {
        case .currentYear:
            guard let sum = currentYear.adding(amount), sum.isValidAmount else { throw .amountOutOfRange("current_year") }
            result.currentYear = sum
        case .carryOver:
            guard let sum = carryOver.adding(amount), sum.isValidAmount else { throw .amountOutOfRange("carry_over") }
            result.carryOver = sum
        }
        return result
    }

    /// The account after `amount` (at most the part's balance) leaves `part`.
    func debiting(_ amount: Money, from part: BalancePart) -> PersonalAccount {
        var result = self
        switch part {
        case .currentYear: result.currentYear = currentYear.subtracting(amount)!
        case .carryOver: result.carryOver = carryOver.subtracting(amount)!
        }
        precondition(result.currentYear >= .zero && result.carryOver >= .zero, "a debit never exceeds the part's balance")
        return result
    }

    /// The account after the turn of the year into `newYear`: the current part moves into
    /// carry-over. Rolling into the year the account is already in changes nothing, so the
    /// operation is idempotent per year; rolling backwards is refused.
    public func rolledOver(into newYear: Int) throws(DomainError) -> PersonalAccount {
        guard newYear >= year else { throw .rolloverBackwards(accountYear: year, requested: newYear) }
        guard newYear > year else { return self }
        guard let carried = carryOver.adding(currentYear) else { throw .amountOutOfRange("carry_over") }
        return PersonalAccount(owner: owner, year: newYear, currentYear: .zero, carryOver: carried)
    }
}
