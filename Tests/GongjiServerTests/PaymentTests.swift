import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GongjiClient
import GongjiCore
import GongjiDev
import GongjiProto
import GongjiSQLite
import GongjiServer
import GongjiStorage
import Testing

/// 2024-10-15 12:00 in China: inside the 2025 collection windows of the shipped policies.
let inWindow2025: Int64 = 1_728_964_800

/// The shipped policies with Ma'anshan's 2025 amount set (test data: the source publishes none).
func policiesWithMaanshanAmount() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gongji-policies-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let source = TestDaemon.repositoryRoot.appendingPathComponent("deploy/policies")
    for name in ["hohhot", "ulanqab"] {
        try FileManager.default.copyItem(
            at: source.appendingPathComponent("\(name).json5"), to: dir.appendingPathComponent("\(name).json5"))
    }
    var maanshan = try RegionPolicy.decode(json5: Data(contentsOf: source.appendingPathComponent("maanshan.json5")), source: "maanshan")
    maanshan.premiums[0].amount = .yuan(380)
    try maanshan.canonicalJSON().write(to: dir.appendingPathComponent("maanshan.json5"))
    return dir
}

@Suite("Premium payment end to end", .serialized)
struct PaymentTests {
    typealias Client = GRPCClient<HTTP2ClientTransport.Posix>

    static func start(directory: URL? = nil, pki: TestPKI? = nil) async throws -> TestDaemon {
        let daemon = try await TestDaemon.start(
            directory: directory, pki: pki, clock: TestClock(inWindow2025), policies: try policiesWithMaanshanAmount())
        if directory == nil { try await Demo.load(daemon) }
        return daemon
    }

    /// Resumes Ulanqab (it ships suspended).
    func resumeUlanqab(_ daemon: TestDaemon) async throws {
        _ = try await daemon.daemon.service.setAvailability(
            regionCode: "150900", suspended: false, key: nil, at: daemon.daemon.service.now())
    }

    /// Binds `member` to `authorizer` in a region without review, uploading images as needed.
    func bind(
        _ client: Client, authorizer: String, member: String, name: String, version: String, relationship: Gongji_V1_Relationship = .child,
        start: CivilDate
    ) async throws -> Gongji_V1_Binding {
        let front = try await upload(
            client, fakeJPEG(size: 4000, seed: UInt8(truncatingIfNeeded: authorizer.hashValue)), side: .front, as: authorizer)
        let back = try await upload(client, fakePNG(size: 3000 + Int(authorizer.suffix(3).hashValue & 0xFF)), side: .back, as: authorizer)
        return try await Gongji_V1_BindingService.Client(wrapping: client).createBinding(
            createRequest(
                "bind-\(member)", member: member, name: name, relationship: relationship, start: start,
                front: front.documentID, back: back.documentID, version: version),
            metadata: endUser(authorizer), options: failFast
        ).binding
    }

    func pay(
        _ client: Client, _ requestID: String, binding: String, years: [Int32], total: Int64, as user: String,
        external: (Int64, String)? = nil
    ) async throws -> Gongji_V1_PayPremiumResponse {
        try await Gongji_V1_PremiumService.Client(wrapping: client).payPremium(
            .with {
                $0.requestID = requestID
                $0.bindingID = binding
                $0.years = years
                $0.expectedTotalFen = total
                if let external {
                    $0.external = .with {
                        $0.amountFen = external.0
                        $0.reference = external.1
                    }
                }
            }, metadata: endUser(user), options: failFast)
    }

    func account(_ daemon: TestDaemon, _ id: String) async throws -> PersonalAccount {
        try await daemon.daemon.service.person(idNumber: id).account!
    }

    @Test(
        "R-PAY-4 worked examples: 400.00 is short by 5.00 and nothing changes; 800.00 pays 2024+2025 as one payment of 780.00; R-SUSP-1/R-SUSP-2 while suspended"
    )
    func ulanqabWorkedExamples() async throws {
        let daemon = try await Self.start()
        defer { Task { await daemon.stop() } }
        let today = daemon.clock.today()
        try await resumeUlanqab(daemon)
        let binding = try await daemon.withClient("gateway") { client in
            try await bind(
                client, authorizer: Demo.ulanqabAuthorizer, member: Demo.ulanqabChild, name: "李小明", version: "ulanqab-2024-09", start: today
            )
        }
        // R-SUSP-1: suspended again, payment fails UNAVAILABLE naming the alternatives; resumed, it works.
        _ = try await daemon.daemon.service.setAvailability(
            regionCode: "150900", suspended: true, key: nil, at: daemon.daemon.service.now())
        try await daemon.withClient("gateway") { client in
            let suspended = await rpcFailure {
                try await pay(client, "s", binding: binding.bindingID, years: [2025], total: 40500, as: Demo.ulanqabAuthorizer)
            }
            #expect(suspended?.code == .unavailable && suspended?.reason == "FAMILY_PAYMENT_SUSPENDED")
            #expect(suspended?.helpDescriptions.contains { $0.contains("12393") } == true)
            // R-SUSP-2: the quote still answers, and says payment is suspended and where to pay instead.
            let quote = try await Gongji_V1_PremiumService.Client(wrapping: client).quotePremium(
                .with {
                    $0.bindingID = binding.bindingID
                    $0.years = [2025]
                }, metadata: endUser(Demo.ulanqabAuthorizer), options: failFast)
            #expect(quote.totalFen == 40500 && quote.paymentSuspended && quote.hotline == "12393")
            #expect(quote.alternativeChannels.contains { $0.contains("蒙速办") })
        }
        try await resumeUlanqab(daemon)
        try await daemon.withClient("gateway") { client in
            // The demo Ulanqab authorizer holds 800.00.
            let before = try await account(daemon, Demo.ulanqabAuthorizer)
            #expect(before.total == .yuan(800))
            let paid = try await pay(
                client, "p1", binding: binding.bindingID, years: [2024, 2025], total: 78000, as: Demo.ulanqabAuthorizer)
            #expect(paid.payment.totalFen == 78000)
            #expect(paid.payment.lines.map(\.year) == [2024, 2025])
            #expect(paid.payment.lines.map(\.amountFen) == [37500, 40500])
            #expect(try await account(daemon, Demo.ulanqabAuthorizer).total == .yuan(20))
        }
        // A second Ulanqab authorizer with 400.00 for a 405.00 premium.
        let poor = makeID("150902", "19790101", 777)
        let poorChild = makeID("150902", "20090909", 778)
        _ = try await daemon.daemon.service.importRows([
            .person(
                Person(
                    id: try ResidentID.parse(poor, today: today), name: "赵一", insuranceType: .employee, status: .normal, region: .ulanqab),
                paidYears: []),
            .person(
                Person(
                    id: try ResidentID.parse(poorChild, today: today), name: "赵二", insuranceType: .resident, status: .normal,
                    region: .ulanqab), paidYears: []),
            .credit(try ResidentID.parse(poor, today: today), amount: .yuan(400), part: .currentYear, reference: "POOR-1"),
        ])
        try await daemon.withClient("gateway") { client in
            let binding = try await bind(client, authorizer: poor, member: poorChild, name: "赵二", version: "ulanqab-2024-09", start: today)
            let short = await rpcFailure { try await pay(client, "p2", binding: binding.bindingID, years: [2025], total: 40500, as: poor) }
            #expect(short?.code == .failedPrecondition && short?.reason == "BALANCE_INSUFFICIENT")
            #expect(short?.reasonMetadata["shortfall_fen"] == "500")
            #expect(short?.localized?.contains("5.00") == true)
            let quote = try await Gongji_V1_PremiumService.Client(wrapping: client).quotePremium(
                .with {
                    $0.bindingID = binding.bindingID
                    $0.years = [2025]
                }, metadata: endUser(poor), options: failFast)
            #expect(quote.totalFen == 40500 && quote.shortfallFen == 500 && quote.availableFen == 40000 && !quote.externalShortfallAllowed)
            #expect(quote.lines.first?.late == false && quote.lines.first?.benefitStartDate == "2025-01-01")
        }
        #expect(try await account(daemon, poor).total == .yuan(400), "nothing changes")
        #expect(
            try await daemon.daemon.store.accountUses(of: try ResidentID.parse(poor, today: today), as: .authorizer, before: nil, limit: 10)
                .isEmpty)
        #expect(try await daemon.daemon.store.ledgerSum() == .zero)
    }

    @Test("R-PAY-2 hohhot special-category child pays 200; R-PAY-3 a wrong expected amount is refused; R-PAY-8 never twice")
    func hohhotAmounts() async throws {
        let daemon = try await Self.start()
        defer { Task { await daemon.stop() } }
        let today = daemon.clock.today()
        try await daemon.withClient("gateway") { client in
            let binding = try await bind(
                client, authorizer: Demo.hohhotAuthorizer, member: Demo.hohhotChild2, name: "王小红",
                version: "hohhot-2024-09", start: today)
            let mismatch = await rpcFailure {
                try await pay(client, "m", binding: binding.bindingID, years: [2025], total: 40500, as: Demo.hohhotAuthorizer)
            }
            #expect(mismatch?.code == .invalidArgument && mismatch?.reason == "AMOUNT_MISMATCH")
            #expect(mismatch?.reasonMetadata["actual_fen"] == "20000")
            let paid = try await pay(client, "ok", binding: binding.bindingID, years: [2025], total: 20000, as: Demo.hohhotAuthorizer)
            #expect(paid.payment.lines.first?.category == "subsistence_allowance")
            let twice = await rpcFailure {
                try await pay(client, "again", binding: binding.bindingID, years: [2025], total: 20000, as: Demo.hohhotAuthorizer)
            }
            #expect(twice?.code == .alreadyExists && twice?.reason == "PREMIUM_ALREADY_PAID")
            // R-PAY-1: only the authorizer pays.
            let byMember = await rpcFailure {
                try await pay(client, "mem", binding: binding.bindingID, years: [2025], total: 20000, as: Demo.hohhotChild2)
            }
            #expect(byMember?.code == .permissionDenied && byMember?.reason == "NOT_AUTHORIZER")
            let stranger = await rpcFailure {
                try await pay(client, "str", binding: binding.bindingID, years: [2025], total: 20000, as: Demo.maanshanAuthorizer)
            }
            #expect(stranger?.code == .permissionDenied)
            // R-BIND-7: after revocation payments fail.
            let other = try await bind(
                client, authorizer: Demo.hohhotAuthorizer, member: Demo.hohhotChild, name: "王小明", version: "hohhot-2024-09", start: today)
            _ = try await Gongji_V1_BindingService.Client(wrapping: client).revokeBinding(
                .with {
                    $0.requestID = "rv"
                    $0.bindingID = other.bindingID
                },
                metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
            let revoked = await rpcFailure {
                try await pay(client, "rv", binding: other.bindingID, years: [2025], total: 40500, as: Demo.hohhotAuthorizer)
            }
            #expect(revoked?.reason == "BINDING_REVOKED")
        }
    }

    @Test("R-PAY-5 maanshan: pending cannot pay; carry-over only; the shortfall paid externally is recorded apart")
    func maanshanPayment() async throws {
        let daemon = try await Self.start()
        defer { Task { await daemon.stop() } }
        let today = daemon.clock.today()
        let authorizer = try ResidentID.parse(Demo.maanshanAuthorizer, today: today)
        // 300.00 carry-over (last year's credit rolled over), plus 1000.00 current year that may not pay.
        // The rollover of 1 January next year (R-ACCT-2 refuses it before then).
        _ = try await daemon.daemon.store.rollOver(
            into: today.year + 1, today: CivilDate(year: today.year + 1, month: 1, day: 1)!,
            now: daemon.clock.nowUnix())
        _ = try await daemon.daemon.store.credit(
            authorizer, amount: .yuan(1000), part: .currentYear, reference: "MAS-CUR", now: daemon.clock.nowUnix())
        let binding = try await daemon.withClient("gateway") { client in
            try await Gongji_V1_BindingService.Client(wrapping: client).createBinding(
                createRequest("mb", member: Demo.maanshanChild, name: "张小明", start: today, version: ""),
                metadata: endUser(Demo.maanshanAuthorizer), options: failFast
            ).binding
        }
        try await daemon.withClient("gateway") { client in
            let pending = await rpcFailure {
                try await pay(client, "x", binding: binding.bindingID, years: [2025], total: 38000, as: Demo.maanshanAuthorizer)
            }
            #expect(pending?.reason == "BINDING_PENDING_REVIEW")
        }
        _ = try await daemon.withClient("reviewer") { client in
            try await Gongji_V1_ReviewService.Client(wrapping: client).approveBinding(
                .with {
                    $0.requestID = "a"
                    $0.bindingID = binding.bindingID
                }, options: failFast)
        }
        try await daemon.withClient("gateway") { client in
            let quote = try await Gongji_V1_PremiumService.Client(wrapping: client).quotePremium(
                .with {
                    $0.bindingID = binding.bindingID
                    $0.years = [2025]
                },
                metadata: endUser(Demo.maanshanAuthorizer), options: failFast)
            #expect(quote.availableFen == 30000 && quote.shortfallFen == 8000 && quote.externalShortfallAllowed)
            let short = await rpcFailure {
                try await pay(client, "y", binding: binding.bindingID, years: [2025], total: 38000, as: Demo.maanshanAuthorizer)
            }
            #expect(short?.reason == "BALANCE_INSUFFICIENT")
            let paid = try await pay(
                client, "z", binding: binding.bindingID, years: [2025], total: 38000, as: Demo.maanshanAuthorizer,
                external: (8000, "CASH-0001"))
            #expect(paid.payment.postings.map(\.amountFen) == [30000] && paid.payment.postings.first?.part == .carryOver)
            #expect(paid.payment.external.amountFen == 8000 && paid.payment.external.reference == "CASH-0001")
            #expect(paid.receipt.accountFen == 30000 && paid.receipt.externalFen == 8000)
        }
        let after = try await account(daemon, Demo.maanshanAuthorizer)
        #expect(after.carryOver == .zero && after.currentYear == .yuan(1000))
        #expect(try await daemon.daemon.store.ledgerSum() == .zero)
        #expect(try await daemon.daemon.store.ledgerBalance(of: "region:340500:premium_collection") == .yuan(380))
    }

    @Test(
        "R-ACCT-3 a freshly loaded deployment: carry-over imported (JSON lines and CSV) and credited names its part, and a Ma'anshan family payment takes it before any rollover"
    )
    func maanshanPaysFromLoadedCarryOver() async throws {
        let daemon = try await TestDaemon.start(clock: TestClock(inWindow2025), policies: try policiesWithMaanshanAmount())
        defer { Task { await daemon.stop() } }
        let today = daemon.clock.today()
        let authorizer = Demo.maanshanAuthorizer
        let child = Demo.maanshanChild
        try await daemon.withClient("operator") { client in
            let json = """
                {"kind":"person","id_number":"\(authorizer)","name":"张建国","insurance_type":"employee","status":"normal","region_code":"340500"}
                {"kind":"person","id_number":"\(child)","name":"张小明","insurance_type":"resident","status":"normal","region_code":"340500"}
                {"kind":"credit","id_number":"\(authorizer)","amount_fen":20000,"reference":"MAS-CO-1","balance_part":"carry_over"}
                {"kind":"credit","id_number":"\(authorizer)","amount_fen":100000,"reference":"MAS-CUR-1"}
                """
            let first = try await importFile(client, json, format: .jsonLines)
            #expect(first.creditsApplied == 2)
            let csv = RegistryImport.csvColumns.joined(separator: ",") + "\ncredit,\(authorizer),,,,,,,10000,MAS-CO-2,carry_over\n"
            #expect(try await importFile(client, csv, format: .csv).creditsApplied == 1)
            let older = RegistryImport.csvColumnsBeforeBalancePart.joined(separator: ",") + "\ncredit,\(authorizer),,,,,,,500,MAS-CUR-2\n"
            #expect(
                try await importFile(client, older, format: .csv).creditsApplied == 1,
                "a file without balance_part credits the current year")
            let bad = await rpcFailure {
                try await importFile(client, json.replacingOccurrences(of: "carry_over", with: "carryover"), format: .jsonLines)
            }
            #expect(bad?.reason == "IMPORT_ROW_INVALID", "an unknown balance_part refuses the file")
            let registry = Gongji_V1_RegistryService.Client(wrapping: client)
            let credited = try await registry.creditAccount(
                .with {
                    $0.requestID = "co-3"
                    $0.idNumber = authorizer
                    $0.amountFen = 8000
                    $0.reference = "MAS-CO-3"
                    $0.part = .carryOver
                }, options: failFast)
            #expect(credited.applied && credited.account.carryOverFen == 38000 && credited.account.currentYearFen == 100500)
            let unknown = await rpcFailure {
                _ = try await registry.creditAccount(
                    .with {
                        $0.requestID = "co-4"
                        $0.idNumber = authorizer
                        $0.amountFen = 1
                        $0.reference = "MAS-CO-4"
                        $0.part = .UNRECOGNIZED(7)
                    }, options: failFast)
            }
            #expect(unknown?.reason == "INVALID_FIELD")
        }
        let binding = try await daemon.withClient("gateway") { client in
            try await Gongji_V1_BindingService.Client(wrapping: client).createBinding(
                createRequest("mb", member: child, name: "张小明", start: today, version: ""),
                metadata: endUser(authorizer), options: failFast
            ).binding
        }
        _ = try await daemon.withClient("reviewer") { client in
            try await Gongji_V1_ReviewService.Client(wrapping: client).approveBinding(
                .with {
                    $0.requestID = "a"
                    $0.bindingID = binding.bindingID
                }, options: failFast)
        }
        try await daemon.withClient("gateway") { client in
            let paid = try await pay(client, "z", binding: binding.bindingID, years: [2025], total: 38000, as: authorizer)
            #expect(paid.payment.postings.map(\.amountFen) == [38000] && paid.payment.postings.first?.part == .carryOver)
        }
        let after = try await account(daemon, authorizer)
        #expect(
            after.carryOver == .zero && after.currentYear == Money(fen: 100500),
            "the current year is untouched (Ma'anshan pays from carry-over only)")
        #expect(try await daemon.daemon.store.ledgerSum() == .zero)
        #expect(
            try await daemon.daemon.store.ledgerBalance(
                of: LedgerAccount.person(try ResidentID.parse(authorizer, today: today), .carryOver)) == .zero)
    }

    @Test("R-PAY-9 a retried payment returns the original result, also after a restart; key reuse with other content is refused")
    func idempotentPayment() async throws {
        let daemon = try await Self.start()
        let today = daemon.clock.today()
        let (first, bindingID) = try await daemon.withClient("gateway") { client in
            let binding = try await bind(
                client, authorizer: Demo.hohhotAuthorizer, member: Demo.hohhotChild, name: "王小明", version: "hohhot-2024-09", start: today)
            let first = try await pay(client, "once", binding: binding.bindingID, years: [2025], total: 40500, as: Demo.hohhotAuthorizer)
            let again = try await pay(client, "once", binding: binding.bindingID, years: [2025], total: 40500, as: Demo.hohhotAuthorizer)
            #expect(again.payment.paymentID == first.payment.paymentID && again.receipt.receiptNumber == first.receipt.receiptNumber)
            let other = await rpcFailure {
                try await pay(client, "once", binding: binding.bindingID, years: [2025], total: 40000, as: Demo.hohhotAuthorizer)
            }
            #expect(other?.code == .alreadyExists && other?.reason == "REQUEST_ID_REUSED")
            // The same request for another end user (the fingerprint holds the end user) never
            // replays the authorizer's payment.
            let stranger = await rpcFailure {
                try await pay(client, "once", binding: binding.bindingID, years: [2025], total: 40500, as: Demo.hohhotSpouse)
            }
            #expect(stranger != nil, "refused")
            #expect(
                !(stranger?.message ?? "").contains(first.payment.paymentID) && !(stranger?.message ?? "").contains(Demo.hohhotAuthorizer))
            return (first, binding.bindingID)
        }
        #expect(try await account(daemon, Demo.hohhotAuthorizer).total == .yuan(1000 - 405), "one deduction")
        let directory = daemon.directory
        let pki = daemon.pki
        await daemon.stop()
        let restarted = try await Self.start(directory: directory, pki: pki)
        defer { Task { await restarted.stop() } }
        try await restarted.withClient("gateway") { client in
            let again = try await pay(client, "once", binding: bindingID, years: [2025], total: 40500, as: Demo.hohhotAuthorizer)
            #expect(again.payment.paymentID == first.payment.paymentID && again.receipt.verificationCode == first.receipt.verificationCode)
        }
        #expect(try await account(restarted, Demo.hohhotAuthorizer).total == .yuan(1000 - 405))
    }

    @Test("two payments for two children on a balance that covers one: exactly one succeeds; many racing payments keep the ledger exact")
    func races() async throws {
        let daemon = try await Self.start()
        defer { Task { await daemon.stop() } }
        let today = daemon.clock.today()
        let children = try await Demo.addHohhotChildren(daemon, count: 6)
        let authorizer = try ResidentID.parse(Demo.hohhotAuthorizer, today: today)
        let bindings = try await daemon.withClient("gateway") { client in
            var result: [String] = []
            for (i, child) in children.enumerated() {
                result.append(
                    try await bind(
                        client, authorizer: Demo.hohhotAuthorizer, member: child, name: "孩子\(i)", version: "hohhot-2024-09", start: today
                    ).bindingID)
            }
            return result
        }
        // Balance 1000.00 covers two of six 405.00 premiums.
        let outcomes = try await daemon.withClient("gateway") { client in
            try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
                for (i, binding) in bindings.enumerated() {
                    group.addTask {
                        (
                            i,
                            (try? await pay(client, "race-\(i)", binding: binding, years: [2025], total: 40500, as: Demo.hohhotAuthorizer))
                                != nil
                        )
                    }
                }
                // Results arrive in completion order: put them back in binding order.
                var ordered = [Bool](repeating: false, count: bindings.count)
                for try await (i, ok) in group { ordered[i] = ok }
                return ordered
            }
        }
        #expect(outcomes.filter { $0 }.count == 2)
        let after = try await account(daemon, Demo.hohhotAuthorizer)
        #expect(after.total == .yuan(1000 - 2 * 405))
        #expect(after.currentYear >= .zero && after.carryOver >= .zero)
        let store = daemon.daemon.store
        #expect(try await store.ledgerSum() == .zero)
        let debited = try await store.ledgerBalance(of: "person:\(authorizer.value):current_year")
            .adding(try await store.ledgerBalance(of: "person:\(authorizer.value):carry_over"))!
        #expect(debited == after.total, "the ledger's view of the account equals the balance")
        let payments = try await store.accountUses(of: authorizer, as: .authorizer, before: nil, limit: 100).filter { $0.kind == .premium }
        #expect(payments.count == 2)
        // The worked example: two payments for two children on a balance that covers one.
        _ = try await store.credit(authorizer, amount: .yuan(405), part: .currentYear, reference: "RACE-TOPUP", now: daemon.clock.nowUnix())
        let unpaid = Array(bindings.enumerated().filter { !outcomes[$0.offset] }.map(\.element).prefix(2))
        let pair = try await daemon.withClient("gateway") { client in
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for (i, binding) in unpaid.enumerated() {
                    group.addTask {
                        (try? await pay(client, "pair-\(i)", binding: binding, years: [2025], total: 40500, as: Demo.hohhotAuthorizer))
                            != nil
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
        }
        #expect(pair.filter { $0 }.count == 1, "exactly one of the two succeeds")
        #expect(try await account(daemon, Demo.hohhotAuthorizer).total == .yuan(1000 - 2 * 405 + 405 - 405))
        #expect(try await store.ledgerSum() == .zero)
    }

    @Test("the remaining failure reasons over the wire: not published, not open, not started, external part, member balance")
    func remainingReasons() async throws {
        // 2024-08-15 in China: before the 2025 windows open. Shipped policies: Ma'anshan 2025 unpublished.
        let daemon = try await TestDaemon.start(clock: TestClock(inWindow2025 - 61 * 86400))
        defer { Task { await daemon.stop() } }
        try await Demo.load(daemon)
        let today = daemon.clock.today()
        try await daemon.withClient("gateway") { client in
            let premiums = Gongji_V1_PremiumService.Client(wrapping: client)
            func quote(_ binding: String, as user: String = Demo.hohhotAuthorizer) async -> RPCError? {
                await rpcFailure {
                    try await premiums.quotePremium(
                        .with {
                            $0.bindingID = binding
                            $0.years = [2025]
                        }, metadata: endUser(user), options: failFast)
                }
            }
            let now = try await bind(
                client, authorizer: Demo.hohhotAuthorizer, member: Demo.hohhotChild, name: "王小明", version: "hohhot-2024-09", start: today)
            #expect(await quote(now.bindingID)?.reason == "COLLECTION_NOT_OPEN")
            let later = try await Gongji_V1_BindingService.Client(wrapping: client).createBinding(
                createRequest(
                    "later", member: Demo.hohhotSpouse, name: "王秀英", relationship: .spouse, start: today.adding(days: 60),
                    front: now.frontDocumentID, back: now.backDocumentID),
                metadata: endUser(Demo.hohhotAuthorizer), options: failFast
            ).binding
            daemon.clock.advance(seconds: 31 * 86400)  // 2024-09-15: the window is open
            #expect(await quote(now.bindingID) == nil)
            #expect(await quote(later.bindingID)?.reason == "BINDING_NOT_STARTED")
            let external = await rpcFailure {
                try await pay(
                    client, "ext", binding: now.bindingID, years: [2025], total: 40500, as: Demo.hohhotAuthorizer,
                    external: (100, "CASH"))
            }
            #expect(external?.reason == "EXTERNAL_PAYMENT_NOT_ALLOWED")
            // R-PAY-6: the member now has a personal account with money in it.
            let member = try ResidentID.parse(Demo.hohhotChild, today: today)
            _ = try await daemon.daemon.service.importRows([
                .person(Person(id: member, name: "王小明", insuranceType: .employee, status: .normal, region: .hohhot), paidYears: []),
                .credit(member, amount: Money(fen: 1), part: .currentYear, reference: "CHILD-1"),
            ])
            #expect(await quote(now.bindingID)?.reason == "MEMBER_ACCOUNT_NOT_EMPTY")
        }
        // Ma'anshan: the 2025 amount is not published; the external part must match the shortfall.
        let maanshan = try await daemon.withClient("gateway") { client in
            try await Gongji_V1_BindingService.Client(wrapping: client).createBinding(
                createRequest("mb", member: Demo.maanshanChild, name: "张小明", start: daemon.clock.today(), version: ""),
                metadata: endUser(Demo.maanshanAuthorizer), options: failFast
            ).binding
        }
        _ = try await daemon.daemon.service.reviewBinding(
            id: maanshan.bindingID, decision: .approve, key: nil,
            actor: ChangeActor(certificateIdentity: "test", endUser: nil, requestID: nil))
        try await daemon.withClient("gateway") { client in
            let unpublished = await rpcFailure {
                try await pay(client, "np", binding: maanshan.bindingID, years: [2025], total: 38000, as: Demo.maanshanAuthorizer)
            }
            #expect(unpublished?.code == .failedPrecondition && unpublished?.reason == "PREMIUM_NOT_PUBLISHED")
        }
    }

    @Test("R-PAY-10 receipts verify; the authorizer lists deductions and the member lists payments, newest first")
    func receiptsAndRecords() async throws {
        let daemon = try await Self.start()
        defer { Task { await daemon.stop() } }
        let today = daemon.clock.today()
        try await daemon.withClient("gateway") { client in
            let premiums = Gongji_V1_PremiumService.Client(wrapping: client)
            let a = try await bind(
                client, authorizer: Demo.hohhotAuthorizer, member: Demo.hohhotChild, name: "王小明", version: "hohhot-2024-09", start: today)
            let b = try await bind(
                client, authorizer: Demo.hohhotAuthorizer, member: Demo.hohhotChild2, name: "王小红", version: "hohhot-2024-09", start: today)
            let first = try await pay(client, "r1", binding: a.bindingID, years: [2025], total: 40500, as: Demo.hohhotAuthorizer)
            let second = try await pay(client, "r2", binding: b.bindingID, years: [2025], total: 20000, as: Demo.hohhotAuthorizer)
            #expect(first.receipt.receiptNumber.hasPrefix("GJ20241015"))
            #expect(first.receipt.payerIDNumberMasked == "1501**********1312" && first.receipt.payerNameMasked == "王**")
            #expect(first.receipt.memberNameMasked == "王**" && first.receipt.years == [2025] && first.receipt.totalFen == 40500)
            let fetched = try await premiums.getReceipt(
                .with { $0.receiptNumber = first.receipt.receiptNumber }, metadata: endUser(Demo.hohhotChild),
                options: failFast)
            #expect(fetched.receipt == first.receipt)
            let genuine = try await premiums.verifyReceipt(
                .with {
                    $0.receiptNumber = first.receipt.receiptNumber
                    $0.verificationCode = first.receipt.verificationCode
                },
                options: failFast)
            #expect(genuine.genuine && genuine.receipt.totalFen == 40500)
            var forged = first.receipt.verificationCode
            forged = String(forged.dropLast()) + (forged.last == "0" ? "1" : "0")
            #expect(
                try await !premiums.verifyReceipt(
                    .with {
                        $0.receiptNumber = first.receipt.receiptNumber
                        $0.verificationCode = forged
                    },
                    options: failFast
                ).genuine)
            #expect(
                try await !premiums.verifyReceipt(
                    .with {
                        $0.receiptNumber = "GJ0"
                        $0.verificationCode = forged
                    }, options: failFast
                ).genuine)
            let page1 = try await premiums.listAccountDeductions(
                .with { $0.pageSize = 1 }, metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
            let page2 = try await premiums.listAccountDeductions(
                .with {
                    $0.pageSize = 1
                    $0.pageToken = page1.nextPageToken
                },
                metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
            #expect(page1.payments.map(\.paymentID) == [second.payment.paymentID])
            #expect(page2.payments.map(\.paymentID) == [first.payment.paymentID] && page2.nextPageToken.isEmpty)
            let member = try await premiums.listMemberPayments(.init(), metadata: endUser(Demo.hohhotChild2), options: failFast)
            #expect(member.payments.map(\.paymentID) == [second.payment.paymentID])
            let notMine = await rpcFailure {
                try await premiums.getPayment(
                    .with { $0.paymentID = first.payment.paymentID },
                    metadata: endUser(Demo.hohhotChild2), options: failFast)
            }
            #expect(notMine?.code == .permissionDenied)
            // Any role may verify.
        }
        let byReviewer = try await daemon.withClient("reviewer") { client in
            try await Gongji_V1_PremiumService.Client(wrapping: client).verifyReceipt(.with { $0.receiptNumber = "GJ0" }, options: failFast)
        }
        #expect(!byReviewer.genuine)
    }

    @Test("R-BIND-8 ulanqab: a newborn is bound and paid for, and the payment enrolls the child")
    func newborn() async throws {
        let daemon = try await Self.start()
        defer { Task { await daemon.stop() } }
        try await resumeUlanqab(daemon)
        let today = daemon.clock.today()
        let baby = makeID("150902", today.adding(days: -30).description.filter { $0 != "-" }, 11)
        try await daemon.withClient("gateway") { client in
            let binding = try await bind(
                client, authorizer: Demo.ulanqabAuthorizer, member: baby, name: "李宝宝", version: "ulanqab-2024-09", start: today)
            #expect(binding.newborn)
            _ = try await pay(client, "baby", binding: binding.bindingID, years: [2025], total: 40500, as: Demo.ulanqabAuthorizer)
        }
        let enrolled = try await daemon.daemon.service.person(idNumber: baby)
        #expect(enrolled.person.insuranceType == .resident && enrolled.person.region == .ulanqab)
    }
}
