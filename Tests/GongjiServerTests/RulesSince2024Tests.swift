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

/// The shipped policies with Ma'anshan's 2025 amount, plus a Hefei (340100) policy with its own
/// standard when `withHefei` (test data).
func policiesWithHefei(_ withHefei: Bool) throws -> URL {
    let dir = try policiesWithMaanshanAmount()
    if withHefei {
        var hefei = try RegionPolicy.decode(json5: Data(contentsOf: dir.appendingPathComponent("maanshan.json5")), source: "maanshan")
        hefei.region = RegionCode("340100")!
        hefei.name = "合肥市"
        hefei.premiums[0].amount = .yuan(400)
        try hefei.canonicalJSON().write(to: dir.appendingPathComponent("hefei.json5"))
    }
    return dir
}

@Suite("The rules marked 2026-12, over the wire", .serialized)
struct RulesSince2024Tests {
    typealias Client = GRPCClient<HTTP2ClientTransport.Posix>

    @Test("R-BIND-11 a registry change ends the open bindings it no longer allows; payments through them fail with that reason")
    func registryEndsBindings() async throws {
        let daemon = try await PaymentTests.start()
        defer { Task { await daemon.stop() } }
        let binding = try await daemon.withClient("gateway") { client in
            try await PaymentTests().bind(
                client, authorizer: Demo.hohhotAuthorizer, member: Demo.hohhotChild, name: "王小明",
                version: "hohhot-2024-09", start: daemon.clock.today()
            ).bindingID
        }
        // The platform reports that the authorizer has left the employee scheme.
        try await daemon.withClient("operator") { client in
            _ = try await Gongji_V1_RegistryService.Client(wrapping: client).upsertPerson(
                .with {
                    $0.requestID = "leave"
                    $0.person = .with {
                        $0.idNumber = Demo.hohhotAuthorizer
                        $0.name = "王建国"
                        $0.insuranceType = .resident
                        $0.status = .normal
                        $0.regionCode = "150100"
                    }
                }, options: failFast)
        }
        try await daemon.withClient("gateway") { client in
            let ended = try await Gongji_V1_BindingService.Client(wrapping: client).getBinding(
                .with { $0.bindingID = binding },
                metadata: endUser(Demo.hohhotAuthorizer), options: failFast
            ).binding
            #expect(ended.status == .revoked && ended.endedBy == .registry && ended.endReason == "AUTHORIZER_NOT_EMPLOYEE_INSURED")
            let refused = await rpcFailure {
                try await PaymentTests().pay(client, "after", binding: binding, years: [2025], total: 40500, as: Demo.hohhotAuthorizer)
            }
            #expect(refused?.reason == "BINDING_REVOKED" && refused?.reasonMetadata["end_reason"] == "AUTHORIZER_NOT_EMPLOYEE_INSURED")
        }
        let events = try await daemon.daemon.store.bindingEvents(id: binding)
        #expect(events.last?.identity == "registry" && events.last?.status == "revoked")
        // An import that terminates a member ends that member's bindings too, in the same transaction.
        _ = try await daemon.daemon.service.setAvailability(
            regionCode: "150900", suspended: false, key: nil, at: daemon.daemon.service.now())
        let second = try await daemon.withClient("gateway") { client in
            try await PaymentTests().bind(
                client, authorizer: Demo.ulanqabAuthorizer, member: Demo.ulanqabChild, name: "李小明",
                version: "ulanqab-2024-09", start: daemon.clock.today()
            ).bindingID
        }
        try await daemon.withClient("operator") { client in
            _ = try await importFile(
                client,
                """
                {"kind":"person","id_number":"\(Demo.ulanqabChild)","name":"李小明","insurance_type":"resident","status":"terminated","region_code":"150900"}
                """, format: .jsonLines)
        }
        let terminated = try await daemon.daemon.store.binding(id: second)
        #expect(terminated?.binding.endedBy == .registry && terminated?.binding.endReason == "MEMBER_TERMINATED")
    }

    @Test("R-DOC-5 two authorizers upload the same bytes: stored once, both bind, each keeps his or her own retention")
    func sharedUpload() async throws {
        let daemon = try await PaymentTests.start()
        defer { Task { await daemon.stop() } }
        let image = fakeJPEG(size: 6000, seed: 77)
        try await daemon.withClient("gateway") { client in
            let first = try await upload(client, image, side: .front, as: Demo.hohhotAuthorizer)
            let back = try await upload(client, fakePNG(size: 3333), side: .back, as: Demo.hohhotAuthorizer)
            daemon.clock.advance(seconds: 3600)
            let second = try await upload(client, image, side: .front, as: Demo.ulanqabAuthorizer)
            let ulanqabBack = try await upload(client, fakePNG(size: 3334), side: .back, as: Demo.ulanqabAuthorizer)
            #expect(first.documentID == second.documentID && second.deduplicated)
            #expect(second.expireTime.seconds - first.expireTime.seconds == 3600, "each uploader's own retention")
            // Both cite the same document: the first uploader is not robbed of it.
            let bindings = Gongji_V1_BindingService.Client(wrapping: client)
            let hohhot = try await bindings.createBinding(
                createRequest(
                    "h", member: Demo.hohhotChild, name: "王小明", start: daemon.clock.today(), front: first.documentID, back: back.documentID),
                metadata: endUser(Demo.hohhotAuthorizer), options: failFast
            ).binding
            _ = try await daemon.daemon.service.setAvailability(
                regionCode: "150900", suspended: false, key: nil, at: daemon.daemon.service.now())
            let ulanqab = try await bindings.createBinding(
                createRequest(
                    "u", member: Demo.ulanqabChild, name: "李小明", start: daemon.clock.today(), front: second.documentID,
                    back: ulanqabBack.documentID, version: "ulanqab-2024-09"),
                metadata: endUser(Demo.ulanqabAuthorizer), options: failFast
            ).binding
            #expect(hohhot.frontDocumentID == ulanqab.frontDocumentID)
        }
    }

    @Test(
        "R-DOC-5 retention counts per uploader: the first uploader's hold expires on its own time, the bytes stay while another holds them")
    func perUploaderRetention() async throws {
        let daemon = try await PaymentTests.start()
        defer { Task { await daemon.stop() } }
        let image = fakeJPEG(size: 6000, seed: 78)
        let id = try await daemon.withClient("gateway") { client in
            let first = try await upload(client, image, side: .front, as: Demo.hohhotAuthorizer)
            daemon.clock.advance(seconds: Int64(daemon.config.retentionSeconds) - 10)
            _ = try await upload(client, image, side: .front, as: Demo.ulanqabAuthorizer)
            daemon.clock.advance(seconds: 20)
            return first.documentID
        }
        // The first hold has expired, the second has not: the bytes stay, but only for the second uploader.
        #expect(try await daemon.daemon.service.removeExpiredDocuments() == 0)
        try await daemon.withClient("gateway") { client in
            let back = try await upload(client, fakePNG(size: 3335), side: .back, as: Demo.hohhotAuthorizer)
            let refused = await rpcFailure {
                try await Gongji_V1_BindingService.Client(wrapping: client).createBinding(
                    createRequest(
                        "late", member: Demo.hohhotChild, name: "王小明", start: daemon.clock.today(), front: id, back: back.documentID),
                    metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
            }
            #expect(refused?.reason == "DOCUMENT_NOT_FOUND", "the first uploader's upload has expired")
        }
        daemon.clock.advance(seconds: Int64(daemon.config.retentionSeconds))
        #expect(try await daemon.daemon.service.removeExpiredDocuments() >= 1, "no holder left: the bytes go")
        #expect(try await !daemon.daemon.store.documentIDs().contains(id))
    }

    /// A Ma'anshan authorizer with 300.00 carried over binds his son, insured in Hefei (340100).
    func hefeiChild(_ daemon: TestDaemon) async throws -> String {
        let today = daemon.clock.today()
        _ = try await daemon.daemon.store.rollOver(
            into: today.year + 1, today: CivilDate(year: today.year + 1, month: 1, day: 1)!,
            now: daemon.clock.nowUnix())
        let child = makeID("340102", "20100601", 777)
        _ = try await daemon.daemon.service.importRows([
            .person(
                Person(
                    id: try ResidentID.parse(child, today: today), name: "张合肥", insuranceType: .resident, status: .normal,
                    region: RegionCode("340100")!), paidYears: [])
        ])
        let binding = try await daemon.withClient("gateway") { client in
            try await Gongji_V1_BindingService.Client(wrapping: client).createBinding(
                createRequest("hf", member: child, name: "张合肥", start: today, version: ""),
                metadata: endUser(Demo.maanshanAuthorizer), options: failFast
            ).binding
        }
        _ = try await daemon.withClient("reviewer") { client in
            try await Gongji_V1_ReviewService.Client(wrapping: client).approveBinding(
                .with {
                    $0.requestID = "a"
                    $0.bindingID = binding.bindingID
                },
                options: failFast)
        }
        return binding.bindingID
    }

    @Test(
        "R-PAY-2a a Ma'anshan authorizer pays for a child insured in Hefei with Hefei's standard; without Hefei's policy the error names 340100"
    )
    func memberRegionStandard() async throws {
        let withHefei = try await TestDaemon.start(clock: TestClock(inWindow2025), policies: try policiesWithHefei(true))
        defer { Task { await withHefei.stop() } }
        try await Demo.load(withHefei)
        let binding = try await hefeiChild(withHefei)
        try await withHefei.withClient("gateway") { client in
            let quote = try await Gongji_V1_PremiumService.Client(wrapping: client).quotePremium(
                .with {
                    $0.bindingID = binding
                    $0.years = [2025]
                },
                metadata: endUser(Demo.maanshanAuthorizer), options: failFast)
            #expect(quote.totalFen == 40000, "Hefei's standard, not Ma'anshan's 380.00")
            #expect(quote.availableFen == 30000, "Ma'anshan's rule: carry-over only")
            _ = try await PaymentTests().pay(
                client, "hf-pay", binding: binding, years: [2025], total: 40000, as: Demo.maanshanAuthorizer,
                external: (10000, "CASH-HF"))
        }
        #expect(try await withHefei.daemon.store.ledgerBalance(of: "region:340100:premium_collection") == .yuan(400))

        let withoutHefei = try await TestDaemon.start(clock: TestClock(inWindow2025), policies: try policiesWithHefei(false))
        defer { Task { await withoutHefei.stop() } }
        try await Demo.load(withoutHefei)
        let orphan = try await hefeiChild(withoutHefei)
        try await withoutHefei.withClient("gateway") { client in
            let refused = await rpcFailure {
                try await Gongji_V1_PremiumService.Client(wrapping: client).quotePremium(
                    .with {
                        $0.bindingID = orphan
                        $0.years = [2025]
                    },
                    metadata: endUser(Demo.maanshanAuthorizer), options: failFast)
            }
            #expect(refused?.code == .failedPrecondition && refused?.reason == "MEMBER_REGION_NOT_SUPPORTED")
            #expect(refused?.reasonMetadata["region"] == "340100")
        }
    }

    @Test("GetRegionPolicy answers a typed policy beside the JSON; R-PAY-7a the quote says when a year buys enrollment only")
    func typedPolicy() async throws {
        let daemon = try await PaymentTests.start()
        defer { Task { await daemon.stop() } }
        try await daemon.withClient("operator") { client in
            let answer = try await Gongji_V1_OperationsService.Client(wrapping: client).getRegionPolicy(
                .with { $0.regionCode = "340500" }, options: failFast)
            #expect(answer.policy.regionCode == "340500" && answer.policy.reviewed && answer.policy.payment.balanceParts == [.carryOver])
            #expect(answer.policy.member.relationships == [.spouse, .parent, .child] && !answer.policy.member.hasLimit)
            #expect(answer.policy.settlement.reversalDays == 30 && answer.policy.premiums.first?.amountFen == 38000)
        }
        try await daemon.withClient("gateway") { client in
            let binding = try await PaymentTests().bind(
                client, authorizer: Demo.hohhotAuthorizer, member: Demo.hohhotChild, name: "王小明",
                version: "hohhot-2024-09", start: daemon.clock.today())
            let quote = try await Gongji_V1_PremiumService.Client(wrapping: client).quotePremium(
                .with {
                    $0.bindingID = binding.bindingID
                    $0.years = [2025]
                }, metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
            #expect(!quote.lines[0].enrollmentOnly && quote.lines[0].benefitStartDate == "2025-01-01")
        }
    }
}
