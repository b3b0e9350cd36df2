/// Every regional parameter of the family mutual-aid rules for one pooling region, as data.
///
/// Policies are loaded from human-editable JSON5 files (comments allowed), one per region; see
/// README.md for the format. `RegionPolicy.decode(json5:)` refuses a malformed or inconsistent
/// file with a POLICY_INVALID `DomainError` naming the field.
public struct RegionPolicy: Hashable, Sendable, Codable {
    /// The pooling region this policy belongs to.
    public var region: RegionCode
    /// The region's name, e.g. 呼和浩特市.
    public var name: String
    /// Who may authorize (R-BIND-1).
    public var authorizer: AuthorizerRules
    /// Who may be bound (R-BIND-2, R-BIND-4, R-BIND-8).
    public var member: MemberRules
    /// What a binding request must carry (R-BIND-5).
    public var materials: Materials
    /// Whether bindings become active at once or after review (R-BIND-6).
    public var review: ReviewMode
    /// How premiums may be paid (R-PAY-4, R-PAY-5, R-PAY-6, R-PAY-7).
    public var payment: PaymentRules
    /// Premium standards and collection windows per premium year (R-PAY-2, R-PAY-7).
    public var premiums: [PremiumYear]
    /// Whether binding and payment are suspended, and where to go instead (R-SUSP-1).
    public var availability: Availability
    /// Settlement at designated institutions (R-SETL-5, R-SETL-8); absent: the defaults of
    /// `SettlementTerms`.
    public var settlement: SettlementTerms?
    /// R-XP-1, R-XP-3, R-XP-4: cross-province aid through the member's wallet; absent: the region
    /// does not take part.
    public var crossProvince: CrossProvinceTerms?
    /// R-LTC-1: the long-term-care contribution's standard and window per year, where the region
    /// has long-term-care insurance for residents; nil where it has none.
    public var longTermCare: [PremiumYear]?

    enum CodingKeys: String, CodingKey {
        case region, name, authorizer, member, materials, review, payment, premiums, availability, settlement
        case crossProvince = "cross_province"
        case longTermCare = "long_term_care"
    }

    /// R-SETL-5 and R-SETL-8.
    public struct SettlementTerms: Hashable, Sendable, Codable {
        /// Days after the day of a settlement on which it may still be reversed.
        public var reversalDays: Int
        /// The annual limit a new binding gets for medical use; nil: none.
        public var medicalLimitDefault: Money?
        /// The highest annual limit an authorizer may set; nil: any.
        public var medicalLimitMax: Money?
        /// R-CTL-2: the limit per settlement a new binding gets; nil: none.
        public var settlementLimitDefault: Money?
        /// R-CTL-2: the highest limit per settlement an authorizer may set; nil: any.
        public var settlementLimitMax: Money?
        /// R-CTL-2: the limit per day (China time) a new binding gets; nil: none.
        public var dailyLimitDefault: Money?
        /// R-CTL-2: the highest limit per day an authorizer may set; nil: any.
        public var dailyLimitMax: Money?

        /// PLACEHOLDER: no source gives a reversal period; 30 days until one does.
        public static let defaults = SettlementTerms(reversalDays: 30, medicalLimitDefault: nil, medicalLimitMax: nil)

        /// Creates the terms.
        public init(
            reversalDays: Int, medicalLimitDefault: Money?, medicalLimitMax: Money?, settlementLimitDefault: Money? = nil,
            settlementLimitMax: Money? = nil, dailyLimitDefault: Money? = nil, dailyLimitMax: Money? = nil
        ) {
            self.reversalDays = reversalDays
            self.medicalLimitDefault = medicalLimitDefault
            self.medicalLimitMax = medicalLimitMax
            self.settlementLimitDefault = settlementLimitDefault
            self.settlementLimitMax = settlementLimitMax
            self.dailyLimitDefault = dailyLimitDefault
            self.dailyLimitMax = dailyLimitMax
        }

        enum CodingKeys: String, CodingKey {
            case reversalDays = "reversal_days"
            case medicalLimitDefault = "medical_limit_default_fen"
            case medicalLimitMax = "medical_limit_max_fen"
            case settlementLimitDefault = "settlement_limit_default_fen"
            case settlementLimitMax = "settlement_limit_max_fen"
            case dailyLimitDefault = "daily_limit_default_fen"
            case dailyLimitMax = "daily_limit_max_fen"
        }
    }

    /// The settlement terms, or their defaults.
    public var settlementTerms: SettlementTerms { settlement ?? .defaults }

    /// Where an authorizer must be registered.
    public enum Scope: String, Hashable, Sendable, Codable {
        /// In the policy's own pooling region.
        case city
        /// Anywhere in the policy region's province.
        case province
    }

    /// R-BIND-1.
    public struct AuthorizerRules: Hashable, Sendable, Codable {
        /// Where the authorizer must be registered.
        public var scope: Scope
        /// Whether the authorizer's account balance must be positive to bind.
        public var requirePositiveBalance: Bool

        enum CodingKeys: String, CodingKey {
            case scope
            case requirePositiveBalance = "require_positive_balance"
        }
    }

    /// R-BIND-2, R-BIND-4, R-BIND-8.
    public struct MemberRules: Hashable, Sendable, Codable {
        /// The insurance types a member may have (the member must also be in the same province).
        public var insuranceTypes: [InsuranceType]
        /// The relationships that may be bound.
        public var relationships: [Relationship]
        /// The most members one authorizer may have active or pending; nil for no limit.
        public var limit: Int?
        /// A child this many days old or younger who is not yet enrolled may be bound; nil: never.
        public var newbornDays: Int?

        enum CodingKeys: String, CodingKey {
            case insuranceTypes = "insurance_types"
            case relationships, limit
            case newbornDays = "newborn_days"
        }
    }

    /// R-BIND-5.
    public struct Materials: Hashable, Sendable, Codable {
        /// Versions of the commitment letter text that a binding may cite; empty: none required.
        public var commitmentVersions: [String]
        /// Whether both ID-card images must be uploaded before binding.
        public var idImages: Bool

        enum CodingKeys: String, CodingKey {
            case commitmentVersions = "commitment_versions"
            case idImages = "id_images"
        }

        /// Whether a signed commitment is required.
        public var requiresCommitment: Bool { !commitmentVersions.isEmpty }
    }

    /// R-BIND-6.
    public enum ReviewMode: String, Hashable, Sendable, Codable {
        /// Active at once.
        case immediate
        /// Pending until a reviewer approves.
        case reviewer
    }

    /// R-PAY-4 … R-PAY-7.
    public struct PaymentRules: Hashable, Sendable, Codable {
        /// The balance parts that may pay for family members, in the order they are drawn on.
        public var balanceParts: [BalancePart]
        /// Whether a shortfall may be paid through another channel (R-PAY-5).
        public var externalShortfall: Bool
        /// Whether the member's own personal account balance must be zero (R-PAY-6).
        public var memberBalanceMustBeZero: Bool
        /// Days after a late payment before benefits start (R-PAY-7).
        public var waitingPeriodDays: Int
        /// The most premium years one payment may cover.
        public var yearsPerPaymentMax: Int

        enum CodingKeys: String, CodingKey {
            case balanceParts = "balance_parts"
            case externalShortfall = "external_shortfall"
            case memberBalanceMustBeZero = "member_balance_must_be_zero"
            case waitingPeriodDays = "waiting_period_days"
            case yearsPerPaymentMax = "years_per_payment_max"
        }
    }

    /// The premium standard and collection window of one premium year.
    public struct PremiumYear: Hashable, Sendable, Codable {
        /// The premium year (benefits run 1 January … 31 December of it).
        public var year: Int
        /// The general standard; nil while the year's amount is not published.
        public var amount: Money?
        /// Amounts for special categories (e.g. `subsistence_allowance`) that pay differently.
        public var categoryAmounts: [String: Money]
        /// First day of the collection window (集中参保期), China time.
        public var windowStart: CivilDate
        /// Last day of the collection window, China time.
        public var windowEnd: CivilDate
        /// Where the values come from, or that they are inferred or demo data.
        public var note: String?

        enum CodingKeys: String, CodingKey {
            case year
            case amount = "amount_fen"
            case categoryAmounts = "category_amounts_fen"
            case windowStart = "window_start"
            case windowEnd = "window_end"
            case note
        }

        /// Creates a premium year.
        public init(
            year: Int, amount: Money?, categoryAmounts: [String: Money] = [:],
            windowStart: CivilDate, windowEnd: CivilDate, note: String? = nil
        ) {
            self.year = year
            self.amount = amount
            self.categoryAmounts = categoryAmounts
            self.windowStart = windowStart
            self.windowEnd = windowEnd
            self.note = note
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            year = try c.decode(Int.self, forKey: .year)
            amount = try c.decodeIfPresent(Money.self, forKey: .amount)
            categoryAmounts = try c.decodeIfPresent([String: Money].self, forKey: .categoryAmounts) ?? [:]
            windowStart = try c.decode(CivilDate.self, forKey: .windowStart)
            windowEnd = try c.decode(CivilDate.self, forKey: .windowEnd)
            note = try c.decodeIfPresent(String.self, forKey: .note)
        }
    }

    /// R-SUSP-1.
    public struct Availability: Hashable, Sendable, Codable {
        /// Whether family binding and payment are suspended.
        public var suspended: Bool
        /// Channels to name while suspended (e.g. WeChat mini program 内蒙古税务社保缴费).
        public var alternativeChannels: [String]
        /// The hotline to name while suspended.
        public var hotline: String?

        enum CodingKeys: String, CodingKey {
            case suspended
            case alternativeChannels = "alternative_channels"
            case hotline
        }

        /// Creates an availability.
        public init(suspended: Bool, alternativeChannels: [String], hotline: String?) {
            self.suspended = suspended
            self.alternativeChannels = alternativeChannels
            self.hotline = hotline
        }
    }

    /// The premium year entry for `year`, if the policy has one.
    public func premiumYear(_ year: Int) -> PremiumYear? { premiums.first { $0.year == year } }

    /// R-LTC-1: the long-term-care entry for `year`, if the region has one.
    public func longTermCareYear(_ year: Int) -> PremiumYear? { longTermCare?.first { $0.year == year } }

    /// Whether an authorizer registered in `region` falls under this policy.
    public func covers(authorizerRegion region: RegionCode) -> Bool {
        switch authorizer.scope {
        case .city: region == self.region
        case .province: region.isInSameProvince(as: self.region)
        }
    }
}
