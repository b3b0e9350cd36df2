import Foundation
import GongjiCore

/// A fixed "today" for rule tests: inside the 2025 collection windows of all three regions.
let today = CivilDate(year: 2024, month: 10, day: 15)!

/// Builds a valid ID number from a registration code, a birth date and a sequence number.
func idNumber(_ code: String = "150102", born: String, sequence: Int = 123) -> String {
    var seq = String(sequence)
    while seq.count < 3 { seq = "0" + seq }
    let body = code + born + seq
    let digits = body.map { Int(String($0))! }
    return body + String(ResidentID.checkCharacter(for: digits))
}

func rid(_ code: String = "150102", born: String, sequence: Int = 123) -> ResidentID {
    try! ResidentID.parse(idNumber(code, born: born, sequence: sequence), today: today)
}

/// The shipped policy files of deploy/policies.
enum ShippedPolicies {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("deploy/policies")

    static func load(_ name: String) -> RegionPolicy {
        let url = directory.appendingPathComponent("\(name).json5")
        return try! RegionPolicy.decode(json5: try! Data(contentsOf: url), source: url.lastPathComponent)
    }

    static var hohhot: RegionPolicy { load("hohhot") }
    /// Ulanqab as shipped starts suspended; rule tests use it resumed.
    static var ulanqab: RegionPolicy {
        var policy = load("ulanqab")
        policy.availability.suspended = false
        return policy
    }
    /// Ma'anshan with a published 2025 amount (test value: the source publishes none).
    static var maanshanPublished: RegionPolicy {
        var policy = load("maanshan")
        policy.premiums[0].amount = .yuan(380)
        return policy
    }
}

func employee(
    _ id: ResidentID, name: String = "王建国", region: RegionCode = .hohhot,
    status: InsuranceStatus = .normal
) -> Person {
    Person(id: id, name: name, insuranceType: .employee, status: status, region: region)
}

func resident(
    _ id: ResidentID, name: String, region: RegionCode = .hohhot, status: InsuranceStatus = .normal,
    category: String? = nil, type: InsuranceType = .resident
) -> Person {
    Person(id: id, name: name, insuranceType: type, status: status, region: region, specialCategory: category)
}

let authorizerID = rid("150102", born: "19800315", sequence: 131)
let childID = rid("150102", born: "20100601", sequence: 242)
let parentID = rid("150102", born: "19550101", sequence: 311)
let spouseID = rid("150102", born: "19820707", sequence: 422)

/// Facts for a binding decision in `policy`'s region, with sensible defaults.
func bindingFacts(
    policy: RegionPolicy, authorizer: Person? = nil, member: Person?, bindings: [Binding] = [],
    balance: Money = .yuan(1000), documents: [String: DocumentSide] = ["f": .front, "b": .back],
    on date: CivilDate = today
) -> BindingFacts {
    let auth = authorizer ?? employee(authorizerID, region: policy.region)
    return BindingFacts(
        actor: auth.id, authorizer: auth, authorizerAccount: PersonalAccount(owner: auth.id, year: 2024, carryOver: balance),
        member: member, authorizerBindings: bindings, documents: documents, policy: policy, today: date)
}

/// A complete request for the member, with materials for any region.
func bindingRequest(
    _ member: ResidentID, name: String, relationship: Relationship = .child,
    start: CivilDate = today, version: String = "hohhot-2024-09"
) -> BindingRequest {
    BindingRequest(
        memberIDNumber: member.value, memberName: name, relationship: relationship, startDate: start,
        commitment: CommitmentAcceptance(version: version, acceptedAtUnix: 1_728_900_000),
        frontDocument: "f", backDocument: "b")
}

func activeBinding(
    member: ResidentID = childID, region: RegionCode = .hohhot, status: BindingStatus = .active,
    start: CivilDate = CivilDate(year: 2024, month: 1, day: 1)!, id: String = "b1", newborn: Bool = false
) -> Binding {
    Binding(
        id: id, authorizer: authorizerID, member: member, memberName: "王小明", relationship: .child,
        region: region, startDate: start, status: status, isNewborn: newborn)
}

/// Facts for a premium decision.
func premiumFacts(
    policy: RegionPolicy, binding: Binding? = nil, member: Person? = nil,
    current: Money = .zero, carryOver: Money = .zero, memberAccount: PersonalAccount? = nil,
    paid: Set<Int> = [], actor: ResidentID = authorizerID, on date: CivilDate = today
) -> PremiumFacts {
    let binding = binding ?? activeBinding(region: policy.region)
    return PremiumFacts(
        binding: binding, actor: actor, authorizer: employee(authorizerID, region: policy.region),
        authorizerAccount: PersonalAccount(owner: authorizerID, year: 2024, currentYear: current, carryOver: carryOver),
        member: member ?? resident(binding.member, name: "王小明", region: policy.region),
        memberAccount: memberAccount, paidYears: paid, policy: policy, memberPolicy: policy, today: date)
}

/// Runs a throwing core call and returns the domain error's reason, or nil on success.
func reason<T>(_ body: () throws -> T) -> String? {
    do {
        _ = try body()
        return nil
    } catch let error as DomainError { return error.reason.name } catch { return "\(error)" }
}

/// Runs a throwing core call and returns the domain error, or nil on success.
func failure<T>(_ body: () throws -> T) -> DomainError? {
    do {
        _ = try body()
        return nil
    } catch { return error as? DomainError }
}

extension PremiumRules {
    /// A payment of `years` through the facts' binding (the tests' shorthand for an order).
    static func pay(years: [Int], expectedTotal: Money, external: ExternalPayment?, facts: PremiumFacts) throws(DomainError) -> PaymentPlan
    {
        try pay(
            PaymentOrder(bindingID: facts.binding.id, years: years, expectedTotal: expectedTotal, external: external),
            paymentID: "p1", facts: facts)
    }
}
