/// A time of day in China time, minutes after midnight (`"22:00"` in a policy file).
public struct ClockTime: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    /// Minutes after midnight, 0…1439.
    public var minutes: Int

    /// The time `hour`:`minute`, or nil when out of range.
    public init?(hour: Int, minute: Int) {
        guard (0..<24).contains(hour), (0..<60).contains(minute) else { return nil }
        minutes = hour * 60 + minute
    }

    /// The time of day in China (UTC+8) of an instant, to the minute.
    public static func inChina(unixSeconds: Int64) -> ClockTime {
        let seconds = ((unixSeconds + 8 * 3600) % 86_400 + 86_400) % 86_400
        return ClockTime(hour: Int(seconds / 3600), minute: Int(seconds % 3600 / 60))!
    }

    /// The instant `day` at this time, China time, Unix seconds.
    public func unixSeconds(on day: CivilDate) -> Int64 { Int64(day.dayNumber) * 86_400 + Int64(minutes) * 60 - 8 * 3600 }

    public var description: String {
        let (h, m) = (minutes / 60, minutes % 60)
        return (h < 10 ? "0" : "") + String(h) + ":" + (m < 10 ? "0" : "") + String(m)
    }

    public static func < (lhs: ClockTime, rhs: ClockTime) -> Bool { lhs.minutes < rhs.minutes }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 }), let hour = Int(parts[0]), let minute = Int(parts[1]),
            let time = ClockTime(hour: hour, minute: minute)
        else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not a time of day HH:MM (00:00…23:59): \(text)"))
        }
        self = time
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension RegionPolicy {
    /// R-XP-1, R-XP-3, R-XP-4: whether the region takes part in cross-province aid through the
    /// member's wallet, and the wallet's limits. Absent in a policy file: it does not take part.
    public struct CrossProvinceTerms: Hashable, Sendable, Codable {
        /// Whether the region's authorizers may bind members insured in other provinces.
        public var enabled: Bool
        /// The most one transfer may grant (published: 2,000.00).
        public var transferMax: Money
        /// The most transfers one sending account may make in a day, China time (published: 3).
        public var transfersPerDay: Int
        /// No transfer from this time … (published: 22:00) …
        public var quietFrom: ClockTime
        /// … until this time, China time (published: 06:00).
        public var quietUntil: ClockTime
        /// An unaccepted transfer returns at this time the day after it was sent (published: 06:00).
        public var returnAt: ClockTime

        /// The wallet's operating rules as published (2025).
        public static let published = CrossProvinceTerms(
            enabled: true, transferMax: Money(fen: 200_000), transfersPerDay: 3, quietFrom: ClockTime(hour: 22, minute: 0)!,
            quietUntil: ClockTime(hour: 6, minute: 0)!, returnAt: ClockTime(hour: 6, minute: 0)!)

        /// Creates the terms.
        public init(
            enabled: Bool, transferMax: Money, transfersPerDay: Int, quietFrom: ClockTime, quietUntil: ClockTime, returnAt: ClockTime
        ) {
            self.enabled = enabled
            self.transferMax = transferMax
            self.transfersPerDay = transfersPerDay
            self.quietFrom = quietFrom
            self.quietUntil = quietUntil
            self.returnAt = returnAt
        }

        enum CodingKeys: String, CodingKey {
            case enabled
            case transferMax = "transfer_max_fen"
            case transfersPerDay = "transfers_per_day"
            case quietFrom = "quiet_from"
            case quietUntil = "quiet_until"
            case returnAt = "return_at"
        }

        /// Each value not in the file is the published one.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let published = Self.published
            enabled = try c.decode(Bool.self, forKey: .enabled)
            transferMax = try c.decodeIfPresent(Money.self, forKey: .transferMax) ?? published.transferMax
            transfersPerDay = try c.decodeIfPresent(Int.self, forKey: .transfersPerDay) ?? published.transfersPerDay
            quietFrom = try c.decodeIfPresent(ClockTime.self, forKey: .quietFrom) ?? published.quietFrom
            quietUntil = try c.decodeIfPresent(ClockTime.self, forKey: .quietUntil) ?? published.quietUntil
            returnAt = try c.decodeIfPresent(ClockTime.self, forKey: .returnAt) ?? published.returnAt
        }

        /// Whether `time` falls in the quiet hours (from `quietFrom` inclusive to `quietUntil`
        /// exclusive, across midnight when `quietFrom` is later).
        public func isQuiet(_ time: ClockTime) -> Bool {
            if quietFrom == quietUntil { return false }
            return quietFrom < quietUntil ? (quietFrom <= time && time < quietUntil) : (time >= quietFrom || time < quietUntil)
        }
    }

    /// Whether the region takes part in cross-province aid.
    public var takesPartCrossProvince: Bool { crossProvince?.enabled == true }
}

/// R-XP-2: a member's medical-insurance wallet (医保钱包), opened by the member.
public struct Wallet: Hashable, Sendable {
    /// Whose it is.
    public var member: ResidentID
    /// The province that insures the member (the registry's, when it was opened).
    public var province: RegionCode
    /// When it was opened, Unix seconds.
    public var openedAt: Int64

    /// Creates a wallet.
    public init(member: ResidentID, province: RegionCode, openedAt: Int64) {
        self.member = member
        self.province = province
        self.openedAt = openedAt
    }
}

/// What a member's wallet holds from one authorizer (through one binding), by the part of the
/// authorizer's account it came from.
public struct WalletHolding: Hashable, Sendable {
    /// The wallet's owner.
    public var member: ResidentID
    /// The binding it was granted through.
    public var bindingID: String
    /// Who granted it.
    public var authorizer: ResidentID
    /// From the authorizer's current-year part.
    public var currentYear: Money
    /// From the authorizer's carry-over part.
    public var carryOver: Money
    /// R-XP-7: the authorizer's province and the member's (the pair its money clears between).
    public var provinces: ProvincePair?

    /// Creates a holding.
    public init(
        member: ResidentID, bindingID: String, authorizer: ResidentID, currentYear: Money = .zero, carryOver: Money = .zero,
        provinces: ProvincePair? = nil
    ) {
        self.member = member
        self.bindingID = bindingID
        self.authorizer = authorizer
        self.currentYear = currentYear
        self.carryOver = carryOver
        self.provinces = provinces
    }

    /// What it holds.
    public var total: Money { currentYear.adding(carryOver) ?? .zero }

    /// What it holds from `part` of the authorizer's account.
    func balance(of part: BalancePart) -> Money { part == .currentYear ? currentYear : carryOver }

    /// The holding after `amount` (at most its total) leaves it, the parts in `order` first (then
    /// any other); the postings, by the part of the authorizer's account each came from.
    func debiting(_ amount: Money, order: [BalancePart]) -> (postings: [Posting], holding: WalletHolding) {
        var after = self
        var postings: [Posting] = []
        var left = amount
        for part in order + [.carryOver, .currentYear] where left > .zero {
            let take = Money.min(after.balance(of: part), left)
            guard take > .zero else { continue }
            after.set(part, after.balance(of: part).subtracting(take)!)
            postings.append(Posting(part: part, amount: take))
            left = left.subtracting(take)!
        }
        return (postings, after)
    }

    /// The holding after `amount` comes into `part` (a transfer accepted, a reversal).
    func crediting(_ amount: Money, to part: BalancePart) throws(DomainError) -> WalletHolding {
        guard let sum = balance(of: part).adding(amount), sum.isValidAmount else { throw .amountOutOfRange("wallet") }
        var after = self
        after.set(part, sum)
        return after
    }

    private mutating func set(_ part: BalancePart, _ amount: Money) {
        if part == .currentYear { currentYear = amount } else { carryOver = amount }
    }
}

/// R-XP-3 / R-XP-4: one grant (划转) from an authorizer's account into a member's wallet.
public struct WalletTransfer: Hashable, Sendable {
    /// Where it stands.
    public enum Status: String, Hashable, Sendable, CaseIterable {
        /// Sent, held until the member accepts (or it returns).
        case pending
        /// The member accepted it: the wallet holds it.
        case accepted
        /// The member declined it: back in the authorizer's account.
        case declined
        /// Not accepted in time, or the binding ended: back in the authorizer's account.
        case returned
    }

    /// Its id.
    public var id: String
    /// List cursor (0 until stored).
    public var seq: Int64
    /// The binding it goes through.
    public var bindingID: String
    /// Who sends it.
    public var authorizer: ResidentID
    /// Whose wallet receives it.
    public var member: ResidentID
    /// The member's name.
    public var memberName: String
    /// From the authorizer's current-year part.
    public var currentYear: Money
    /// From the authorizer's carry-over part.
    public var carryOver: Money
    /// The year of the authorizer's account when it was sent (a current-year amount returned
    /// after the account rolled over goes to carry-over, as a reversal does).
    public var accountYear: Int
    /// The authorizer's province.
    public var fromProvince: RegionCode
    /// The member's province.
    public var toProvince: RegionCode
    /// Its status as stored (see `status(at:)`).
    public var storedStatus: Status
    /// The day it was sent, China time.
    public var sentOn: CivilDate
    /// When it was sent, Unix seconds.
    public var sentAt: Int64
    /// When it returns unless accepted first, Unix seconds.
    public var returnDueAt: Int64
    /// When it was accepted, declined or returned.
    public var resolvedAt: Int64?

    /// Creates a transfer.
    public init(
        id: String, seq: Int64 = 0, bindingID: String, authorizer: ResidentID, member: ResidentID, memberName: String,
        currentYear: Money, carryOver: Money, accountYear: Int, fromProvince: RegionCode, toProvince: RegionCode,
        storedStatus: Status, sentOn: CivilDate, sentAt: Int64, returnDueAt: Int64, resolvedAt: Int64? = nil
    ) {
        self.id = id
        self.seq = seq
        self.bindingID = bindingID
        self.authorizer = authorizer
        self.member = member
        self.memberName = memberName
        self.currentYear = currentYear
        self.carryOver = carryOver
        self.accountYear = accountYear
        self.fromProvince = fromProvince
        self.toProvince = toProvince
        self.storedStatus = storedStatus
        self.sentOn = sentOn
        self.sentAt = sentAt
        self.returnDueAt = returnDueAt
        self.resolvedAt = resolvedAt
    }

    /// The amount.
    public var amount: Money { currentYear.adding(carryOver) ?? .zero }

    /// R-XP-4: its status at `now` — a pending transfer past its return time reads as returned,
    /// whether or not the daemon's return has run yet.
    public func status(at now: Int64) -> Status {
        storedStatus == .pending && now >= returnDueAt ? .returned : storedStatus
    }

    /// When it was resolved as read at `now` (the return time for one that reads as returned).
    public func resolved(at now: Int64) -> Int64? {
        storedStatus == .pending && now >= returnDueAt ? returnDueAt : resolvedAt
    }
}

extension LedgerAccount {
    /// A transfer held until the member accepts it, by the part it came from.
    public static func pendingTransfer(_ id: String, _ part: BalancePart) -> String { "transfer:\(id):pending:\(part.rawValue)" }
    /// A member's wallet: what it holds through a binding, by the part it came from.
    public static func wallet(_ member: ResidentID, binding: String, _ part: BalancePart) -> String {
        "wallet:\(member.value):\(binding):\(part.rawValue)"
    }
}

/// A wallet as a person reads it: the wallet (nil when not opened) and what it holds.
public struct WalletView: Sendable, Hashable {
    /// The wallet, or nil.
    public var wallet: Wallet?
    /// What it holds, by binding.
    public var holdings: [WalletHolding]

    /// Creates the view.
    public init(wallet: Wallet?, holdings: [WalletHolding]) {
        self.wallet = wallet
        self.holdings = holdings
    }

    /// The sum of the holdings.
    public var balance: Money { Money.sum(holdings.map(\.total)) ?? .zero }
}

/// R-XP-7: the two provinces a wallet's money clears between.
public struct ProvincePair: Hashable, Sendable, Comparable {
    /// The authorizer's province (whose fund held the money).
    public var from: RegionCode
    /// The member's province (whose fund spends it).
    public var to: RegionCode

    /// Creates a pair.
    public init(from: RegionCode, to: RegionCode) {
        self.from = from
        self.to = to
    }

    public static func < (lhs: ProvincePair, rhs: ProvincePair) -> Bool {
        (lhs.from.value, lhs.to.value) < (rhs.from.value, rhs.to.value)
    }
}

/// R-XP-7: one movement of wallet money between two provinces' funds, as clearing counts it;
/// written with the change that moves it (`Write.walletMovement`), never changed.
public struct WalletMovement: Hashable, Sendable {
    /// What moved.
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        /// A transfer accepted into the wallet: the member's province now holds it.
        case granted
        /// Spent from the wallet at a designated institution (or on a premium).
        case spent
        /// A settlement paid from the wallet reversed: the institution paid it back.
        case reversed
        /// Back from the wallet to the authorizer's account (the binding ended).
        case returned
    }

    /// What moved.
    public var kind: Kind
    /// Between which provinces.
    public var provinces: ProvincePair
    /// How much (positive).
    public var amount: Money
    /// The binding.
    public var bindingID: String
    /// What it was: the transfer, the settlement (`institution:settlement id`) or the binding.
    public var reference: String

    /// Creates a movement.
    public init(kind: Kind, provinces: ProvincePair, amount: Money, bindingID: String, reference: String) {
        self.kind = kind
        self.provinces = provinces
        self.amount = amount
        self.bindingID = bindingID
        self.reference = reference
    }
}
