import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GongjiCore
import GongjiDev
import GongjiProto
import GongjiServer
import Synchronization
import Testing

/// Refusals collected by concurrent tasks.
private final class Refusals: Sendable {
    private let list = Mutex<[String]>([])
    var all: [String] { list.withLock { $0 } }
    func add(_ refusal: String) { list.withLock { $0.append(refusal) } }
}

/// The cross-province wallet with several daemons on one PostgreSQL database.
@Suite("Cross-province wallet across daemons", .serialized, .needsPostgreSQL, .timeLimit(.minutes(3)))
struct WalletSeveralDaemonsTests {
    /// The shipped policies, Hohhot's transfers per day raised to 100 (the race sends 20 in a day).
    static func policies() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gongji-policies-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let source = TestDaemon.repositoryRoot.appendingPathComponent("deploy/policies")
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) {
            var text = try String(contentsOf: source.appendingPathComponent(name), encoding: .utf8)
            if name == "hohhot.json5" {
                text = text.replacingOccurrences(
                    of: "cross_province: { enabled: true }", with: "cross_province: { enabled: true, transfers_per_day: 100 }")
            }
            try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return dir
    }

    @Test(
        "R-XP-3 R-XP-4 R-XP-5 R-XP-7 20 transfers and 20 settlements racing on one authorizer's account and four wallets across two daemons: never negative, each transfer answered exactly once, the ledger sums to zero and the clearing report equals it"
    )
    func race() async throws {
        let clock = TestClock(inWindow2025)
        let (a, b) = try await TestDaemon.startTwo(clock: clock, policies: try Self.policies())
        defer { Task { await TestDaemon.stop(a, b) } }
        let store = a.daemon.store
        let today = clock.today()
        let now = clock.nowUnix()
        let authorizer = try ResidentID.parse(makeID("150102", "19700101", 901), today: today)
        let local = try ResidentID.parse(makeID("150102", "20050101", 902), today: today)
        let members = try (0..<4).map { try ResidentID.parse(makeID("460100", "195\($0)0101", 910 + $0), today: today) }
        var rows: [RegistryRow] = [
            .institution(DevEnvironment.hospital),
            .person(Person(id: authorizer, name: "甲", insuranceType: .employee, status: .normal, region: .hohhot), paidYears: []),
            .person(Person(id: local, name: "乙", insuranceType: .resident, status: .normal, region: .hohhot), paidYears: []),
            .credit(authorizer, amount: .yuan(2000), part: .currentYear, reference: "XP-RACE"),
        ]
        for (i, member) in members.enumerated() {
            rows.append(
                .person(
                    Person(id: member, name: "丙\(i)", insuranceType: .resident, status: .normal, region: RegionCode(460_100)!),
                    paidYears: []))
        }
        _ = try await store.importRows(rows, today: today, now: now)
        var hohhot = try PolicyLoader.load(directory: a.daemon.config.policies.directory).policy(of: .hohhot)!
        hohhot.materials.commitmentVersions = []
        hohhot.materials.idImages = false
        let book = try PolicyBook([hohhot])
        let actor = ChangeActor(certificateIdentity: "test", endUser: nil, requestID: nil)
        for (i, member) in ([local] + members).enumerated() {
            _ = try await store.createBinding(
                BindingRequest(
                    memberIDNumber: member.value, memberName: i == 0 ? "乙" : "丙\(i - 1)", relationship: i == 0 ? .child : .parent,
                    startDate: today),
                endUser: authorizer, id: "xb-\(i)", key: nil, actor: actor, policies: book, today: today, now: now)
        }
        for member in members { _ = try await store.openWallet(for: member, key: nil, now: now) }

        let refusals = Refusals()
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Each member: five transfers of 100.00 in turn, each answered on the other daemon (accept, decline, …).
            for (m, member) in members.enumerated() {
                group.addTask {
                    for r in 0..<5 {
                        let (send, answer) = (m + r) % 2 == 0 ? (a, b) : (b, a)
                        let sent = try await send.withClient("gateway") { client in
                            try await retryingKeyed {
                                try await Gongji_V1_WalletService.Client(wrapping: client).transferToWallet(
                                    .with {
                                        $0.requestID = "T-\(m)-\(r)"
                                        $0.bindingID = "xb-\(m + 1)"
                                        $0.amountFen = 10_000
                                    }, metadata: endUser(authorizer.value), options: failFast)
                            }
                        }
                        _ = try await answer.withClient("gateway") { client in
                            try await retryingKeyed {
                                try await Gongji_V1_WalletService.Client(wrapping: client).answerTransfer(
                                    .with {
                                        $0.requestID = "A-\(m)-\(r)"
                                        $0.transferID = sent.transfer.transferID
                                        $0.accept = r % 2 == 0
                                    }, metadata: endUser(member.value), options: failFast)
                            }
                        }
                    }
                }
            }
            // Ten settlements of the local child (family funds from the same account) and ten of
            // the members (from their wallets), alternately on both daemons.
            for s in 0..<20 {
                group.addTask {
                    let patient = s < 10 ? local : members[s % 4]
                    do {
                        _ = try await (s % 2 == 0 ? a : b).withClient("settlement") { client in
                            try await retryingKeyed {
                                try await Settler(client: client).settle("XS-\(s)", patient: patient.value, amount: s < 10 ? 6000 : 3000)
                            }
                        }
                    } catch let error as RPCError {
                        refusals.add("\(error.code) \(error.reason ?? "")")
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(refusals.all.isEmpty, "\(refusals.all)")

        let transfers = try await store.walletTransfers(of: authorizer, as: .authorizer, before: nil, limit: 100)
        #expect(transfers.count == 20)
        #expect(
            transfers.filter { $0.storedStatus == .accepted }.count == 12 && transfers.filter { $0.storedStatus == .declined }.count == 8)
        for transfer in transfers {
            for part in BalancePart.allCases {
                #expect(
                    try await store.ledgerBalance(of: LedgerAccount.pendingTransfer(transfer.id, part)) == .zero,
                    "\(transfer.id) held nothing")
            }
        }
        #expect(try await store.ledgerSum() == .zero)
        let account = try #require(try await store.person(authorizer)?.account)
        #expect(account.currentYear >= .zero && account.carryOver >= .zero)
        var wallets = Money.zero
        for member in members {
            let view = try await store.wallet(of: member)
            var ledger = Money.zero
            for part in BalancePart.allCases {
                ledger = ledger.adding(
                    try await store.ledgerBalance(of: LedgerAccount.wallet(member, binding: view.holdings.first?.bindingID ?? "", part)))!
            }
            #expect(view.balance == ledger && view.balance >= .zero)
            wallets = wallets.adding(view.balance)!
        }
        let paidOut = try await store.ledgerBalance(of: LedgerAccount.institution(DevEnvironment.hospital.code))
        #expect(account.total.adding(wallets)!.adding(paidOut)! == .yuan(2000), "nothing created or lost")

        // R-XP-7: October cleared once it has ended: granted = the accepted transfers; the wallets' change = the ledger's.
        clock.advance(seconds: 20 * 86_400)
        let report = try await b.daemon.service.crossProvinceClearing(month: "2024-10", at: b.daemon.service.now())
        #expect(report.count == 1 && report.first?.provinces == ProvincePair(from: RegionCode(150_000)!, to: RegionCode(460_000)!))
        #expect(report.first?.granted == .yuan(1200) && report.first?.walletChange == wallets)
        #expect(
            try await a.daemon.service.crossProvinceClearing(month: "2024-10", at: a.daemon.service.now()) == report,
            "the same on every daemon")
    }

    @Test("R-XP-4 both daemons return the due transfers at once: each is returned exactly once, the balance whole")
    func returnsOnTwoDaemons() async throws {
        let clock = TestClock(inWindow2025)
        let (a, b) = try await TestDaemon.startTwo(clock: clock)
        defer { Task { await TestDaemon.stop(a, b) } }
        let store = a.daemon.store
        let today = clock.today()
        // Sent two days ago at noon China time: due yesterday at 06:00.
        let day = today.adding(days: -2)
        let then = ClockTime(hour: 12, minute: 0)!.unixSeconds(on: day)
        var hohhot = try PolicyLoader.load(directory: a.daemon.config.policies.directory).policy(of: .hohhot)!
        hohhot.materials.commitmentVersions = []
        hohhot.materials.idImages = false
        let book = try PolicyBook([hohhot])
        var authorizers: [ResidentID] = []
        for i in 0..<20 {
            let authorizer = try ResidentID.parse(makeID("150102", "19700101", 600 + i), today: today)
            let mother = try ResidentID.parse(makeID("460100", "19500101", 600 + i), today: today)
            _ = try await store.importRows(
                [
                    .person(
                        Person(id: authorizer, name: "甲\(i)", insuranceType: .employee, status: .normal, region: .hohhot), paidYears: []),
                    .person(
                        Person(id: mother, name: "丁\(i)", insuranceType: .resident, status: .normal, region: RegionCode(460_100)!),
                        paidYears: []),
                    .credit(authorizer, amount: .yuan(1000), part: .currentYear, reference: "RT-\(i)"),
                ], today: day, now: then)
            _ = try await store.createBinding(
                BindingRequest(memberIDNumber: mother.value, memberName: "丁\(i)", relationship: .parent, startDate: day),
                endUser: authorizer,
                id: "rt-\(i)", key: nil, actor: ChangeActor(certificateIdentity: "test", endUser: nil, requestID: nil), policies: book,
                today: day, now: then)
            _ = try await store.openWallet(for: mother, key: nil, now: then)
            _ = try await store.transferToWallet(
                bindingID: "rt-\(i)", amount: .yuan(100), endUser: authorizer, transferID: "rt-t-\(i)", key: nil, policies: book, now: then)
            authorizers.append(authorizer)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for daemon in [a, b, a, b] { group.addTask { try await daemon.daemon.service.returnDueTransfers() } }
            try await group.waitForAll()
        }
        for (i, authorizer) in authorizers.enumerated() {
            #expect(try await store.person(authorizer)?.account?.total == .yuan(1000), "returned once: \(i)")
            #expect(
                try await store.walletTransfers(of: authorizer, as: .authorizer, before: nil, limit: 5).map(\.storedStatus) == [.returned])
        }
        #expect(try await store.ledgerSum() == .zero)
    }
}
