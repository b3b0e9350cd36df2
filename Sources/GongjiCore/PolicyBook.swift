/// The loaded policies of all regions, and the choice of the one that governs an authorizer.
public struct PolicyBook: Hashable, Sendable {
    /// Policies by their region.
    public private(set) var policies: [RegionCode: RegionPolicy]

    /// Creates a book; two policies for one region are refused.
    public init(_ policies: [RegionPolicy]) throws(DomainError) {
        var byRegion: [RegionCode: RegionPolicy] = [:]
        for policy in policies {
            guard byRegion.updateValue(policy, forKey: policy.region) == nil else {
                throw .policyInvalid(field: "region", problem: "two policies for region \(policy.region)")
            }
        }
        self.policies = byRegion
    }

    /// The policy for an authorizer registered in `region`: the region's own policy, otherwise a
    /// policy of the same province whose authorizer scope is the whole province.
    public func policy(forAuthorizerIn region: RegionCode) -> RegionPolicy? {
        if let own = policies[region] { return own }
        return policies.values.sorted { $0.region < $1.region }.first { $0.covers(authorizerRegion: region) }
    }

    /// The policy of exactly this region.
    public func policy(of region: RegionCode) -> RegionPolicy? { policies[region] }

    /// The same book with one region's availability replaced (operators switch it at run time).
    public func settingAvailability(_ availability: RegionPolicy.Availability, for region: RegionCode) -> PolicyBook {
        var copy = self
        copy.policies[region]?.availability = availability
        return copy
    }
}
