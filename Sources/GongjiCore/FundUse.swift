/// What the family mutual-aid funds may be used for (R-SCOPE-1).
public enum FundUse: Hashable, Sendable {
    /// The member's resident premium.
    case premium(year: Int)
    /// A personal-burden cost at a provider, settled with someone's insurance credential.
    case providerCost(provider: ProviderKind, credentialHolder: ResidentID)

    /// Kinds of provider.
    public enum ProviderKind: String, Hashable, Sendable {
        /// 定点医疗机构.
        case designatedMedicalInstitution = "designated_medical_institution"
        /// 定点零售药店.
        case designatedRetailPharmacy = "designated_retail_pharmacy"
        /// Anything else (non-designated providers, shops, cash withdrawal …).
        case other
    }

    /// Decides whether the funds may pay this use for the member of `binding`: premiums, or costs
    /// at designated institutions and pharmacies settled with the member's own credential.
    public static func check(_ use: FundUse, binding: Binding) throws(DomainError) {
        guard binding.status == .active else { throw .bindingState(binding, expected: "active") }
        switch use {
        case .premium:
            return
        case .providerCost(.other, _):
            throw .payment(
                .fundUseOutOfScope, "family funds may pay only at designated medical institutions or retail pharmacies",
                "共济资金仅可用于定点医药机构的个人负担费用", category: .permissionDenied)
        case .providerCost(_, let holder):
            guard holder == binding.member else {
                throw .payment(
                    .credentialNotMembersOwn, "the member must use his or her own insurance credential",
                    "须使用被共济人本人的医保凭证", category: .permissionDenied)
            }
        }
    }
}
