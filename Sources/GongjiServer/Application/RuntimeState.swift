import GongjiCore
import Synchronization
import X509

/// Which certificate identities hold which roles (`roles` in the configuration).
public struct RoleBook: Sendable, Hashable {
    let rolesByIdentity: [String: Set<Role>]
    let institutionsByIdentity: [String: InstitutionScope]

    /// Builds the book from the configuration's role → identities map and, for `settlement`
    /// identities, identity → institution codes (`"*"`: all).
    public init(_ roles: [String: [String]], institutions: [String: [String]] = [:]) {
        var byIdentity: [String: Set<Role>] = [:]
        for (name, identities) in roles {
            guard let role = Role(rawValue: name) else { continue }
            for identity in identities { byIdentity[identity, default: []].insert(role) }
        }
        rolesByIdentity = byIdentity
        institutionsByIdentity = institutions.mapValues { $0.contains("*") ? .all : .only(Set($0)) }
    }

    /// The book of a configuration's `roles` and `settlement.institutions`.
    public init(_ config: GongjiConfig) {
        let institutions: [String: [String]] = if let settlement = config.settlement { settlement.institutions } else { [:] }
        self.init(config.roles, institutions: institutions)
    }

    /// The identity of a verified client certificate (its subject common name, else its first
    /// DNS name) and the roles configured for its common name or any of its DNS names.
    public func resolve(_ certificate: Certificate?) -> Caller {
        resolve(certificate.map(IdentityNames.init))
    }

    /// The caller named by a certificate's names (see `IdentityNames`); anonymous without them.
    public func resolve(_ identity: IdentityNames?) -> Caller {
        guard let identity else { return Caller(identity: "anonymous", roles: [], isAuthenticated: false) }
        var roles: Set<Role> = []
        var institutions = InstitutionScope.only([])
        for name in identity.names {
            roles.formUnion(rolesByIdentity[name] ?? [])
            switch (institutions, institutionsByIdentity[name]) {
            case (_, .all?): institutions = .all
            case (.only(let held), .only(let more)?): institutions = .only(held.union(more))
            default: break
            }
        }
        return Caller(identity: identity.names.first ?? "unnamed", roles: roles, isAuthenticated: true, institutions: institutions)
    }
}

/// Who is calling: the calling system's certificate identity and its roles.
public struct Caller: Sendable, Hashable {
    /// The certificate's subject common name (or first DNS name); `anonymous` without one.
    public var identity: String
    /// The configured roles of that identity.
    public var roles: Set<Role>
    /// Whether a verified client certificate was presented.
    public var isAuthenticated: Bool
    /// The institutions a `settlement` caller may act for.
    public var institutions: InstitutionScope = .only([])
}

/// State that operators change at run time (reload, availability) and every call reads.
public final class RuntimeState: Sendable {
    private struct Values: Sendable {
        var policies: PolicyBook
        var roles: RoleBook
        /// Counts the policy changes made here, so that a re-read of the stored switches that
        /// began before one of them never overwrites it with what it read.
        var generation = 0
    }

    private let values: Mutex<Values>
    /// The verified identity of each open connection.
    public let peers = PeerDirectory()

    /// Creates the state.
    public init(policies: PolicyBook, roles: RoleBook) {
        values = Mutex(Values(policies: policies, roles: roles))
    }

    /// The policies with the current availability switches applied.
    public var policies: PolicyBook { values.withLock { $0.policies } }
    /// The role book.
    public var roles: RoleBook { values.withLock { $0.roles } }

    /// How many policy changes were made here: `updatePolicies(ifGeneration:)` applies a change
    /// only if none came in between.
    public var generation: Int { values.withLock { $0.generation } }

    /// Replaces the policies (on reload or an availability switch).
    public func setPolicies(_ policies: PolicyBook) {
        values.withLock {
            $0.policies = policies
            $0.generation += 1
        }
    }
    /// Replaces the role book (on reload).
    public func setRoles(_ roles: RoleBook) { values.withLock { $0.roles = roles } }
    /// Changes the policy book atomically.
    public func updatePolicies(_ change: (PolicyBook) -> PolicyBook) {
        values.withLock {
            $0.policies = change($0.policies)
            $0.generation += 1
        }
    }
    /// Changes the policy book unless another change was made since `generation` was read;
    /// returns whether it did.
    @discardableResult
    public func updatePolicies(ifGeneration generation: Int, _ change: (PolicyBook) -> PolicyBook) -> Bool {
        values.withLock {
            guard $0.generation == generation else { return false }
            $0.policies = change($0.policies)
            return true
        }
    }
}
