import Foundation
import GongjiCore
import PostgresNIO
import Testing

extension World {
    static let haikou = RegionCode(460_100)!

    /// An authorizer in Hohhot holding 1000.00 (current year) and a child insured in Haikou
    /// (another province) bound as `bx`, with the child's wallet open.
    func crossProvinceFamily(openWallet: Bool = true) async throws -> (authorizer: ResidentID, member: ResidentID) {
        let authorizer = try await employee(World.id(1), balance: .yuan(1000))
        let member = try await resident(World.id(2, area: "460100", born: "2010-06-01"), name: "王小明", region: World.haikou)
        _ = try await bind(authorizer, member, name: "王小明", id: "bx")
        if openWallet { _ = try await store.openWallet(for: member, key: nil, now: now) }
        return (authorizer, member)
    }

    func transfer(
        _ amount: Money, from authorizer: ResidentID, id: String, key: IdempotencyKey? = nil, at time: Int64? = nil
    )
        async throws -> WalletTransfer
    {
        try await store.transferToWallet(
            bindingID: "bx", amount: amount, endUser: authorizer, transferID: id, key: key, policies: policies, now: time ?? now
        ).transfer
    }
}

/// The wallet part of the store contract (R-XP-1 … R-XP-4, R-XP-6), on every backend.
@Suite("store contract: cross-province wallet")
struct StoreWalletTests {
    @Test(
        "R-XP-2 R-XP-3 R-XP-4 open, transfer exactly once per key, accept: the wallet holds it by origin part, the ledger sums to zero",
        arguments: Backend.all)
    func transferAndAccept(backend: Backend) async throws {
        let world = try await World(backend)
        let (authorizer, member) = try await world.crossProvinceFamily(openWallet: false)
        #expect(await refusal { try await world.transfer(.yuan(100), from: authorizer, id: "t0") } == "WALLET_NOT_OPEN")
        let (view, opened) = try await world.store.openWallet(for: member, key: world.key("open-1"), now: world.now)
        #expect(opened && view.wallet?.province == RegionCode(460_000)! && view.balance == .zero)
        #expect(try await world.store.openWallet(for: member, key: world.key("open-2"), now: world.now + 5).opened == false)

        let key = world.key("transfer-1", content: "300")
        let sent = try await world.transfer(.yuan(300), from: authorizer, id: "t1", key: key)
        #expect(sent.storedStatus == .pending && sent.currentYear == .yuan(300))
        // R-PAY-9 style: the same key answers the first transfer, moving nothing again.
        let again = try await world.transfer(.yuan(300), from: authorizer, id: "t-other", key: key)
        #expect(again.id == "t1")
        #expect(try await world.store.person(authorizer)?.account?.total == .yuan(700))
        #expect(try await world.store.ledgerBalance(of: LedgerAccount.pendingTransfer("t1", .currentYear)) == .yuan(300))
        // R-XP-4: one pending transfer per member.
        #expect(await refusal { try await world.transfer(.yuan(10), from: authorizer, id: "t2") } == "TRANSFER_PENDING")
        // Only the member answers.
        #expect(
            await refusal { try await world.store.answerTransfer(id: "t1", .accept, endUser: authorizer, key: nil, now: world.now) }
                == "NOT_MEMBER")
        let accepted = try await world.store.answerTransfer(id: "t1", .accept, endUser: member, key: nil, now: world.now + 60)
        #expect(accepted.storedStatus == .accepted && accepted.resolvedAt == world.now + 60)
        let wallet = try await world.store.wallet(of: member)
        #expect(
            wallet.balance == .yuan(300) && wallet.holdings.first?.currentYear == .yuan(300) && wallet.holdings.first?.bindingID == "bx")
        #expect(try await world.store.ledgerBalance(of: LedgerAccount.wallet(member, binding: "bx", .currentYear)) == .yuan(300))
        #expect(try await world.store.ledgerBalance(of: LedgerAccount.pendingTransfer("t1", .currentYear)) == .zero)
        #expect(try await world.store.ledgerSum() == .zero)
        // The next transfer goes (the first is no longer pending), and both parties list them.
        _ = try await world.transfer(.yuan(50), from: authorizer, id: "t2")
        #expect(try await world.store.walletTransfers(of: authorizer, as: .authorizer, before: nil, limit: 10).map(\.id) == ["t2", "t1"])
        #expect(try await world.store.walletTransfers(of: member, as: .member, before: nil, limit: 1).map(\.id) == ["t2"])
        #expect(try await world.store.walletTransfers(of: member, as: .authorizer, before: nil, limit: 10).isEmpty)
        let kinds = try await world.store.events(after: 0, of: member, limit: 100).map(\.kind)
        #expect(kinds == [.bindingCreated, .walletTransferSent, .walletTransferAccepted, .walletTransferSent], "\(kinds)")
    }

    @Test(
        "R-PAY-9 R-XP-3 on PostgreSQL the same request sent twice at once (a retry while the first still runs) is answered twice with the first: the second waited for the first's locks and is not refused for the first's effect"
    )
    func duplicatesAtOnce() async throws {
        guard Backend.postgresURL != nil else { return }
        let (store, schema) = try await Backend.makePostgres()
        let world = try World(store: store)
        let (authorizer, _) = try await world.crossProvinceFamily()
        let child = try await world.resident(World.id(3, born: "2010-06-01"), name: "王小红")
        _ = try await world.bind(authorizer, child, name: "王小红", id: "b1")
        try await Backend.withOtherSession(in: schema) { c, logger in
            // Another transaction holds both bindings: each request looks for its key (none
            // yet), then waits for the binding's lock, so both copies pass the lookup first.
            _ = try await c.query("BEGIN", logger: logger)
            _ = try await c.query("SELECT id FROM binding WHERE id IN ('b1', 'bx') FOR NO KEY UPDATE", logger: logger)
            let transfers = ["t-a", "t-b"].map { id in
                Task { try await world.transfer(.yuan(100), from: authorizer, id: id, key: world.key("dup-t", content: "100")) }
            }
            let payments = ["p-a", "p-b"].map { id in
                Task {
                    try await world.store.pay(
                        world.order("b1", total: .yuan(405)), endUser: authorizer, paymentID: id, key: world.key("dup-p", content: "405"),
                        policies: world.policies, today: world.today, now: world.now)
                }
            }
            try await Task.sleep(for: .milliseconds(500))
            _ = try await c.query("COMMIT", logger: logger)
            let sent = [try await transfers[0].value, try await transfers[1].value]
            #expect(sent[0].id == sent[1].id, "one transfer, answered twice (not TRANSFER_PENDING)")
            let paid = [try await payments[0].value, try await payments[1].value]
            #expect(paid[0].record.id == paid[1].record.id, "one payment, answered twice (not PREMIUM_ALREADY_PAID)")
            #expect(paid.filter(\.isReplay).count == 1)
        }
        #expect(try await world.store.person(authorizer)?.account?.total == .yuan(1000 - 100 - 405))
        #expect(try await world.store.ledgerSum() == .zero)
    }

    @Test("R-XP-3 the 3rd transfer of a day passes, the 4th does not (the day's count is the sending account's)", arguments: Backend.all)
    func transfersPerDay(backend: Backend) async throws {
        let world = try await World(backend)
        let (authorizer, member) = try await world.crossProvinceFamily()
        for index in 1...3 {
            _ = try await world.transfer(.yuan(10), from: authorizer, id: "t\(index)")
            _ = try await world.store.answerTransfer(id: "t\(index)", .decline, endUser: member, key: nil, now: world.now)
        }
        #expect(await refusal { try await world.transfer(.yuan(10), from: authorizer, id: "t4") } == "TRANSFERS_PER_DAY_REACHED")
        // The next day (after 06:00) counts again.
        #expect(await refusal { try await world.transfer(.yuan(10), from: authorizer, id: "t4", at: world.now + 86_400) } == nil)
        #expect(try await world.store.person(authorizer)?.account?.total == .yuan(990))
    }

    @Test(
        "R-XP-4 declined, or not accepted by 06:00 the next day: back to the part it came from, exactly once, by the daemon's return",
        arguments: Backend.all)
    func returns(backend: Backend) async throws {
        let world = try await World(backend)
        let (authorizer, member) = try await world.crossProvinceFamily()
        _ = try await world.transfer(.yuan(100), from: authorizer, id: "t1")
        let declined = try await world.store.answerTransfer(id: "t1", .decline, endUser: member, key: nil, now: world.now)
        #expect(declined.storedStatus == .declined)
        let sent = try await world.transfer(.yuan(200), from: authorizer, id: "t2")
        #expect(try await world.store.person(authorizer)?.account?.total == .yuan(800))
        // 2024-10-16 06:00 China time.
        let six = ClockTime(hour: 6, minute: 0)!.unixSeconds(on: world.today.adding(days: 1))
        #expect(sent.returnDueAt == six)
        #expect(try await world.store.returnDueTransfers(now: six - 1, limit: 500) == 0)
        #expect(try await world.store.returnDueTransfers(now: six, limit: 500) == 1)
        #expect(try await world.store.returnDueTransfers(now: six + 30, limit: 500) == 0, "returned once")
        #expect(try await world.store.person(authorizer)?.account?.total == .yuan(1000))
        let listed = try await world.store.walletTransfers(of: member, as: .member, before: nil, limit: 10)
        #expect(listed.map(\.storedStatus) == [.returned, .declined] && listed.first?.resolvedAt == six)
        #expect(
            await refusal { try await world.store.answerTransfer(id: "t2", .accept, endUser: member, key: nil, now: six + 60) }
                == "TRANSFER_NOT_PENDING")
        #expect(try await world.store.ledgerSum() == .zero)
        #expect(try await world.store.ledgerBalance(of: LedgerAccount.pendingTransfer("t2", .currentYear)) == .zero)
        let kinds = try await world.store.events(after: 0, of: authorizer, limit: 100).map(\.kind)
        #expect(kinds.suffix(4) == [.walletTransferSent, .walletTransferDeclined, .walletTransferSent, .walletTransferReturned])
    }

    @Test(
        "R-XP-6 the member ends the binding: what the wallet holds and a pending transfer come back to carry-over at once",
        arguments: Backend.all)
    func bindingEnds(backend: Backend) async throws {
        let world = try await World(backend)
        let (authorizer, member) = try await world.crossProvinceFamily()
        _ = try await world.transfer(.yuan(300), from: authorizer, id: "t1")
        _ = try await world.store.answerTransfer(id: "t1", .accept, endUser: member, key: nil, now: world.now)
        _ = try await world.transfer(.yuan(100), from: authorizer, id: "t2")
        let ended = try await world.store.changeBinding(id: "bx", .revoke(by: member), key: nil, actor: world.actor, now: world.now + 60)
        #expect(ended.binding.status == .revoked)
        let account = try #require(try await world.store.person(authorizer)?.account)
        #expect(account.currentYear == .yuan(600) && account.carryOver == .yuan(400))
        #expect(try await world.store.wallet(of: member).balance == .zero)
        #expect(try await world.store.walletTransfers(of: member, as: .member, before: nil, limit: 10).first?.storedStatus == .returned)
        #expect(try await world.store.ledgerSum() == .zero)
        #expect(try await world.store.returnDueTransfers(now: world.now + 86_400, limit: 500) == 0, "nothing left to return")
        let kinds = try await world.store.events(after: 0, of: authorizer, limit: 100).map(\.kind)
        #expect(kinds.suffix(3) == [.bindingEnded, .walletTransferReturned, .walletReturned], "\(kinds)")
        // R-XP-7: granted 300.00, returned 300.00: nothing owed, the wallet back to zero.
        let pair = try #require(ClearingRules.report(try await world.store.walletMovements(from: 0, until: .max)).first)
        #expect(pair.granted == .yuan(300) && pair.returned == .yuan(300) && pair.netOwed == .zero && pair.walletChange == .zero)
    }

    @Test(
        "R-XP-1 R-XP-5 a cross-province binding pays the member's premium from her wallet only (by her or the authorizer); a same-province binding has no wallet transfer",
        arguments: Backend.all)
    func premiumFromWallet(backend: Backend) async throws {
        let world = try await World(backend)
        let (authorizer, member) = try await world.crossProvinceFamily()
        func pay(_ id: String, as payer: ResidentID) async throws -> PaymentRecord {
            try await world.store.pay(
                world.order("bx", total: .yuan(400)), endUser: payer, paymentID: id, key: nil, policies: world.policies,
                today: world.today, now: world.now
            ).record
        }
        #expect(await refusal { try await pay("p0", as: authorizer) } == "BALANCE_INSUFFICIENT", "the account does not pay directly")
        _ = try await world.transfer(.yuan(500), from: authorizer, id: "t1")
        _ = try await world.store.answerTransfer(id: "t1", .accept, endUser: member, key: nil, now: world.now)
        let paid = try await pay("p1", as: member)
        #expect(paid.fromWallet && paid.total == .yuan(400) && paid.postings.map(\.part) == [.currentYear])
        #expect(try await world.store.payment(id: "p1")?.fromWallet == true)
        #expect(try await world.store.wallet(of: member).balance == .yuan(100))
        #expect(try await world.store.person(authorizer)?.account?.total == .yuan(500))
        #expect(try await world.store.ledgerBalance(of: LedgerAccount.premiumCollection(World.haikou)) == .yuan(400))
        #expect(try await world.store.ledgerSum() == .zero)
        let movements = try await world.store.walletMovements(from: 0, until: .max)
        #expect(movements.map(\.kind) == [.granted, .spent] && movements.last?.reference == "payment:p1")
        #expect(await refusal { try await pay("p2", as: member) } == "PREMIUM_ALREADY_PAID")

        let local = try await world.resident(World.id(3, born: "2012-02-02"), name: "王小红")
        _ = try await world.bind(authorizer, local, name: "王小红", id: "b-local")
        #expect(
            await refusal {
                try await world.store.transferToWallet(
                    bindingID: "b-local", amount: .yuan(10), endUser: authorizer, transferID: "t", key: nil, policies: world.policies,
                    now: world.now)
            } == "NOT_CROSS_PROVINCE")
    }

    @Test(
        "R-XP-5 the member settles from her wallet (the family part), the reversal puts it back into the wallet; the ledger sums to zero",
        arguments: Backend.all)
    func settleFromWallet(backend: Backend) async throws {
        let world = try await World(backend)
        _ = try await world.store.upsertInstitution(World.hospital, key: nil, now: world.now)
        let (authorizer, member) = try await world.crossProvinceFamily()
        _ = try await world.transfer(.yuan(300), from: authorizer, id: "t1")
        _ = try await world.store.answerTransfer(id: "t1", .accept, endUser: member, key: nil, now: world.now)
        let settled = try await world.settle(member, .yuan(500), id: "s1")
        #expect(settled.split.acctMulaidPay == .yuan(300) && settled.split.cashPay == .yuan(200))
        #expect(settled.split.postings.allSatisfy(\.fromWallet) && settled.split.postings.first?.bindingID == "bx")
        #expect(try await world.store.wallet(of: member).balance == .zero)
        #expect(try await world.store.person(authorizer)?.account?.total == .yuan(700), "the account paid when it granted, not again")
        let stored = try await world.store.settlement(institution: World.hospital.code, settlementID: "s1")
        #expect(stored?.split.postings == settled.split.postings, "read back with where it came from")
        _ = try await world.store.reverseSettlement(
            institution: World.hospital.code, settlementID: "s1", policies: world.policies, today: world.today, now: world.now)
        #expect(try await world.store.wallet(of: member).balance == .yuan(300))
        #expect(try await world.store.ledgerBalance(of: LedgerAccount.wallet(member, binding: "bx", .currentYear)) == .yuan(300))
        #expect(try await world.store.ledgerSum() == .zero)
        // R-XP-7: the movements of the day, as clearing counts them, add up to the wallet's ledger.
        let movements = try await world.store.walletMovements(from: world.now - 86_400, until: world.now + 1)
        #expect(movements.map(\.kind) == [.granted, .spent, .reversed])
        #expect(movements.allSatisfy { $0.provinces == ProvincePair(from: RegionCode(150_000)!, to: RegionCode(460_000)!) })
        let pair = try #require(ClearingRules.report(movements).first)
        #expect(pair.netOwed == .yuan(300) && pair.walletChange == .yuan(300))
        // Limits and the deduction lists count it as family use through the binding.
        let uses = try await world.store.accountUses(of: authorizer, as: .authorizer, before: nil, limit: 10)
        #expect(uses.map(\.kind) == [.reversal, .settlement, .walletTransferAccepted, .walletTransfer])
        #expect(uses.last?.reference == "t1" && uses.last?.amount == .yuan(300))
        // The member sees the transfer's steps in her list too (what others' accounts did for her).
        let hers = try await world.store.accountUses(of: member, as: .member, before: nil, limit: 10)
        #expect(hers.map(\.kind) == [.reversal, .settlement, .walletTransferAccepted, .walletTransfer])
    }
}

extension StoreWalletTests {
    @Test(
        "R-XP-6 the registry ends the binding (the member's insurance terminated): the wallet's money and a pending transfer come back to carry-over",
        arguments: Backend.all)
    func registryEnds(backend: Backend) async throws {
        let world = try await World(backend)
        let (authorizer, member) = try await world.crossProvinceFamily()
        _ = try await world.transfer(.yuan(300), from: authorizer, id: "t1")
        _ = try await world.store.answerTransfer(id: "t1", .accept, endUser: member, key: nil, now: world.now)
        _ = try await world.transfer(.yuan(100), from: authorizer, id: "t2")
        _ = try await world.store.upsertPerson(
            Person(id: member, name: "王小明", insuranceType: .resident, status: .terminated, region: World.haikou), paidYears: [], key: nil,
            today: world.today, now: world.now + 60)
        #expect(try await world.store.binding(id: "bx")?.binding.status == .revoked)
        let account = try #require(try await world.store.person(authorizer)?.account)
        #expect(account.currentYear == .yuan(600) && account.carryOver == .yuan(400))
        #expect(try await world.store.wallet(of: member).balance == .zero)
        #expect(try await world.store.ledgerSum() == .zero)
        let movements = try await world.store.walletMovements(from: 0, until: .max)
        #expect(movements.map(\.kind) == [.granted, .returned])
    }
}
