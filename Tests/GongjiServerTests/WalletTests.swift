import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GongjiCore
import GongjiProto
import GongjiServer
import SwiftProtobuf
import Testing

/// The cross-province wallet end to end (R-XP-1 … R-XP-4, R-XP-6): a real daemon, mutual TLS,
/// the gateway's client; on SQLite and (with a test server) on PostgreSQL.
@Suite("Cross-province wallet", .serialized)
struct WalletTests {
    typealias Client = GRPCClient<HTTP2ClientTransport.Posix>
    /// The Hohhot authorizer's mother, insured in Haikou (Hainan).
    static let mother = makeID("460100", "19550101", 322)

    static var backends: [Bool] { testPostgresURL == nil ? [false] : [false, true] }

    /// A daemon with the demo people and the mother, at 2024-10-15 12:00 China time.
    static func start(postgres: Bool) async throws -> TestDaemon {
        let daemon = try await TestDaemon.start(
            clock: TestClock(inWindow2025), postgresql: postgres ? try await freshPostgresSchema() : nil)
        try await Demo.load(daemon)
        _ = try await daemon.daemon.service.importRows([
            .person(
                Person(
                    id: try ResidentID.parse(mother, today: daemon.clock.today()), name: "李秀兰", insuranceType: .resident,
                    status: .normal, region: RegionCode(460_100)!), paidYears: []),
            // A carry-over of 2,000.00 beside the demo's 1,000.00 of this year (Hohhot draws carry-over first).
            .credit(
                try ResidentID.parse(Demo.hohhotAuthorizer, today: daemon.clock.today()), amount: .yuan(2000), part: .carryOver,
                reference: "XP-CARRY"),
        ])
        return daemon
    }

    static func wallet(_ client: Client) -> Gongji_V1_WalletService.Client<HTTP2ClientTransport.Posix> {
        Gongji_V1_WalletService.Client(wrapping: client)
    }

    static func transfer(
        _ client: Client, _ requestID: String, binding: String, fen: Int64
    ) async throws
        -> Gongji_V1_TransferToWalletResponse
    {
        try await wallet(client).transferToWallet(
            .with {
                $0.requestID = requestID
                $0.bindingID = binding
                $0.amountFen = fen
            }, metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
    }

    /// "code REASON" of the call's error, or nil when it succeeds.
    static func reason(_ body: () async throws -> some Sendable) async -> String? {
        await rpcFailure(body).map { "\($0.code) \($0.reason ?? "")" }
    }

    static func status(_ code: RPCError.Code, _ reason: String) -> String { "\(code) \(reason)" }

    static func balance(_ daemon: TestDaemon) async throws -> Money {
        try await daemon.daemon.service.person(idNumber: Demo.hohhotAuthorizer).account?.total ?? .zero
    }

    @Test(
        "R-XP-1 R-XP-2 R-XP-3 R-XP-4 R-XP-6 over mutual TLS: bind a mother in Hainan, open her wallet, transfer, accept, the 06:00 return, the binding ended by her, the money back",
        arguments: backends)
    func walletSession(postgres: Bool) async throws {
        let daemon = try await Self.start(postgres: postgres)
        defer { Task { await daemon.stop() } }
        try await daemon.withClient("gateway") { client in
            // R-XP-1: Hohhot takes part: the binding across provinces is made like any other.
            let binding = try await PaymentTests().bind(
                client, authorizer: Demo.hohhotAuthorizer, member: Self.mother, name: "李秀兰", version: "hohhot-2024-09",
                relationship: .parent, start: daemon.clock.today())
            #expect(binding.status == .active)
            // A direct premium payment is refused: the money goes through the wallet.
            #expect(
                await Self.reason {
                    try await PaymentTests().pay(
                        client, "p1", binding: binding.bindingID, years: [2025], total: 40000, as: Demo.hohhotAuthorizer)
                }
                    == Self.status(.failedPrecondition, "BALANCE_INSUFFICIENT"))
            // R-XP-2
            #expect(
                await Self.reason { try await Self.transfer(client, "t0", binding: binding.bindingID, fen: 10000) }
                    == Self.status(.failedPrecondition, "WALLET_NOT_OPEN"))
            let opened = try await Self.wallet(client).openWallet(
                .with { $0.requestID = "open-1" }, metadata: endUser(Self.mother), options: failFast)
            #expect(opened.opened && opened.wallet.provinceCode == "460000" && opened.wallet.balanceFen == 0)
            // R-XP-3: 2,000.00 goes, 2,000.01 does not; only the authorizer sends.
            #expect(
                await Self.reason { try await Self.transfer(client, "t-big", binding: binding.bindingID, fen: 200_001) }
                    == Self.status(.invalidArgument, "TRANSFER_ABOVE_MAXIMUM"))
            let sent = try await Self.transfer(client, "t1", binding: binding.bindingID, fen: 200_000)
            #expect(sent.transfer.status == .pending && sent.balanceAfterFen == 100_000 && sent.transfer.amountFen == 200_000)
            #expect(sent.transfer.memberNameMasked == "李**" && !sent.transfer.memberIDNumberMasked.contains("19550101"))
            let replay = try await Self.transfer(client, "t1", binding: binding.bindingID, fen: 200_000)
            #expect(replay.transfer.transferID == sent.transfer.transferID, "exactly once per request id")
            #expect(try await Self.balance(daemon) == .yuan(1000))
            #expect(
                await Self.reason { try await Self.transfer(client, "t2", binding: binding.bindingID, fen: 100) }
                    == Self.status(.failedPrecondition, "TRANSFER_PENDING"))
            // R-XP-4: the member sees it and accepts it.
            let listed = try await Self.wallet(client).listWalletTransfers(
                .with { $0.perspective = .member }, metadata: endUser(Self.mother), options: failFast)
            #expect(listed.transfers.map(\.transferID) == [sent.transfer.transferID])
            #expect(
                await Self.reason {
                    try await Self.wallet(client).answerTransfer(
                        .with {
                            $0.requestID = "a0"
                            $0.transferID = sent.transfer.transferID
                            $0.accept = true
                        }, metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
                } == Self.status(.permissionDenied, "NOT_MEMBER"))
            let accepted = try await Self.wallet(client).answerTransfer(
                .with {
                    $0.requestID = "a1"
                    $0.transferID = sent.transfer.transferID
                    $0.accept = true
                }, metadata: endUser(Self.mother), options: failFast)
            #expect(accepted.transfer.status == .accepted)
            let wallet = try await Self.wallet(client).getWallet(.init(), metadata: endUser(Self.mother), options: failFast).wallet
            #expect(wallet.balanceFen == 200_000 && wallet.holdings.map(\.bindingID) == [binding.bindingID])
            #expect(wallet.holdings.first?.carryOverFen == 200_000)
            // The authorizer's view: what each member's wallet holds from him.
            let granted = try await Self.wallet(client).listGrantedHoldings(
                .init(), metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
            #expect(granted.totalFen == 200_000 && granted.holdings.map(\.memberIDNumberMasked) == ["4601**********3226"])
            // R-XP-5: she pays her 2025 Haikou premium (400.00) from the wallet.
            let paid = try await PaymentTests().pay(client, "p2", binding: binding.bindingID, years: [2025], total: 40000, as: Self.mother)
            #expect(paid.payment.fromWallet && paid.payment.totalFen == 40000)
            #expect(try await Self.balance(daemon) == .yuan(1000), "the account paid when it granted")
            let spentFrom = try await Self.wallet(client).getWallet(.init(), metadata: endUser(Self.mother), options: failFast).wallet
            #expect(spentFrom.balanceFen == 160_000)

            // Quiet hours: 22:00 China time is refused.
            daemon.clock.advance(seconds: 10 * 3600)  // 22:00
            #expect(
                await Self.reason { try await Self.transfer(client, "t3", binding: binding.bindingID, fen: 100) }
                    == Self.status(.failedPrecondition, "TRANSFER_QUIET_HOURS"))
            // The next day at 10:00: a transfer not accepted returns at 06:00 the day after.
            daemon.clock.advance(seconds: 12 * 3600)  // 10:00 the next day
            let second = try await Self.transfer(client, "t4", binding: binding.bindingID, fen: 30_000)
            #expect(try await Self.balance(daemon) == .yuan(700))
            daemon.clock.advance(seconds: 20 * 3600)  // 06:00 the day after
            let read = try await Self.wallet(client).listWalletTransfers(
                .with { $0.perspective = .authorizer }, metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
            #expect(read.transfers.first?.transferID == second.transfer.transferID)
            #expect(read.transfers.first?.status == .returned, "reads as returned at its return time, before the job runs")
            #expect(try await daemon.daemon.service.returnDueTransfers() == 1)
            #expect(try await daemon.daemon.service.returnDueTransfers() == 0, "returned once")
            #expect(try await Self.balance(daemon) == .yuan(1000))

            // R-XP-6: the mother ends the binding; what her wallet holds comes back to carry-over.
            let ended = try await Gongji_V1_BindingService.Client(wrapping: client).revokeBinding(
                .with {
                    $0.requestID = "end-1"
                    $0.bindingID = binding.bindingID
                }, metadata: endUser(Self.mother), options: failFast)
            #expect(ended.binding.status == .revoked)
            let after = try await daemon.daemon.service.person(idNumber: Demo.hohhotAuthorizer).account
            #expect(after?.currentYear == .yuan(1000) && after?.carryOver == .yuan(1600))
            let emptied = try await Self.wallet(client).getWallet(.init(), metadata: endUser(Self.mother), options: failFast).wallet
            #expect(emptied.balanceFen == 0 && emptied.holdings.isEmpty)
            // Both parties' deduction lists carry every step of the transfers (R-SETL-9 style).
            let deductions = try await Gongji_V1_PremiumService.Client(wrapping: client).listAccountDeductions(
                .with { $0.pageSize = 20 }, metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
            let kinds = Set(deductions.uses.map(\.kind))
            #expect(kinds.isSuperset(of: [.walletTransfer, .walletTransferAccepted, .walletReturned]), "\(kinds)")
            #expect(deductions.uses.allSatisfy { $0.kind == .premium || !$0.transferID.isEmpty })
        }
        let kinds = try await daemon.daemon.store.events(
            after: 0, of: try ResidentID.parse(Demo.hohhotAuthorizer, today: daemon.clock.today()), limit: 100
        ).map(\.kind)
        #expect(
            kinds == [
                .bindingCreated, .walletTransferSent, .walletTransferAccepted, .premiumPaid, .walletTransferSent, .walletTransferReturned,
                .bindingEnded,
                .walletReturned,
            ], "\(kinds)")
        #expect(try await daemon.daemon.store.ledgerSum() == .zero)

        // R-XP-7: October is cleared once it has ended: granted 2,000.00, spent 400.00 (her premium), returned 1,600.00:
        // Inner Mongolia owes Hainan the 400.00 Hainan's fund collected from the wallet.
        func clearing() async throws -> [Gongji_V1_ReportCrossProvinceClearingResponse] {
            try await daemon.withClient("operator") { client in
                try await Gongji_V1_OperationsService.Client(wrapping: client).reportCrossProvinceClearing(
                    .with { $0.month = "2024-10" }, options: failFast
                ) { response in try await response.messages.reduce(into: []) { $0.append($1) } }
            }
        }
        #expect(await Self.reason { try await clearing() } == Self.status(.failedPrecondition, "MONTH_NOT_ENDED"))
        daemon.clock.advance(seconds: 15 * 86_400)
        let report = try await clearing()
        let pair = try #require(report.first?.pair)
        #expect(pair.fromProvinceCode == "150000" && pair.toProvinceCode == "460000")
        #expect(pair.grantedFen == 200_000 && pair.spentFen == 40000 && pair.returnedFen == 160_000 && pair.netOwedFen == 40000)
        #expect(pair.movementCount == 3 && report.dropFirst().map(\.movement.kind) == [.granted, .spent, .returned])
    }

    @Test("GetRegionPolicy shows the cross-province terms: enabled, 2,000.00, 3 a day, 22:00–06:00, return at 06:00")
    func policyVisible() async throws {
        let daemon = try await TestDaemon.start(clock: TestClock(inWindow2025))
        defer { Task { await daemon.stop() } }
        let policy = try await daemon.withClient("operator") { client in
            try await Gongji_V1_OperationsService.Client(wrapping: client).getRegionPolicy(
                .with { $0.regionCode = "150100" }, options: failFast
            ).policy
        }
        #expect(policy.crossProvince.enabled && policy.crossProvince.transferMaxFen == 200_000 && policy.crossProvince.transfersPerDay == 3)
        #expect(
            policy.crossProvince.quietFrom == "22:00" && policy.crossProvince.quietUntil == "06:00"
                && policy.crossProvince.returnAt == "06:00")
    }
}
