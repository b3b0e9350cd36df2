import GongjiCore
import Testing

@Suite("Binding rules (R-BIND-*, R-ID-2)")
struct BindingRulesTests {
    let hohhot = ShippedPolicies.hohhot
    let ulanqab = ShippedPolicies.ulanqab
    let maanshan = ShippedPolicies.maanshanPublished
    let child = resident(childID, name: "王小明")

    func create(_ request: BindingRequest, _ facts: BindingFacts) throws -> Binding {
        try BindingRules.create(request, facts: facts, id: "new")
    }

    @Test("R-BIND-6 hohhot: a valid binding is active at once")
    func hohhotActiveAtOnce() throws {
        let binding = try create(bindingRequest(childID, name: "王小明"), bindingFacts(policy: hohhot, member: child))
        #expect(binding.status == .active)
        #expect(binding.region == .hohhot)
        #expect(binding.frontDocument == "f" && binding.backDocument == "b")
        #expect(binding.commitment?.version == "hohhot-2024-09")
    }

    @Test("R-BIND-6 maanshan: a binding is pending until a reviewer approves; rejection carries a reason")
    func maanshanReview() throws {
        let auth = employee(authorizerID, region: .maanshan)
        let member = resident(childID, name: "王小明", region: .maanshan)
        let pending = try create(bindingRequest(childID, name: "王小明"), bindingFacts(policy: maanshan, authorizer: auth, member: member))
        #expect(pending.status == .pending)
        #expect(pending.commitment == nil && pending.frontDocument == nil, "maanshan requires no materials: none kept")
        #expect(try BindingRules.review(pending, decision: .approve).status == .active)
        let rejected = try BindingRules.review(pending, decision: .reject(reason: "  照片模糊 "))
        #expect(rejected.status == .rejected)
        #expect(rejected.rejectionReason == "照片模糊")
        #expect(reason { try BindingRules.review(pending, decision: .reject(reason: "  ")) } == "INVALID_FIELD")
        #expect(reason { try BindingRules.review(rejected, decision: .approve) } == "BINDING_REJECTED")
        #expect(reason { try BindingRules.review(activeBinding(), decision: .approve) } == "BINDING_ACTIVE")
    }

    @Test(
        "R-BIND-1 the authorizer must be employee-insured, normal, and registered where the policy says",
        arguments: [
            (InsuranceType.resident, InsuranceStatus.normal, RegionCode.hohhot, "AUTHORIZER_NOT_EMPLOYEE_INSURED"),
            (.employee, .suspended, .hohhot, "AUTHORIZER_STATUS_NOT_NORMAL"),
            (.employee, .terminated, .hohhot, "AUTHORIZER_STATUS_NOT_NORMAL"),
            (.employee, .normal, .ulanqab, "AUTHORIZER_REGION_NOT_ALLOWED"),
        ])
    func authorizerRules(type: InsuranceType, status: InsuranceStatus, region: RegionCode, expected: String) {
        let auth = Person(id: authorizerID, name: "王建国", insuranceType: type, status: status, region: region)
        #expect(
            reason { try create(bindingRequest(childID, name: "王小明"), bindingFacts(policy: hohhot, authorizer: auth, member: child)) }
                == expected)
    }

    @Test("R-BIND-1 maanshan: an authorizer anywhere in Anhui with a positive balance")
    func maanshanAuthorizer() {
        let hefeiAuth = employee(authorizerID, region: .hefei)
        let member = resident(childID, name: "王小明", region: .maanshan)
        let request = bindingRequest(childID, name: "王小明")
        #expect(reason { try create(request, bindingFacts(policy: maanshan, authorizer: hefeiAuth, member: member)) } == nil)
        #expect(
            reason { try create(request, bindingFacts(policy: maanshan, authorizer: hefeiAuth, member: member, balance: .zero)) }
                == "AUTHORIZER_BALANCE_NOT_POSITIVE")
        #expect(
            reason { try create(request, bindingFacts(policy: maanshan, authorizer: hefeiAuth, member: member, balance: Money(fen: 1))) }
                == nil)
    }

    @Test("R-BIND-2 the member must be insured, normal, of an allowed type, in the same province")
    func memberRules() {
        let request = bindingRequest(childID, name: "王小明")
        func check(_ member: Person, _ policy: RegionPolicy, auth: Person? = nil) -> String? {
            reason { try create(request, bindingFacts(policy: policy, authorizer: auth, member: member)) }
        }
        // hohhot/ulanqab: resident-insured anywhere in Inner Mongolia.
        #expect(check(resident(childID, name: "王小明", region: .ulanqab), hohhot) == nil)
        #expect(check(resident(childID, name: "王小明", type: .employee), hohhot) == "MEMBER_INSURANCE_TYPE_NOT_ALLOWED")
        #expect(check(resident(childID, name: "王小明", status: .suspended), hohhot) == "MEMBER_STATUS_NOT_NORMAL")
        // Another province: only where the region takes part in cross-province aid (R-XP-1).
        var hohhot2025 = hohhot
        hohhot2025.crossProvince = nil
        #expect(check(resident(childID, name: "王小明", region: .maanshan), hohhot2025) == "CROSS_PROVINCE_NOT_ALLOWED")
        #expect(check(resident(childID, name: "王小明", type: .none), hohhot) == "MEMBER_NOT_INSURED")
        // maanshan: resident- or employee-insured anywhere in Anhui.
        let auth = employee(authorizerID, region: .maanshan)
        #expect(check(resident(childID, name: "王小明", region: .maanshan, type: .employee), maanshan, auth: auth) == nil)
    }

    @Test(
        "R-BIND-2 worked examples: maanshan binds a child insured in Hefei, not one insured in Hohhot (the 2025 policy, without cross-province aid)"
    )
    func maanshanProvinceExamples() {
        let auth = employee(authorizerID, region: .maanshan)
        let request = bindingRequest(childID, name: "王小明")
        var maanshan = self.maanshan
        maanshan.crossProvince = nil
        #expect(
            reason {
                try create(
                    request, bindingFacts(policy: maanshan, authorizer: auth, member: resident(childID, name: "王小明", region: .hefei)))
            } == nil)
        #expect(
            reason {
                try create(
                    request, bindingFacts(policy: maanshan, authorizer: auth, member: resident(childID, name: "王小明", region: .hohhot)))
            }
                == "CROSS_PROVINCE_NOT_ALLOWED")
    }

    @Test(
        "R-BIND-3 relationships must be plausible from birth dates; self-binding is rejected",
        arguments: [
            (childID, Relationship.child, nil as String?),
            (parentID, .parent, nil),
            (spouseID, .spouse, nil),
            (parentID, .child, "RELATIONSHIP_IMPLAUSIBLE"),
            (childID, .parent, "RELATIONSHIP_IMPLAUSIBLE"),
            (authorizerID, .spouse, "SELF_BINDING_NOT_ALLOWED"),
        ])
    func plausibility(member: ResidentID, relationship: Relationship, expected: String?) {
        let person = resident(member, name: "王某")
        #expect(
            reason {
                try create(bindingRequest(member, name: "王某", relationship: relationship), bindingFacts(policy: hohhot, member: person))
            } == expected)
    }

    @Test("R-BIND-3 a child born the same day as the authorizer is implausible")
    func sameBirthday() {
        let twin = rid("150102", born: "19800315", sequence: 555)
        #expect(
            reason { try create(bindingRequest(twin, name: "王某"), bindingFacts(policy: hohhot, member: resident(twin, name: "王某"))) }
                == "RELATIONSHIP_IMPLAUSIBLE")
    }

    @Test("R-BIND-3 at most one open binding per pair; a revoked or rejected one does not block")
    func duplicatePair() {
        let request = bindingRequest(childID, name: "王小明")
        for status in [BindingStatus.active, .pending] {
            #expect(
                reason { try create(request, bindingFacts(policy: hohhot, member: child, bindings: [activeBinding(status: status)])) }
                    == "BINDING_ALREADY_EXISTS")
        }
        for status in [BindingStatus.revoked, .rejected] {
            #expect(
                reason { try create(request, bindingFacts(policy: hohhot, member: child, bindings: [activeBinding(status: status)])) }
                    == nil)
        }
    }

    func otherBindings(_ count: Int, status: BindingStatus = .active) -> [Binding] {
        (0..<count).map { i in activeBinding(member: rid(born: "19900101", sequence: 100 + i), status: status, id: "b\(i)") }
    }

    @Test("R-BIND-4 hohhot: the 6th member is allowed, the 7th is rejected (worked example)")
    func memberLimit() throws {
        let request = bindingRequest(childID, name: "王小明")
        #expect(reason { try create(request, bindingFacts(policy: hohhot, member: child, bindings: otherBindings(5))) } == nil)
        #expect(
            reason { try create(request, bindingFacts(policy: hohhot, member: child, bindings: otherBindings(6))) }
                == "MEMBER_LIMIT_REACHED")
        let error = try #require(failure { try create(request, bindingFacts(policy: hohhot, member: child, bindings: otherBindings(6))) })
        #expect(error.details["limit"] == "6")
        #expect(error.category == .resourceExhausted)
        // Pending bindings count; revoked ones do not.
        #expect(
            reason { try create(request, bindingFacts(policy: hohhot, member: child, bindings: otherBindings(6, status: .pending))) }
                == "MEMBER_LIMIT_REACHED")
        #expect(
            reason { try create(request, bindingFacts(policy: hohhot, member: child, bindings: otherBindings(6, status: .revoked))) } == nil
        )
    }

    @Test("R-BIND-4 maanshan: no limit in the source, so none applies")
    func maanshanNoLimit() {
        let auth = employee(authorizerID, region: .maanshan)
        let member = resident(childID, name: "王小明", region: .maanshan)
        #expect(
            reason {
                try create(
                    bindingRequest(childID, name: "王小明"),
                    bindingFacts(policy: maanshan, authorizer: auth, member: member, bindings: otherBindings(20)))
            } == nil)
    }

    @Test("R-BIND-5 start date not before today; commitment and both images where required")
    func materials() {
        func check(_ request: BindingRequest, documents: [String: DocumentSide] = ["f": .front, "b": .back]) -> String? {
            reason { try create(request, bindingFacts(policy: hohhot, member: child, documents: documents)) }
        }
        var request = bindingRequest(childID, name: "王小明", start: today.adding(days: -1))
        #expect(check(request) == "START_DATE_IN_PAST")
        request = bindingRequest(childID, name: "王小明", start: today.adding(days: 30))
        #expect(check(request) == nil)
        request.commitment = nil
        #expect(check(request) == "COMMITMENT_REQUIRED")
        request.commitment = CommitmentAcceptance(version: "old", acceptedAtUnix: 1_700_000_000)
        #expect(check(request) == "COMMITMENT_VERSION_UNKNOWN")
        request.commitment = CommitmentAcceptance(version: "hohhot-2024-09", acceptedAtUnix: 4_000_000_000)
        #expect(check(request) == "COMMITMENT_TIME_INVALID")
        request = bindingRequest(childID, name: "王小明")
        request.backDocument = nil
        #expect(check(request) == "ID_IMAGES_REQUIRED")
        request.backDocument = "missing"
        #expect(check(request) == "DOCUMENT_NOT_FOUND")
        request.backDocument = "f"
        #expect(check(request) == "DOCUMENT_SIDE_MISMATCH")
    }

    @Test("R-BIND-5 the ID number and the name are validated")
    func requestValidation() {
        var request = bindingRequest(childID, name: "王小明")
        request.memberIDNumber = String(request.memberIDNumber.dropLast()) + "0"
        #expect(reason { try create(request, bindingFacts(policy: hohhot, member: child)) } == "ID_NUMBER_CHECK_FAILED")
        request = bindingRequest(childID, name: " ")
        #expect(reason { try create(request, bindingFacts(policy: hohhot, member: child)) } == "INVALID_FIELD")
        request = bindingRequest(childID, name: String(repeating: "王", count: 65))
        #expect(reason { try create(request, bindingFacts(policy: hohhot, member: child)) } == "INVALID_FIELD")
    }

    @Test("R-ID-2 the name must match the registered name of the ID number")
    func nameMustMatch() {
        #expect(reason { try create(bindingRequest(childID, name: "王小红"), bindingFacts(policy: hohhot, member: child)) } == "NAME_MISMATCH")
        #expect(reason { try create(bindingRequest(childID, name: " 王小明 "), bindingFacts(policy: hohhot, member: child)) } == nil)
        #expect(
            reason { try create(bindingRequest(childID, name: "王小明"), bindingFacts(policy: hohhot, member: nil)) } == "MEMBER_NOT_FOUND")
    }

    @Test("R-BIND-7 the authorizer can revoke; R-BIND-10 the member can withdraw; others cannot; the record says who")
    func revoke() throws {
        let binding = activeBinding()
        #expect(reason { try BindingRules.revoke(binding, actor: spouseID) } == "NOT_PARTY")
        let revoked = try BindingRules.revoke(binding, actor: authorizerID)
        #expect(revoked.status == .revoked && revoked.endedBy == .authorizer)
        #expect(revoked.id == binding.id && revoked.member == binding.member)
        #expect(reason { try BindingRules.revoke(revoked, actor: authorizerID) } == "BINDING_REVOKED")
        #expect(try BindingRules.revoke(activeBinding(status: .pending), actor: authorizerID).status == .revoked)
        let withdrawn = try BindingRules.revoke(binding, actor: childID)
        #expect(withdrawn.status == .revoked && withdrawn.endedBy == .member)
        #expect(reason { try BindingRules.revoke(withdrawn, actor: childID) } == "BINDING_REVOKED")
    }

    @Test("R-BIND-11 a registry change ends the open bindings it no longer allows, with the reason")
    func registryEnds() {
        let open = [activeBinding(id: "a"), activeBinding(status: .pending, id: "p"), activeBinding(status: .revoked, id: "r")]
        let nowResident = Person(id: authorizerID, name: "王建国", insuranceType: .resident, status: .normal, region: .hohhot)
        let ended = BindingRules.endedByRegistry(nowResident, open: open)
        #expect(ended.map(\.id) == ["a", "p"])
        #expect(ended.allSatisfy { $0.status == .revoked && $0.endedBy == .registry && $0.endReason == "AUTHORIZER_NOT_EMPLOYEE_INSURED" })
        let suspended = Person(id: authorizerID, name: "王建国", insuranceType: .employee, status: .suspended, region: .hohhot)
        #expect(
            BindingRules.endedByRegistry(suspended, open: open).map(\.endReason) == [
                "AUTHORIZER_STATUS_NOT_NORMAL", "AUTHORIZER_STATUS_NOT_NORMAL",
            ])
        #expect(BindingRules.endedByRegistry(employee(authorizerID), open: open).isEmpty, "still employee-insured and normal")
        let terminated = resident(childID, name: "王小明", status: .terminated)
        #expect(BindingRules.endedByRegistry(terminated, open: open).map(\.endReason) == ["MEMBER_TERMINATED", "MEMBER_TERMINATED"])
        #expect(
            BindingRules.endedByRegistry(resident(childID, name: "王小明", status: .suspended), open: open).isEmpty,
            "a suspended member keeps the binding")
        let payment = reason {
            try PremiumRules.pay(
                years: [2025], expectedTotal: .yuan(405), external: nil,
                facts: premiumFacts(
                    policy: ShippedPolicies.hohhot,
                    binding: BindingRules.endedByRegistry(nowResident, open: [open[0]])[0],
                    current: .yuan(1000)))
        }
        #expect(payment == "BINDING_REVOKED")
    }

    @Test("R-BIND-2a close relatives: grandparents, grandchildren and siblings where the policy lists them; R-BIND-3 plausibility")
    func closeRelatives() {
        var extended = hohhot
        extended.member.relationships = Relationship.allCases
        let grandchild = resident(rid("150102", born: "20150101", sequence: 555), name: "王孙")
        let grandparent = resident(rid("150102", born: "19300101", sequence: 556), name: "王祖")
        let sibling = resident(rid("150102", born: "19850101", sequence: 557), name: "王弟")
        func bind(_ person: Person, _ relationship: Relationship, _ policy: RegionPolicy) -> String? {
            reason {
                try create(
                    bindingRequest(person.id, name: person.name, relationship: relationship), bindingFacts(policy: policy, member: person))
            }
        }
        #expect(bind(grandchild, .grandchild, hohhot) == "RELATIONSHIP_NOT_ALLOWED", "the shipped regions keep spouse, parent, child")
        #expect(bind(grandchild, .grandchild, extended) == nil)
        #expect(bind(grandparent, .grandparent, extended) == nil)
        #expect(bind(sibling, .sibling, extended) == nil)
        #expect(bind(grandparent, .grandchild, extended) == "RELATIONSHIP_IMPLAUSIBLE")
        #expect(bind(grandchild, .grandparent, extended) == "RELATIONSHIP_IMPLAUSIBLE")
        #expect(bind(grandparent, .sibling, extended) == nil, "siblings have no order of birth")
    }

    @Test("R-BIND-8 ulanqab: a not-yet-enrolled child on the 90th day is bound, on the 91st is not")
    func newborn() throws {
        let born = today.adding(days: -90)
        let baby = rid("150902", born: born.description.filter { $0 != "-" }, sequence: 11)
        let person = resident(baby, name: "王宝宝", region: .ulanqab, type: .none)
        let request = bindingRequest(baby, name: "王宝宝", version: "ulanqab-2024-09")
        let auth = employee(authorizerID, region: .ulanqab)
        let binding = try create(request, bindingFacts(policy: ulanqab, authorizer: auth, member: person))
        #expect(binding.isNewborn)
        // One day past the window: its own reason, with the values that explain it.
        let late = failure {
            try create(request, bindingFacts(policy: ulanqab, authorizer: auth, member: person, on: today.adding(days: 1)))
        }
        #expect(late?.reason == .newbornWindowPassed)
        #expect(late?.details["newborn_days"] == "90" && late?.details["age_days"] == "91", "\(String(describing: late))")
        #expect(
            reason {
                try create(
                    bindingRequest(baby, name: "王宝宝", relationship: .spouse, version: "ulanqab-2024-09"),
                    bindingFacts(policy: ulanqab, authorizer: auth, member: person))
            } == "MEMBER_NOT_INSURED")
        // hohhot has no newborn rule.
        #expect(
            reason {
                try create(
                    bindingRequest(baby, name: "王宝宝"), bindingFacts(policy: hohhot, member: resident(baby, name: "王宝宝", type: .none)))
            } == "MEMBER_NOT_INSURED")
    }

    @Test("R-BIND-9 several children: one member per binding, each bound separately")
    func severalChildren() throws {
        let second = rid(born: "20120202", sequence: 246)
        let first = try create(bindingRequest(childID, name: "王小明"), bindingFacts(policy: hohhot, member: child))
        let other = try create(
            bindingRequest(second, name: "王小红"),
            bindingFacts(policy: hohhot, member: resident(second, name: "王小红"), bindings: [first]))
        #expect(first.member == childID && other.member == second)
    }

    @Test("R-SUSP-1 binding fails as unavailable while the region is suspended, naming the alternatives")
    func suspended() throws {
        let policy = ShippedPolicies.load("ulanqab")
        let auth = employee(authorizerID, region: .ulanqab)
        do {
            let error = try #require(
                failure {
                    try create(
                        bindingRequest(childID, name: "王小明", version: "ulanqab-2024-09"),
                        bindingFacts(policy: policy, authorizer: auth, member: resident(childID, name: "王小明", region: .ulanqab)))
                })
            #expect(error.reason == .familyPaymentSuspended)
            #expect(error.category == .unavailable)
            #expect(error.details["hotline"] == "12393")
            #expect(error.alternatives.contains { $0.contains("内蒙古税务社保缴费") })
            #expect(error.alternatives.contains { $0.contains("蒙速办") })
            #expect(error.alternatives.contains { $0.contains("支付宝") })
            #expect(error.messageZH.contains("12393"))
        }
    }

    @Test("an authorizer whose region has no policy is refused with a reason naming the authorizer's region")
    func noPolicy() {
        var facts = bindingFacts(policy: hohhot, member: child)
        facts.policy = nil
        let refused = failure { try create(bindingRequest(childID, name: "王小明"), facts) }
        #expect(refused?.reason == .authorizerRegionNotSupported)
        #expect(refused?.details["party"] == "authorizer" && refused?.details["region"] != nil)
    }
}

@Suite("Parties and credits")
struct PartyAndCreditTests {
    @Test("R-PAY-10 only the authorizer and the member see a binding's records")
    func parties() {
        #expect(reason { try PartyRules.requireParty(authorizerID, authorizer: authorizerID, member: childID, of: "payment") } == nil)
        #expect(reason { try PartyRules.requireParty(childID, authorizer: authorizerID, member: childID, of: "payment") } == nil)
        #expect(reason { try PartyRules.requireParty(spouseID, authorizer: authorizerID, member: childID, of: "payment") } == "NOT_PARTY")
    }

    @Test(
        "R-ACCT-1 a credit is 1 fen … 10^14 fen with a 1…64 character reference",
        arguments: [
            (Int64(1), "HS-1", nil as String?), (0, "HS-1", "AMOUNT_OUT_OF_RANGE"), (-5, "HS-1", "AMOUNT_OUT_OF_RANGE"),
            (Money.max.fen + 1, "HS-1", "AMOUNT_OUT_OF_RANGE"), (100, "  ", "INVALID_FIELD"),
            (100, String(repeating: "r", count: 65), "INVALID_FIELD"),
        ])
    func credits(fen: Int64, reference: String, expected: String?) {
        #expect(reason { try CreditRules.validate(amount: Money(fen: fen), reference: reference) } == expected)
    }
}
