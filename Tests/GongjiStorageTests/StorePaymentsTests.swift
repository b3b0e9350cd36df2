import Foundation
import GongjiCore
import Testing

/// The payment part of the store contract (UseCases.swift: pay; the backends' facts and apply).
@Suite("store contract: premium payments")
struct StorePaymentsTests {
    @Test(
        "a payment applies the core's plan: balances, years, ledger, receipt number; it reads back whole by id, receipt and list",
        arguments: Backend.all)
    func pay(backend: Backend) async throws {
        let world = try await World(backend)
        let authorizer = try await world.employee(World.id(1), balance: .yuan(1000))
        let child = try await world.resident(World.id(2, born: "2010-06-01"), name: "王小明")
        _ = try await world.bind(authorizer, child, name: "王小明", id: "b1")
        let facts = try await world.store.premiumFacts(bindingID: "b1", endUser: authorizer, policies: world.policies, today: world.today)
        #expect(facts.authorizerAccount?.currentYear == .yuan(1000) && facts.paidYears.isEmpty && facts.policy?.region == .hohhot)
        let payment = try await world.store.pay(
            world.order("b1", total: .yuan(405)), endUser: authorizer, paymentID: "pay-1",
            key: world.key("p1"), policies: world.policies, today: world.today, now: world.now
        ).record
        #expect(payment.id == "pay-1" && payment.total == .yuan(405) && payment.lines.map(\.year) == [2025])
        #expect(payment.receiptNumber == ReceiptNumber.make(issuedOn: world.today, sequence: payment.seq))
        #expect(payment.authorizerName == "王建国" && payment.memberName == "王小明" && payment.verificationCode.isEmpty)
        #expect(try await world.store.person(authorizer)?.account?.total == .yuan(595))
        #expect(try await world.store.payment(id: "pay-1") == payment)
        #expect(try await world.store.payment(receiptNumber: payment.receiptNumber) == payment)
        #expect(try await world.store.accountUses(of: authorizer, as: .authorizer, before: nil, limit: 10).map(\.paymentID) == ["pay-1"])
        #expect(try await world.store.accountUses(of: child, as: .member, before: nil, limit: 10).map(\.paymentID) == ["pay-1"])
        #expect(try await world.store.payments(ids: ["pay-1"]) == [payment])
        #expect(try await world.store.ledgerBalance(of: LedgerAccount.premiumCollection(.hohhot)) == .yuan(405))
        #expect(try await world.store.ledgerSum() == .zero)
        let after = try await world.store.premiumFacts(bindingID: "b1", endUser: authorizer, policies: world.policies, today: world.today)
        #expect(after.paidYears == [2025], "R-PAY-8 the paid year is a fact of the next decision")
    }

    @Test(
        "point reads from many more tasks than the store has readers complete while payments commit, and see whole payments",
        .timeLimit(.minutes(3)), arguments: Backend.all)
    func pointReadsUnderLoad(backend: Backend) async throws {
        let world = try await World(backend)
        let authorizer = try await world.employee(World.id(1), balance: .yuan(405 * 6))
        let bound = try await world.bindSixChildren(of: authorizer)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, binding) in bound.enumerated() {
                group.addTask {
                    _ = try await world.store.pay(
                        world.order(binding, total: .yuan(405)), endUser: authorizer, paymentID: "p\(index)",
                        key: nil, policies: world.policies, today: world.today, now: world.now
                    ).record
                }
            }
            for reader in 0..<400 {
                group.addTask {
                    let binding = bound[reader % bound.count]
                    let facts = try await world.store.premiumFacts(
                        bindingID: binding, endUser: authorizer, policies: world.policies,
                        today: world.today)
                    // One snapshot: a member's paid year is never seen without the debit that paid it.
                    #expect(facts.paidYears.isEmpty || (facts.authorizerAccount?.total ?? .zero) <= .yuan(405 * 5))
                    let person = try await world.store.person(authorizer)
                    let record = try await world.store.binding(id: binding)
                    #expect(person != nil && record != nil)
                    // A payment is seen whole or not at all: its year and its record together.
                    let payment = try await world.store.payment(id: "p\(reader % bound.count)")
                    #expect(payment == nil || payment!.lines.map(\.year) == [2025])
                }
            }
            try await group.waitForAll()
        }
        #expect(try await world.store.person(authorizer)?.account?.total == .zero, "every payment committed")
        #expect(try await world.store.ledgerSum() == .zero)
    }

    @Test(
        "R-PAY-9 a retry returns the original payment; the request id reused for another payment is refused; refusals move nothing",
        arguments: Backend.all)
    func retriesAndRefusals(backend: Backend) async throws {
        let world = try await World(backend)
        let authorizer = try await world.employee(World.id(1), balance: .yuan(400))
        let child = try await world.resident(World.id(2, born: "2010-06-01"), name: "王小明")
        _ = try await world.bind(authorizer, child, name: "王小明", id: "b1")
        #expect(
            await refusal {
                try await world.store.pay(
                    world.order("b1", total: .yuan(405)), endUser: authorizer, paymentID: "x",
                    key: nil, policies: world.policies, today: world.today, now: world.now
                ).record
            }
                == "BALANCE_INSUFFICIENT")
        #expect(
            await refusal {
                try await world.store.pay(
                    world.order("b1", total: .yuan(405)), endUser: World.id(9), paymentID: "x",
                    key: nil, policies: world.policies, today: world.today, now: world.now
                ).record
            }
                == "NOT_PARTY")
        #expect(
            await refusal {
                try await world.store.pay(
                    world.order("nope", total: .yuan(405)), endUser: authorizer, paymentID: "x",
                    key: nil, policies: world.policies, today: world.today, now: world.now
                ).record
            }
                == "NOT_PARTY")
        #expect(try await world.store.accountUses(of: authorizer, as: .authorizer, before: nil, limit: 10).isEmpty)
        #expect(try await world.store.person(authorizer)?.account?.total == .yuan(400))
        _ = try await world.store.credit(authorizer, amount: .yuan(5), part: .currentYear, reference: "TOPUP", key: nil, now: world.now)
        let first = try await world.store.pay(
            world.order("b1", total: .yuan(405)), endUser: authorizer, paymentID: "p-a",
            key: world.key("k", content: "a"), policies: world.policies, today: world.today, now: world.now)
        let again = try await world.store.pay(
            world.order("b1", total: .yuan(405)), endUser: authorizer, paymentID: "p-b",
            key: world.key("k", content: "a"), policies: world.policies, today: world.today, now: world.now)
        let (paid, retried) = (first.record, again.record)
        #expect(retried == paid)
        #expect(!first.isReplay && again.isReplay, "the retry says it is one: no money moved, no metric counts it")
        #expect(
            await refusal {
                try await world.store.pay(
                    world.order("b1", total: .yuan(405)), endUser: authorizer, paymentID: "p-c",
                    key: world.key("k", content: "b"), policies: world.policies, today: world.today,
                    now: world.now
                ).record
            } == "REQUEST_ID_REUSED")
        #expect(
            await refusal {
                try await world.store.pay(
                    world.order("b1", total: .yuan(405)), endUser: authorizer, paymentID: "p-d",
                    key: nil, policies: world.policies, today: world.today, now: world.now
                ).record
            }
                == "PREMIUM_ALREADY_PAID")
        #expect(try await world.store.person(authorizer)?.account?.total == .zero)
    }

    @Test(
        "concurrent payments on one account: exactly those the balance covers succeed, and the ledger stays exact",
        arguments: Backend.all)
    func concurrentPayments(backend: Backend) async throws {
        let world = try await World(backend)
        let authorizer = try await world.employee(World.id(1), balance: .yuan(405 * 3))
        let bindings = try await world.bindSixChildren(of: authorizer)
        let outcomes = await withTaskGroup(of: String?.self) { group in
            for (index, binding) in bindings.enumerated() {
                group.addTask {
                    await refusal {
                        try await world.store.pay(
                            world.order(binding, total: .yuan(405)), endUser: authorizer, paymentID: "p\(index)",
                            key: nil, policies: world.policies, today: world.today, now: world.now
                        ).record
                    }
                }
            }
            return await group.reduce(into: [String?]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 == nil }.count == 3)
        #expect(outcomes.filter { $0 == "BALANCE_INSUFFICIENT" }.count == 3)
        let paid = try await world.store.accountUses(of: authorizer, as: .authorizer, before: nil, limit: 10).compactMap(\.paymentID)
        let receipts = try await world.store.payments(ids: paid).map(\.receiptNumber)
        #expect(receipts.count == 3)
        #expect(Set(receipts).count == 3, "receipt numbers are unique")
        #expect(try await world.store.person(authorizer)?.account?.total == .zero)
        #expect(try await world.store.ledgerSum() == .zero)
    }

    @Test("R-BIND-8 paying for a newborn enrolls the member; R-PAY-5 an external part is recorded apart", arguments: Backend.all)
    func enrollmentAndExternal(backend: Backend) async throws {
        let world = try await World(backend)
        var ulanqab = try World.policy("ulanqab")
        ulanqab.availability.suspended = false
        ulanqab.materials.commitmentVersions = []
        ulanqab.materials.idImages = false
        var maanshan = try World.policy("maanshan")
        maanshan.premiums[0].amount = .yuan(380)
        let policies = try PolicyBook([ulanqab, maanshan])
        let parent = try await world.employee(World.id(1, area: "150902"), region: .ulanqab, balance: .yuan(500))
        let baby = try await world.resident(World.id(2, area: "150902", born: "2024-10-01"), name: "李宝宝", region: .ulanqab, type: .none)
        let request = BindingRequest(memberIDNumber: baby.value, memberName: "李宝宝", relationship: .child, startDate: world.today)
        let binding = try await world.store.createBinding(
            request, endUser: parent, id: "nb", key: nil, actor: world.actor, policies: policies,
            today: world.today, now: world.now)
        #expect(binding.binding.isNewborn)
        let total = try await world.store.premiumFacts(bindingID: "nb", endUser: parent, policies: policies, today: world.today)
            .policy!.premiumYear(2025)!.amount!
        _ = try await world.store.pay(
            world.order("nb", total: total), endUser: parent, paymentID: "nb-pay", key: nil, policies: policies,
            today: world.today, now: world.now
        ).record
        let enrolled = try #require(try await world.store.person(baby))
        #expect(enrolled.person.insuranceType == .resident && enrolled.person.status == .normal && enrolled.person.region == .ulanqab)

        // Ma'anshan pays from carry-over only: 300.00 rolled over, the rest of 380.00 paid in cash.
        let payer = try await world.employee(World.id(3, area: "340503"), region: .maanshan, balance: .yuan(300))
        let newYear = CivilDate(year: 2025, month: 1, day: 1)!
        _ = try await world.store.rollOver(into: 2025, key: nil, today: newYear, now: world.now)
        let child = try await world.resident(World.id(4, area: "340503", born: "2010-06-01"), name: "张一", region: .maanshan)
        let pending = try await world.store.createBinding(
            BindingRequest(memberIDNumber: child.value, memberName: "张一", relationship: .child, startDate: newYear),
            endUser: payer, id: "mb", key: nil, actor: world.actor, policies: policies, today: newYear, now: world.now)
        _ = try await world.store.changeBinding(id: pending.binding.id, .review(.approve), key: nil, actor: world.actor, now: world.now)
        let external = ExternalPayment(amount: .yuan(80), reference: "CASH-1")
        let payment = try await world.store.pay(
            world.order("mb", total: .yuan(380), external: external), endUser: payer, paymentID: "mp",
            key: nil, policies: policies, today: newYear, now: world.now
        ).record
        #expect(payment.external == external && payment.accountPart == .yuan(300) && payment.postings.map(\.part) == [.carryOver])
        #expect(try await world.store.ledgerBalance(of: LedgerAccount.external(.maanshan)) == .yuan(-80))
        #expect(try await world.store.ledgerSum() == .zero)
    }
}
