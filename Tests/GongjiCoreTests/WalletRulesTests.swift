import Foundation
import Testing

@testable import GongjiCore

/// R-XP-1 … R-XP-4, R-XP-6: cross-province aid through the member's wallet, pure (the clock is an input).
@Suite("R-XP cross-province wallet")
struct WalletRulesTests {
    static let haikou = RegionCode(460_100)!
    static let mother = rid("460100", born: "19550101", sequence: 122)
    static let hohhot = ShippedPolicies.hohhot

    /// `hh:mm:ss` China time on `day`.
    static func at(_ hour: Int, _ minute: Int, _ second: Int = 0, on day: CivilDate = today) -> Int64 {
        ClockTime(hour: hour, minute: minute)!.unixSeconds(on: day) + Int64(second)
    }

    static let binding = Binding(
        id: "b-xp", authorizer: authorizerID, member: mother, memberName: "李秀兰", relationship: .parent, region: .hohhot,
        startDate: today, status: .active)

    static func facts(
        now: Int64 = at(10, 0), sentToday: Int = 0, pending: [WalletTransfer] = [], wallet: Bool = true,
        account: PersonalAccount = PersonalAccount(owner: authorizerID, year: 2024, currentYear: .yuan(3000), carryOver: .yuan(1000)),
        binding: Binding = binding, policy: RegionPolicy = hohhot, memberRegion: RegionCode = haikou
    ) -> TransferFacts {
        TransferFacts(
            actor: authorizerID, binding: binding, authorizer: employee(authorizerID), account: account,
            member: resident(mother, name: "李秀兰", region: memberRegion),
            wallet: wallet ? Wallet(member: mother, province: memberRegion.province, openedAt: at(9, 0)) : nil, sentToday: sentToday,
            pending: pending, policy: policy, now: now)
    }

    static func send(_ amount: Money, _ facts: TransferFacts = facts(), id: String = "t1") throws -> (WalletTransfer, [Write]) {
        let sent = try WalletRules.transfer(amount, id: id, facts: facts)
        #expect(sent.writes.contains(.account(sent.account)), "the account answered is the one written")
        return (sent.transfer, sent.writes)
    }

    static func sums(_ writes: [Write]) -> [String: Money] {
        var totals: [String: Money] = [:]
        for case .ledger(let movement) in writes {
            #expect(Money.sum(movement.entries.map(\.amount)) == .zero, "\(movement.name) sums to zero")
            for entry in movement.entries { totals[entry.account] = (totals[entry.account] ?? .zero).adding(entry.amount)! }
        }
        return totals
    }

    @Test("R-XP-1 a hohhot authorizer binds his mother insured in Hainan: allowed where the region takes part, refused where it does not")
    func crossProvinceBinding() {
        let request = bindingRequest(Self.mother, name: "李秀兰", relationship: .parent)
        let member = resident(Self.mother, name: "李秀兰", region: Self.haikou)
        #expect(reason { try BindingRules.create(request, facts: bindingFacts(policy: Self.hohhot, member: member), id: "b") } == nil)
        var policy = Self.hohhot
        policy.crossProvince = nil
        #expect(
            reason { try BindingRules.create(request, facts: bindingFacts(policy: policy, member: member), id: "b") }
                == "CROSS_PROVINCE_NOT_ALLOWED")
        #expect(Self.hohhot.crossProvince == .published)
        #expect(
            ShippedPolicies.maanshanPublished.takesPartCrossProvince && ShippedPolicies.ulanqab.takesPartCrossProvince,
            "the shipped policies take part")
    }

    static var haikouPolicy: RegionPolicy { ShippedPolicies.load("haikou") }

    static func premiumFacts(actor: ResidentID = authorizerID, holding: WalletHolding?) -> PremiumFacts {
        PremiumFacts(
            binding: Self.binding, actor: actor, authorizer: employee(authorizerID),
            authorizerAccount: PersonalAccount(owner: authorizerID, year: 2024, currentYear: .yuan(3000)),
            member: resident(Self.mother, name: "李秀兰", region: Self.haikou), memberAccount: nil, paidYears: [], policy: Self.hohhot,
            memberPolicy: Self.haikouPolicy, today: today, walletHolding: holding)
    }

    @Test("R-XP-1 across provinces the money goes through the wallet: no direct family part at a settlement, no premium from the account")
    func noDirectUse() throws {
        let member = resident(Self.mother, name: "李秀兰", region: Self.haikou)
        // Nothing in the wallet: the account's 3,000.00 does not count.
        let quote = try PremiumRules.quote(years: [2025], facts: Self.premiumFacts(holding: nil))
        #expect(quote.available == .zero && quote.total == .yuan(400))
        #expect(
            reason {
                try PremiumRules.pay(
                    PaymentOrder(bindingID: "b-xp", years: [2025], expectedTotal: .yuan(400), external: nil), paymentID: "p",
                    facts: Self.premiumFacts(holding: nil))
            } == "BALANCE_INSUFFICIENT")
        let patient = PersonRecord(person: member, paidYears: [], account: nil)
        let split = try SettlementRules.preSettle(
            Settle.order(.yuan(100), patient: Self.mother),
            facts: Settle.facts(
                patient: patient,
                bindings: [
                    FamilyBinding(
                        binding: Self.binding,
                        authorizerAccount: PersonalAccount(owner: authorizerID, year: 2024, currentYear: .yuan(3000)),
                        policy: Self.hohhot, usedThisYear: .zero)
                ]))
        #expect(split.acctMulaidPay == .zero && split.cashPay == .yuan(100))
        #expect(split.family.map(\.note) == [.crossProvinceWallet] && split.familyZeroNote == .crossProvinceWallet)
    }

    @Test(
        "R-XP-5 worked example: the mother's wallet holds 500.00 from her son; her 2025 Haikou premium of 400.00 is paid from it — by her or by him — to Haikou's collection; his account is untouched"
    )
    func premiumFromWallet() throws {
        let holding = WalletHolding(
            member: Self.mother, bindingID: "b-xp", authorizer: authorizerID, currentYear: .yuan(100), carryOver: .yuan(400),
            provinces: ProvincePair(from: RegionCode(150_000)!, to: RegionCode(460_000)!))
        let order = PaymentOrder(bindingID: "b-xp", years: [2025], expectedTotal: .yuan(400), external: nil)
        for actor in [authorizerID, Self.mother] {
            let plan = try PremiumRules.pay(order, paymentID: "p1", facts: Self.premiumFacts(actor: actor, holding: holding))
            #expect(plan.postings == [Posting(part: .carryOver, amount: .yuan(400))])
            #expect(plan.walletHolding?.total == .yuan(100) && plan.authorizerAccount.total == .yuan(3000))
            #expect(plan.movement.entries.contains(LedgerEntry(LedgerAccount.premiumCollection(Self.haikou), .yuan(400))))
            #expect(
                plan.movement.entries.contains(LedgerEntry(LedgerAccount.wallet(Self.mother, binding: "b-xp", .carryOver), .yuan(-400))))
            let (writes, row) = plan.writeSet(now: 1)
            #expect(row.record.fromWallet && writes.recordsEveryEvent)
            #expect(
                writes.writes.contains { if case .walletMovement(let m) = $0 { m.kind == .spent && m.amount == .yuan(400) } else { false } }
            )
        }
        #expect(
            reason { try PremiumRules.pay(order, paymentID: "p1", facts: Self.premiumFacts(actor: spouseID, holding: holding)) }
                == "NOT_AUTHORIZER")
    }

    @Test("R-XP-2 a wallet is opened by the insured member; opening it again answers it as it is")
    func openWallet() throws {
        let member = resident(Self.mother, name: "李秀兰", region: Self.haikou)
        let (wallet, writes, opened) = try WalletRules.open(member: member, actor: Self.mother, existing: nil, now: 100)
        #expect(opened && wallet.province == RegionCode(460_000)! && writes == [.wallet(wallet)])
        let again = try WalletRules.open(member: member, actor: Self.mother, existing: wallet, now: 200)
        #expect(!again.opened && again.writes.isEmpty && again.wallet.openedAt == 100)
        #expect(reason { try WalletRules.open(member: nil, actor: Self.mother, existing: nil, now: 1) } == "PERSON_NOT_FOUND")
        var terminated = member
        terminated.status = .terminated
        #expect(reason { try WalletRules.open(member: terminated, actor: Self.mother, existing: nil, now: 1) } == "MEMBER_NOT_INSURED")
        #expect(reason { try Self.send(.yuan(100), Self.facts(wallet: false)) } == "WALLET_NOT_OPEN")
    }

    @Test(
        "R-XP-3 a transfer leaves the authorizer's balance at once, from the region's parts in order, held pending; the ledger sums to zero"
    )
    func transferMovesMoney() throws {
        let (sent, writes) = try Self.send(.yuan(1500))
        // Hohhot draws carry-over first: 1,000.00 carry-over, then 500.00 current-year.
        #expect(sent.carryOver == .yuan(1000) && sent.currentYear == .yuan(500) && sent.storedStatus == .pending)
        #expect(sent.returnDueAt == Self.at(6, 0, on: today.adding(days: 1)), "06:00 China time the next day")
        #expect(sent.fromProvince == RegionCode(150_000)! && sent.toProvince == RegionCode(460_000)!)
        #expect(writes.contains(.account(PersonalAccount(owner: authorizerID, year: 2024, currentYear: .yuan(2500), carryOver: .zero))))
        let totals = Self.sums(writes)
        #expect(totals[LedgerAccount.person(authorizerID, .carryOver)] == .yuan(-1000))
        #expect(totals[LedgerAccount.pendingTransfer("t1", .carryOver)] == .yuan(1000))
        #expect(totals[LedgerAccount.pendingTransfer("t1", .currentYear)] == .yuan(500))
        #expect(WriteSet(writes, now: 0).recordsEveryEvent && WriteSet(writes, now: 0).events.map(\.kind) == [.walletTransferSent])
        #expect(
            reason {
                try Self.send(.yuan(1500), Self.facts(account: PersonalAccount(owner: authorizerID, year: 2024, carryOver: .yuan(1000))))
            }
                == "BALANCE_INSUFFICIENT")
        // Ma'anshan lets family use carry-over only: a transfer never touches the current year.
        var carryOnly = Self.hohhot
        carryOnly.payment.balanceParts = [.carryOver]
        #expect(reason { try Self.send(.yuan(1001), Self.facts(policy: carryOnly)) } == "BALANCE_INSUFFICIENT")
        #expect(try Self.send(.yuan(1000), Self.facts(policy: carryOnly)).0.currentYear == .zero)
    }

    @Test("R-XP-3 boundaries: 2,000.00 passes, 2,000.01 does not; the 3rd transfer of a day passes, the 4th does not")
    func transferLimits() throws {
        #expect(reason { try Self.send(.yuan(2000)) } == nil)
        #expect(reason { try Self.send(Money(fen: 200_001)) } == "TRANSFER_ABOVE_MAXIMUM")
        #expect(reason { try Self.send(.zero) } == "AMOUNT_OUT_OF_RANGE")
        #expect(reason { try Self.send(.yuan(10), Self.facts(sentToday: 2)) } == nil)
        #expect(reason { try Self.send(.yuan(10), Self.facts(sentToday: 3)) } == "TRANSFERS_PER_DAY_REACHED")
    }

    @Test(
        "R-XP-3 quiet hours, China time: 21:59:59 passes, 22:00:00 does not, 05:59:59 does not, 06:00:00 passes",
        arguments: [
            ((21, 59, 59), true), ((22, 0, 0), false), ((23, 30, 0), false), ((0, 0, 0), false), ((5, 59, 59), false), ((6, 0, 0), true),
        ]
    )
    func quietHours(time: (Int, Int, Int), allowed: Bool) {
        let now = Self.at(time.0, time.1, time.2)
        #expect((reason { try Self.send(.yuan(10), Self.facts(now: now)) } == nil) == allowed)
        if !allowed { #expect(reason { try Self.send(.yuan(10), Self.facts(now: now)) } == "TRANSFER_QUIET_HOURS") }
    }

    @Test("R-XP-3 only the authorizer of an active, started, unfrozen cross-province binding sends")
    func whoMaySend() {
        var facts = Self.facts()
        facts.actor = Self.mother
        #expect(reason { try Self.send(.yuan(10), facts) } == "NOT_AUTHORIZER")
        facts.actor = spouseID
        #expect(reason { try Self.send(.yuan(10), facts) } == "NOT_PARTY")
        var frozen = Self.binding
        frozen.isFrozen = true
        #expect(reason { try Self.send(.yuan(10), Self.facts(binding: frozen)) } == "FAMILY_USE_FROZEN")
        var ended = Self.binding
        ended.status = .revoked
        #expect(reason { try Self.send(.yuan(10), Self.facts(binding: ended)) } == "BINDING_REVOKED")
        #expect(reason { try Self.send(.yuan(10), Self.facts(memberRegion: .ulanqab)) } == "NOT_CROSS_PROVINCE")
        var suspended = Self.hohhot
        suspended.availability.suspended = true
        #expect(reason { try Self.send(.yuan(10), Self.facts(policy: suspended)) } == "FAMILY_PAYMENT_SUSPENDED")
    }

    @Test("R-XP-4 one pending transfer per member; accepting puts it in the wallet by origin part; declining returns it")
    func acceptAndDecline() throws {
        let (sent, _) = try Self.send(.yuan(1500))
        #expect(reason { try Self.send(.yuan(10), Self.facts(pending: [sent]), id: "t2") } == "TRANSFER_PENDING")
        let accepted = try WalletRules.answer(
            .accept, transfer: sent, actor: Self.mother, binding: Self.binding, holding: nil, account: nil, now: Self.at(12, 0))
        #expect(accepted.transfer.storedStatus == .accepted && accepted.transfer.resolvedAt == Self.at(12, 0))
        #expect(
            accepted.writes.contains(
                .walletHolding(
                    WalletHolding(
                        member: Self.mother, bindingID: "b-xp", authorizer: authorizerID, currentYear: .yuan(500), carryOver: .yuan(1000),
                        provinces: ProvincePair(from: RegionCode(150_000)!, to: RegionCode(460_000)!))))
        )
        #expect(
            accepted.writes.contains(
                .walletMovement(
                    WalletMovement(
                        kind: .granted, provinces: ProvincePair(from: RegionCode(150_000)!, to: RegionCode(460_000)!), amount: .yuan(1500),
                        bindingID: "b-xp", reference: "t1"))))
        let totals = Self.sums(accepted.writes)
        #expect(totals[LedgerAccount.wallet(Self.mother, binding: "b-xp", .carryOver)] == .yuan(1000))
        #expect(totals[LedgerAccount.pendingTransfer("t1", .carryOver)] == .yuan(-1000))
        #expect(WriteSet(accepted.writes, now: 0).recordsEveryEvent)
        // Answered already; only the member answers.
        #expect(
            reason {
                try WalletRules.answer(
                    .decline, transfer: accepted.transfer, actor: Self.mother, binding: Self.binding, holding: nil, account: nil, now: 1)
            } == "TRANSFER_NOT_PENDING")
        #expect(
            reason {
                try WalletRules.answer(
                    .accept, transfer: sent, actor: authorizerID, binding: Self.binding, holding: nil, account: nil, now: 1)
            } == "NOT_MEMBER")
        let account = PersonalAccount(owner: authorizerID, year: 2024, currentYear: .yuan(2500))
        let declined = try WalletRules.answer(
            .decline, transfer: sent, actor: Self.mother, binding: Self.binding, holding: nil, account: account, now: Self.at(12, 0))
        #expect(declined.transfer.storedStatus == .declined)
        #expect(
            declined.writes.contains(
                .account(PersonalAccount(owner: authorizerID, year: 2024, currentYear: .yuan(3000), carryOver: .yuan(1000)))))
        #expect(WriteSet(declined.writes, now: 0).events.map(\.kind) == [.walletTransferDeclined])
    }

    @Test("R-XP-4 return at 06:00 the next day: pending at 05:59:59, returned from 06:00:00 exactly, to the part it came from, once")
    func returnAtSix() throws {
        let (sent, _) = try Self.send(.yuan(1500))
        let six = Self.at(6, 0, on: today.adding(days: 1))
        #expect(sent.status(at: six - 1) == .pending && sent.status(at: six) == .returned)
        #expect(sent.resolved(at: six + 3600) == six, "reads as returned at its return time before the job runs")
        #expect(
            reason {
                try WalletRules.answer(
                    .accept, transfer: sent, actor: Self.mother, binding: Self.binding, holding: nil, account: nil, now: six)
            }
                == "TRANSFER_NOT_PENDING")
        let account = PersonalAccount(owner: authorizerID, year: 2024, currentYear: .yuan(2500))
        #expect(try WalletRules.returnDue([sent], accounts: [account], now: six - 1).isEmpty, "not due at 05:59:59")
        let writes = try WalletRules.returnDue([sent], accounts: [account], now: six)
        #expect(
            writes.contains(.account(PersonalAccount(owner: authorizerID, year: 2024, currentYear: .yuan(3000), carryOver: .yuan(1000)))))
        var returned = sent
        returned.storedStatus = .returned
        returned.resolvedAt = six
        #expect(writes.contains(.walletTransfer(returned)))
        #expect(try WalletRules.returnDue([returned], accounts: [account], now: six + 60).isEmpty, "a returned transfer returns once")
        // After the year rolled over, the current-year part goes back to carry-over (as a reversal's).
        let rolled = PersonalAccount(owner: authorizerID, year: 2025, currentYear: .zero, carryOver: .yuan(2500))
        let later = try WalletRules.returnDue([sent], accounts: [rolled], now: six)
        #expect(later.contains(.account(PersonalAccount(owner: authorizerID, year: 2025, currentYear: .zero, carryOver: .yuan(4000)))))
        // A transfer past its return time no longer blocks the next: it goes back first, in the same write-set.
        let next = try Self.send(.yuan(100), Self.facts(now: six + 3600, pending: [sent], account: account), id: "t2")
        #expect(next.1.contains(.walletTransfer(returned)) && next.0.id == "t2")
        #expect(WriteSet(next.1, now: 0).events.map(\.kind) == [.walletTransferReturned, .walletTransferSent])
    }

    @Test("R-XP-6 the binding ends: what the wallet holds and a pending transfer come back to carry-over, at once")
    func returnOnEnd() throws {
        let (sent, _) = try Self.send(.yuan(300))
        let holding = WalletHolding(
            member: Self.mother, bindingID: "b-xp", authorizer: authorizerID, currentYear: .yuan(200), carryOver: .yuan(50))
        let account = PersonalAccount(owner: authorizerID, year: 2024, currentYear: .yuan(1000))
        var ended = Self.binding
        ended.status = .revoked
        let writes = try WalletRules.returnOnEnd(ended, holding: holding, pending: [sent], account: account, now: Self.at(15, 0))
        #expect(
            writes.contains(.account(PersonalAccount(owner: authorizerID, year: 2024, currentYear: .yuan(1000), carryOver: .yuan(550)))))
        #expect(writes.contains(.walletHolding(WalletHolding(member: Self.mother, bindingID: "b-xp", authorizer: authorizerID))))
        let totals = Self.sums(writes)
        #expect(totals[LedgerAccount.wallet(Self.mother, binding: "b-xp", .currentYear)] == .yuan(-200))
        #expect(totals[LedgerAccount.person(authorizerID, .carryOver)] == .yuan(550))
        let set = WriteSet(writes, now: 0)
        #expect(set.recordsEveryEvent && set.events.map(\.kind) == [.walletTransferReturned, .walletReturned])
        #expect(try WalletRules.returnOnEnd(ended, holding: nil, pending: [], account: account, now: 1).isEmpty)
    }

    @Test("R-XP-3 policy: the terms decode with the published defaults, and bad values are refused")
    func policyTerms() throws {
        let json = #"{ enabled: true, transfer_max_fen: 100000, quiet_from: "23:00" }"#
        let terms = try JSON5.decode(RegionPolicy.CrossProvinceTerms.self, from: Data(json.utf8))
        #expect(terms.transferMax == .yuan(1000) && terms.quietFrom == ClockTime(hour: 23, minute: 0)! && terms.transfersPerDay == 3)
        #expect(terms.isQuiet(ClockTime(hour: 5, minute: 59)!) && !terms.isQuiet(ClockTime(hour: 22, minute: 30)!))
        #expect(throws: (any Error).self) {
            try JSONDecoder().decode(RegionPolicy.CrossProvinceTerms.self, from: Data(#"{"enabled": true, "quiet_from": "24:00"}"#.utf8))
        }
        var policy = Self.hohhot
        policy.crossProvince?.transfersPerDay = 0
        #expect(reason { try policy.validate() } == "POLICY_INVALID")
    }

    static func walletEntry(holding: WalletHolding?, limit: Money? = nil, used: Money = .zero) -> FamilyBinding {
        var binding = Self.binding
        binding.medicalLimit = limit
        return FamilyBinding(
            binding: binding, authorizerAccount: PersonalAccount(owner: authorizerID, year: 2024, currentYear: .yuan(5000)),
            policy: Self.hohhot, usedThisYear: used, walletHolding: holding)
    }

    static var patient: PersonRecord {
        PersonRecord(person: resident(Self.mother, name: "李秀兰", region: Self.haikou), paidYears: [], account: nil)
    }

    @Test(
        "R-XP-5 worked example: the mother's wallet holds 300.00 from her son; she settles 500.00 → 300.00 from the wallet (by origin part), 200.00 cash; the son's account is untouched"
    )
    func settleFromWallet() throws {
        let holding = WalletHolding(
            member: Self.mother, bindingID: "b-xp", authorizer: authorizerID, currentYear: .yuan(100), carryOver: .yuan(200))
        let order = Settle.order(.yuan(500), patient: Self.mother)
        let plan = try SettlementRules.settle(
            order, facts: Settle.facts(patient: Self.patient, bindings: [Self.walletEntry(holding: holding)]))
        #expect(plan.split.acctMulaidPay == .yuan(300) && plan.split.cashPay == .yuan(200))
        #expect(plan.split.postings.allSatisfy(\.fromWallet) && plan.split.postings.map(\.part) == [.carryOver, .currentYear])
        #expect(plan.accounts.isEmpty, "the authorizer's account is not debited")
        #expect(plan.holdings == [WalletHolding(member: Self.mother, bindingID: "b-xp", authorizer: authorizerID)])
        #expect(plan.movement.entries.contains(LedgerEntry(LedgerAccount.wallet(Self.mother, binding: "b-xp", .carryOver), .yuan(-200))))
        // The binding's limits apply as to any family use (R-SETL-8).
        let limited = try SettlementRules.preSettle(
            order,
            facts: Settle.facts(patient: Self.patient, bindings: [Self.walletEntry(holding: holding, limit: .yuan(250), used: .yuan(200))]))
        #expect(limited.acctMulaidPay == .yuan(50))
        // An empty wallet: nothing, noted.
        let empty = try SettlementRules.preSettle(
            order, facts: Settle.facts(patient: Self.patient, bindings: [Self.walletEntry(holding: nil)]))
        #expect(empty.acctMulaidPay == .zero && empty.familyZeroNote == .crossProvinceWallet)
    }

    @Test("R-XP-5 the wallet pays before a same-province binding of the patient")
    func walletFirst() throws {
        let local = Binding(
            id: "b-local", authorizer: Settle.otherAuthorizer, member: Self.mother, memberName: "李秀兰", relationship: .parent,
            region: RegionCode(460_100)!, startDate: today, status: .active)
        var hainan = Self.hohhot
        hainan.region = RegionCode(460_100)!
        let localEntry = FamilyBinding(
            binding: local, authorizerAccount: PersonalAccount(owner: Settle.otherAuthorizer, year: 2024, currentYear: .yuan(1000)),
            policy: hainan, usedThisYear: .zero)
        let holding = WalletHolding(member: Self.mother, bindingID: "b-xp", authorizer: authorizerID, carryOver: .yuan(100))
        let split = try SettlementRules.preSettle(
            Settle.order(.yuan(150), patient: Self.mother),
            facts: Settle.facts(patient: Self.patient, bindings: [localEntry, Self.walletEntry(holding: holding)]))
        #expect(split.family.map(\.bindingID) == ["b-xp", "b-local"] && split.family.map(\.amount) == [.yuan(100), .yuan(50)])
        #expect(split.postings.map(\.fromWallet) == [true, false])
    }

    @Test("R-XP-5 a reversal puts wallet money back into the wallet; after the binding ended, into the authorizer's carry-over")
    func reverseIntoWallet() throws {
        let holding = WalletHolding(
            member: Self.mother, bindingID: "b-xp", authorizer: authorizerID, currentYear: .yuan(100), carryOver: .yuan(200))
        let plan = try SettlementRules.settle(
            Settle.order(.yuan(250), patient: Self.mother),
            facts: Settle.facts(patient: Self.patient, bindings: [Self.walletEntry(holding: holding)]))
        let record = Settle.settled(plan)
        let account = PersonalAccount(owner: authorizerID, year: 2024, currentYear: .yuan(5000))
        let emptied = WalletHolding(member: Self.mother, bindingID: "b-xp", authorizer: authorizerID, currentYear: .yuan(50))
        let back = try #require(
            try SettlementRules.reverse(
                record, accounts: [account], holdings: [emptied], walletBindings: [Self.binding], terms: .defaults, today: today))
        #expect(back.holdings == [holding] && back.accounts.isEmpty)
        #expect(Money.sum(back.movement.entries.map(\.amount)) == .zero)
        var ended = Self.binding
        ended.status = .revoked
        let afterEnd = try #require(
            try SettlementRules.reverse(
                record, accounts: [account], holdings: [emptied], walletBindings: [ended], terms: .defaults, today: today))
        #expect(
            afterEnd.holdings.isEmpty
                && afterEnd.accounts == [PersonalAccount(owner: authorizerID, year: 2024, currentYear: .yuan(5000), carryOver: .yuan(250))])
        #expect(afterEnd.movement.entries.contains(LedgerEntry(LedgerAccount.person(authorizerID, .carryOver), .yuan(200))))
    }

    @Test("R-XP-7 clearing: a month is cleared once it has ended, China time; per pair: granted, spent, reversed, returned, net owed")
    func clearing() throws {
        let firstOfNovember = ClockTime(hour: 0, minute: 0)!.unixSeconds(on: CivilDate(year: 2024, month: 11, day: 1)!)
        #expect(reason { try ClearingRules.window(month: "2024-10", now: firstOfNovember - 1) } == "MONTH_NOT_ENDED")
        let window = try ClearingRules.window(month: "2024-10", now: firstOfNovember)
        #expect(
            window.end == firstOfNovember
                && window.start == ClockTime(hour: 0, minute: 0)!.unixSeconds(on: CivilDate(year: 2024, month: 10, day: 1)!))
        #expect(
            try ClearingRules.window(month: "2024-12", now: .max).end
                == ClockTime(hour: 0, minute: 0)!.unixSeconds(on: CivilDate(year: 2025, month: 1, day: 1)!))
        for bad in ["2024-13", "2024-1", "24-10", "2024/10", ""] {
            #expect(reason { try ClearingRules.window(month: bad, now: .max) } == "INVALID_FIELD", "\(bad)")
        }
        let inner = ProvincePair(from: RegionCode(150_000)!, to: RegionCode(460_000)!)
        let other = ProvincePair(from: RegionCode(340_000)!, to: RegionCode(460_000)!)
        let report = ClearingRules.report([
            WalletMovement(kind: .granted, provinces: inner, amount: .yuan(300), bindingID: "b", reference: "t1"),
            WalletMovement(kind: .spent, provinces: inner, amount: .yuan(120), bindingID: "b", reference: "H:s1"),
            WalletMovement(kind: .reversed, provinces: inner, amount: .yuan(20), bindingID: "b", reference: "H:s1"),
            WalletMovement(kind: .returned, provinces: inner, amount: .yuan(200), bindingID: "b", reference: "b"),
            WalletMovement(kind: .granted, provinces: other, amount: .yuan(50), bindingID: "c", reference: "t2"),
        ])
        #expect(report.map(\.provinces) == [inner, other])
        #expect(report[0].granted == .yuan(300) && report[0].spent == .yuan(120) && report[0].reversed == .yuan(20))
        #expect(report[0].returned == .yuan(200) && report[0].netOwed == .yuan(100) && report[0].walletChange == .zero)
        #expect(report[0].movements.map(\.reference) == ["t1", "H:s1", "H:s1", "b"] && report[1].netOwed == .yuan(50))
    }
}
