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

/// Settlement calls as the hub (or another settlement identity).
struct Settler {
    typealias Client = GRPCClient<HTTP2ClientTransport.Posix>
    let client: Client
    var service: Gongji_V1_SettlementService.Client<HTTP2ClientTransport.Posix> { .init(wrapping: client) }

    static let hospital = "H15010000001"
    static let pharmacy = "P34050000002"

    func request(
        _ id: String, patient: String, amount: Int64, holder: String? = nil, institution: String = hospital
    ) -> Gongji_V1_SettleRequest {
        .with {
            $0.institutionCode = institution
            $0.settlementID = id
            $0.patientIDNumber = patient
            $0.credential = .with {
                $0.type = .electronicVoucher
                $0.holderIDNumber = holder ?? patient
            }
            $0.amountFen = amount
        }
    }

    func settle(
        _ id: String, patient: String, amount: Int64, holder: String? = nil,
        institution: String = hospital
    ) async throws -> Gongji_V1_Settlement {
        try await service.settle(request(id, patient: patient, amount: amount, holder: holder, institution: institution), options: failFast)
            .settlement
    }

    func preSettle(patient: String, amount: Int64) async throws -> Gongji_V1_SettlementSplit {
        try await service.preSettle(
            .with {
                $0.institutionCode = Self.hospital
                $0.patientIDNumber = patient
                $0.credential = .with {
                    $0.type = .idCard
                    $0.holderIDNumber = patient
                }
                $0.amountFen = amount
            }, options: failFast
        ).split
    }

    func reverse(_ id: String, institution: String = hospital) async throws -> Gongji_V1_Settlement {
        try await service.reverseSettlement(
            .with {
                $0.institutionCode = institution
                $0.settlementID = id
            }, options: failFast
        ).settlement
    }
}

@Suite("Settlement at designated institutions end to end", .serialized)
struct SettlementTests {
    typealias Client = GRPCClient<HTTP2ClientTransport.Posix>

    /// A daemon with the demo people and institutions, and the Hohhot child bound to its authorizer.
    func started() async throws -> (TestDaemon, binding: String) {
        let daemon = try await PaymentTests.start()
        let binding = try await daemon.withClient("gateway") { client in
            try await PaymentTests().bind(
                client, authorizer: Demo.hohhotAuthorizer, member: Demo.hohhotChild, name: "王小明",
                version: "hohhot-2024-09", start: daemon.clock.today()
            ).bindingID
        }
        return (daemon, binding)
    }

    func balance(_ daemon: TestDaemon, _ id: String = Demo.hohhotAuthorizer) async throws -> Money {
        try await daemon.daemon.service.person(idNumber: id).account!.total
    }

    @Test(
        "R-SETL-3/4/5/8/9 end to end: pre-settle moves nothing; settle once; retry; id reuse; the authorizer's card; limit; reversal once; lists"
    )
    func endToEnd() async throws {
        let (daemon, binding) = try await started()
        defer { Task { await daemon.stop() } }
        #expect(try await balance(daemon) == .yuan(1000))
        try await daemon.withClient("settlement") { client in
            let settler = Settler(client: client)
            let split = try await settler.preSettle(patient: Demo.hohhotChild, amount: 10000)
            #expect(split.acctPay == 0 && split.acctMulaidPay == 10000 && split.psnCashPay == 0)
            #expect(split.family.map(\.bindingID) == [binding])
            let settled = try await settler.settle("S-1", patient: Demo.hohhotChild, amount: 10000)
            #expect(settled.status == .settled && settled.split.acctMulaidPay == 10000 && settled.institution.kind == .hospital)
            #expect(try await settler.settle("S-1", patient: Demo.hohhotChild, amount: 10000) == settled, "a retry returns the original")
            let reused = await rpcFailure { try await settler.settle("S-1", patient: Demo.hohhotChild, amount: 9000) }
            #expect(reused?.code == .alreadyExists && reused?.reason == "SETTLEMENT_ID_REUSED")
            let borrowed = await rpcFailure {
                try await settler.settle("S-2", patient: Demo.hohhotChild, amount: 100, holder: Demo.hohhotAuthorizer)
            }
            #expect(borrowed?.code == .permissionDenied && borrowed?.reason == "CREDENTIAL_NOT_PATIENTS_OWN")
        }
        #expect(try await balance(daemon) == .yuan(900))
        // R-SETL-8: the authorizer caps medical use at 50.00 a year; 100.00 is already used this year.
        try await daemon.withClient("gateway") { client in
            let bindings = Gongji_V1_BindingService.Client(wrapping: client)
            let capped = try await bindings.setBindingMedicalLimit(
                .with {
                    $0.requestID = "limit-1"
                    $0.bindingID = binding
                    $0.annualLimitFen = 15000
                },
                metadata: endUser(Demo.hohhotAuthorizer), options: failFast
            ).binding
            #expect(capped.hasMedicalLimitFen && capped.medicalLimitFen == 15000)
            let notMine = await rpcFailure {
                try await bindings.setBindingMedicalLimit(
                    .with {
                        $0.requestID = "limit-2"
                        $0.bindingID = binding
                        $0.annualLimitFen = 0
                    },
                    metadata: endUser(Demo.hohhotChild), options: failFast)
            }
            #expect(notMine?.reason == "NOT_AUTHORIZER")
        }
        try await daemon.withClient("settlement") { client in
            let settler = Settler(client: client)
            let capped = try await settler.settle("S-3", patient: Demo.hohhotChild, amount: 10000)
            #expect(capped.split.acctMulaidPay == 5000 && capped.split.psnCashPay == 5000)
            let none = try await settler.preSettle(patient: Demo.hohhotChild, amount: 100)
            #expect(none.acctMulaidPay == 0 && none.familyZeroNote == .limitReached)
            // R-SETL-5: reversed twice, the money comes back once.
            let reversed = try await settler.reverse("S-1")
            #expect(reversed.status == .reversed && reversed.hasReverseTime)
            #expect(try await settler.reverse("S-1") == reversed)
        }
        #expect(try await balance(daemon) == .yuan(950))
        #expect(try await daemon.daemon.store.ledgerSum() == .zero)
        // R-SETL-9: the deductions list and the member's list show settlements and reversals.
        try await daemon.withClient("gateway") { client in
            let premiums = Gongji_V1_PremiumService.Client(wrapping: client)
            let mine = try await premiums.listAccountDeductions(.init(), metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
            #expect(mine.uses.map(\.kind) == [.reversal, .settlement, .settlement])
            #expect(mine.uses.map(\.amountFen) == [10000, 5000, 10000])
            #expect(
                mine.uses.allSatisfy {
                    $0.institutionKind == .hospital && $0.memberIDNumber == Demo.hohhotChild && !$0.institutionName.isEmpty
                })
            let child = try await premiums.listMemberPayments(.init(), metadata: endUser(Demo.hohhotChild), options: failFast)
            #expect(child.uses.count == 3 && child.payments.isEmpty)
        }
    }

    @Test("R-SETL-6 a revoked binding leaves the family part at zero; the own account and cash still answer")
    func revoked() async throws {
        let (daemon, binding) = try await started()
        defer { Task { await daemon.stop() } }
        try await daemon.withClient("gateway") { client in
            _ = try await Gongji_V1_BindingService.Client(wrapping: client).revokeBinding(
                .with {
                    $0.requestID = "r"
                    $0.bindingID = binding
                },
                metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
        }
        try await daemon.withClient("settlement") { client in
            let settled = try await Settler(client: client).settle("S-R", patient: Demo.hohhotChild, amount: 8000)
            #expect(
                settled.split.acctMulaidPay == 0 && settled.split.psnCashPay == 8000 && settled.split.familyZeroNote == .bindingNotActive)
        }
    }

    @Test("roles: the gateway cannot settle, settlement cannot pay premiums, an institution acts only for itself")
    func roles() async throws {
        let (daemon, binding) = try await started()
        defer { Task { await daemon.stop() } }
        try await daemon.withClient("gateway") { client in
            let refused = await rpcFailure { try await Settler(client: client).settle("G-1", patient: Demo.hohhotChild, amount: 100) }
            #expect(refused?.code == .permissionDenied && refused?.reason == "ROLE_NOT_ALLOWED")
        }
        try await daemon.withClient("settlement") { client in
            let refused = await rpcFailure {
                try await Gongji_V1_PremiumService.Client(wrapping: client).payPremium(
                    .with {
                        $0.requestID = "x"
                        $0.bindingID = binding
                        $0.years = [2025]
                        $0.expectedTotalFen = 40500
                    }, metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
            }
            #expect(refused?.reason == "ROLE_NOT_ALLOWED")
            // The hub settles at the pharmacy too.
            _ = try await Settler(client: client).settle("P-1", patient: Demo.hohhotChild, amount: 100, institution: Settler.pharmacy)
        }
        try await daemon.withClient("clinic") { client in
            let settler = Settler(client: client)
            _ = try await settler.settle("C-1", patient: Demo.hohhotChild, amount: 100)
            let elsewhere = await rpcFailure {
                try await settler.settle("C-2", patient: Demo.hohhotChild, amount: 100, institution: Settler.pharmacy)
            }
            #expect(elsewhere?.code == .permissionDenied && elsewhere?.reason == "INSTITUTION_NOT_ALLOWED")
            let another = await rpcFailure { try await settler.reverse("P-1", institution: Settler.pharmacy) }
            #expect(another?.reason == "INSTITUTION_NOT_ALLOWED", "an institution cannot reverse another's settlement")
            let unknown = await rpcFailure { try await settler.reverse("P-1") }
            #expect(unknown?.code == .notFound && unknown?.reason == "SETTLEMENT_NOT_FOUND")
            // Permission comes before replay: the hub's exact request for the pharmacy, replayed by
            // the clinic, is refused with nothing of the original in the answer; other content under
            // the same id is refused the same way (no probing which ids the pharmacy used).
            let replayed = await rpcFailure {
                try await settler.settle("P-1", patient: Demo.hohhotChild, amount: 100, institution: Settler.pharmacy)
            }
            #expect(replayed?.code == .permissionDenied && replayed?.reason == "INSTITUTION_NOT_ALLOWED")
            #expect(!(replayed?.message ?? "").contains(Demo.hohhotChild) && !(replayed?.message ?? "").contains(Demo.hohhotAuthorizer))
            #expect(
                !(replayed?.reasonMetadata.values.contains { $0.contains(Demo.hohhotChild) || $0.contains(Demo.hohhotAuthorizer) } ?? true))
            let probed = await rpcFailure {
                try await settler.settle("P-1", patient: Demo.hohhotChild, amount: 999, institution: Settler.pharmacy)
            }
            #expect(probed?.code == .permissionDenied && probed?.reason == "INSTITUTION_NOT_ALLOWED", "not SETTLEMENT_ID_REUSED")
            let read = await rpcFailure {
                try await settler.service.getSettlement(
                    .with {
                        $0.institutionCode = Settler.pharmacy
                        $0.settlementID = "P-1"
                    }, options: failFast)
            }
            #expect(read?.code == .permissionDenied && read?.reason == "INSTITUTION_NOT_ALLOWED")
            let split = await rpcFailure {
                try await settler.service.preSettle(
                    .with {
                        $0.institutionCode = Settler.pharmacy
                        $0.patientIDNumber = Demo.hohhotChild
                        $0.credential = .with {
                            $0.type = .idCard
                            $0.holderIDNumber = Demo.hohhotChild
                        }
                        $0.amountFen = 100
                    }, options: failFast)
            }
            #expect(split?.reason == "INSTITUTION_NOT_ALLOWED")
        }
    }

    @Test("R-SETL-4 50 concurrent settlements and payments on one account that covers a few: the sum debited is the balance spent")
    func concurrent() async throws {
        let daemon = try await PaymentTests.start()
        defer { Task { await daemon.stop() } }
        let children = try await Demo.addHohhotChildren(daemon, count: 5)
        let bindings = try await daemon.withClient("gateway") { client in
            var ids: [String] = []
            for (index, child) in children.enumerated() {
                ids.append(
                    try await PaymentTests().bind(
                        client, authorizer: Demo.hohhotAuthorizer, member: child, name: "孩子\(index)",
                        version: "hohhot-2024-09", start: daemon.clock.today()
                    ).bindingID)
            }
            return ids
        }
        let debited = try await daemon.withClient("settlement") { settlementClient in
            try await daemon.withClient("gateway") { gatewayClient in
                await withTaskGroup(of: Int64.self) { group in
                    for index in 0..<50 {
                        group.addTask {
                            if index % 10 == 0 {
                                let paid = try? await PaymentTests().pay(
                                    gatewayClient, "race-\(index)", binding: bindings[index / 10], years: [2025],
                                    total: 40500, as: Demo.hohhotAuthorizer)
                                return paid.map { $0.payment.postings.map(\.amountFen).reduce(0, +) } ?? 0
                            }
                            let settled = try? await Settler(client: settlementClient).settle(
                                "race-\(index)", patient: children[index % 5], amount: 9000)
                            return settled?.split.acctMulaidPay ?? 0
                        }
                    }
                    return await group.reduce(0, +)
                }
            }
        }
        let left = try await daemon.daemon.service.person(idNumber: Demo.hohhotAuthorizer).account!
        #expect(left.currentYear >= .zero && left.carryOver >= .zero)
        #expect(debited + left.total.fen == 100_000, "the sum debited equals the balance spent")
        #expect(debited > 0)
        #expect(try await daemon.daemon.store.ledgerSum() == .zero)
    }

    @Test("R-SETL-7 reconciliation over a client stream; operators read the region's totals")
    func reconciliation() async throws {
        let (daemon, _) = try await started()
        defer { Task { await daemon.stop() } }
        let today = daemon.clock.today().description
        try await daemon.withClient("settlement") { client in
            let settler = Settler(client: client)
            _ = try await settler.settle("D-1", patient: Demo.hohhotChild, amount: 1000)
            _ = try await settler.settle("D-2", patient: Demo.hohhotChild, amount: 2000)
            _ = try await settler.reverse("D-2")
            let report = try await settler.service.reconcileSettlements(options: failFast) { writer in
                try await writer.write(
                    .with {
                        $0.header = .with {
                            $0.institutionCode = Settler.hospital
                            $0.date = today
                            $0.count = 2
                            $0.acctMulaidPaySum = 3000
                        }
                    })
                try await writer.write(
                    .with {
                        $0.entries = .with {
                            $0.entries = [
                                .with {
                                    $0.settlementID = "D-1"
                                    $0.acctMulaidPay = 1000
                                },
                                .with {
                                    $0.settlementID = "D-2"
                                    $0.acctMulaidPay = 2000
                                    $0.reversed = true
                                },
                                .with {
                                    $0.settlementID = "D-9"
                                    $0.acctMulaidPay = 10
                                },
                            ]
                        }
                    })
            }
            #expect(report.headerMatches)
            #expect(report.totals.settledCount == 2 && report.totals.reversedCount == 1 && report.totals.reversedAcctMulaidPay == 2000)
            #expect(report.differences.map(\.settlementID) == ["D-9"] && report.differences.first?.kind == .onlyInstitution)
        }
        try await daemon.withClient("operator") { client in
            let totals = try await Gongji_V1_OperationsService.Client(wrapping: client).getSettlementTotals(
                .with {
                    $0.regionCode = "150100"
                    $0.date = today
                }, options: failFast
            ).totals
            #expect(totals.settledCount == 2 && totals.settledAcctMulaidPay == 3000 && totals.reversedCount == 1)
        }
    }

    @Test("operators load institutions one by one and in the import; a bad code names the field")
    func institutions() async throws {
        let daemon = try await PaymentTests.start()
        defer { Task { await daemon.stop() } }
        try await daemon.withClient("operator") { client in
            let registry = Gongji_V1_RegistryService.Client(wrapping: client)
            let made = try await registry.upsertInstitution(
                .with {
                    $0.requestID = "i-1"
                    $0.institution = .with {
                        $0.institutionCode = "P15010000077"
                        $0.name = "新城区药房"
                        $0.kind = .pharmacy
                        $0.regionCode = "150100"
                        $0.validFromDate = "2024-01-01"
                    }
                }, options: failFast)
            #expect(made.created && made.institution.kind == .pharmacy)
            let bad = await rpcFailure {
                try await registry.upsertInstitution(
                    .with {
                        $0.requestID = "i-2"
                        $0.institution = .with {
                            $0.institutionCode = "H1501"
                            $0.name = "x"
                            $0.kind = .hospital
                            $0.regionCode = "150100"
                            $0.validFromDate = "2024-01-01"
                        }
                    }, options: failFast)
            }
            #expect(bad?.code == .invalidArgument && bad?.violations.first?.0 == "institution.institution_code")
            let imported = try await importFile(
                client,
                """
                {"kind":"institution","institution_code":"H15090000003","name":"乌兰察布市中心医院","institution_kind":"hospital","region_code":"150900","valid_from_date":"2024-01-01"}
                """, format: .jsonLines)
            #expect(imported.institutionsUpserted == 1)
            #expect(
                try await registry.getInstitution(.with { $0.institutionCode = "H15090000003" }, options: failFast).institution.name
                    == "乌兰察布市中心医院")
        }
    }
}

@Suite("Settlement durability", .serialized, .timeLimit(.minutes(3)))
struct SettlementCrashTests {
    @Test("SIGKILL in the middle of a stream of settlements: every acknowledged settlement is there, none is half-written")
    func killDuringSettlements() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gongji-kill-settle-\(UUID().uuidString)")
        let today = SystemClock().today()
        let env = try DevEnvironment.create(
            at: dir, policySource: TestDaemon.repositoryRoot.appendingPathComponent("deploy/policies"),
            host: "127.0.0.1", port: 0, today: today)
        let config = try GongjiConfig.load(path: env.configPath, environment: [:])
        let count = 30
        var patients: [String] = []
        do {
            let store = try SQLiteStore(path: config.database.path)
            let now = Int64(Date().timeIntervalSince1970)
            var hohhot = try PolicyLoader.load(directory: config.policies.directory).policy(of: .hohhot)!
            hohhot.materials.commitmentVersions = []
            hohhot.materials.idImages = false
            let policies = try PolicyBook([hohhot])
            _ = try await store.importRows([.institution(DevEnvironment.hospital)], today: today, now: now)
            for i in 0..<count {
                let authorizer = try ResidentID.parse(
                    makeID("150102", "1970\(String(format: "%02d", i % 12 + 1))15", 100 + i), today: today)
                let child = try ResidentID.parse(makeID("150102", "2005\(String(format: "%02d", i % 12 + 1))15", 300 + i), today: today)
                _ = try await store.importRows(
                    [
                        .person(
                            Person(id: authorizer, name: "甲\(i)", insuranceType: .employee, status: .normal, region: .hohhot), paidYears: []
                        ),
                        .person(
                            Person(id: child, name: "乙\(i)", insuranceType: .resident, status: .normal, region: .hohhot), paidYears: []),
                        .credit(authorizer, amount: .yuan(1000), part: .currentYear, reference: "KILL-\(i)"),
                    ], today: today, now: now)
                _ = try await store.createBinding(
                    BindingRequest(memberIDNumber: child.value, memberName: "乙\(i)", relationship: .child, startDate: today),
                    endUser: authorizer, id: "kill-\(i)", key: nil,
                    actor: ChangeActor(certificateIdentity: "test", endUser: authorizer, requestID: nil),
                    policies: policies, today: today, now: now)
                patients.append(child.value)
            }
            try store.close()
        }
        let pki = dir.appendingPathComponent("pki").path
        func settlementClient(_ port: Int) throws -> HTTP2ClientTransport.Posix {
            try makeClientTransport(
                host: "127.0.0.1", port: port, ca: .file("\(pki)/ca.pem"),
                certificate: .file("\(pki)/settlement.pem"), key: .file("\(pki)/settlement-key.pem"))
        }
        let first = try DaemonProcess(config: env.configPath, directory: dir)
        var acknowledged: Set<Int> = []
        try await withGRPCClient(transport: try settlementClient(try await first.port())) { client in
            let settler = Settler(client: client)
            for (i, patient) in patients.enumerated() {
                if i == 12 {
                    Task.detached {
                        try? await Task.sleep(for: .milliseconds(2))
                        first.kill(SIGKILL)
                    }
                }
                do {
                    _ = try await settler.settle("kill-\(i)", patient: patient, amount: 30000)
                    acknowledged.insert(i)
                } catch {
                    break
                }
            }
        }
        _ = await first.waitForExit()
        #expect(acknowledged.count >= 12)
        #expect(acknowledged.count < count, "the daemon was killed before the stream ended")

        let second = try DaemonProcess(config: env.configPath, directory: dir)
        var present: Set<Int> = []
        try await withGRPCClient(transport: try settlementClient(try await second.port())) { client in
            let service = Gongji_V1_SettlementService.Client(wrapping: client)
            for i in 0..<count {
                guard
                    let found = try? await service.getSettlement(
                        .with {
                            $0.institutionCode = Settler.hospital
                            $0.settlementID = "kill-\(i)"
                        },
                        options: failFast)
                else { continue }
                present.insert(i)
                #expect(
                    found.settlement.split.acctMulaidPay == 30000 && found.settlement.split.postings.map(\.amountFen).reduce(0, +) == 30000)
            }
        }
        #expect(acknowledged.isSubset(of: present), "every acknowledged settlement survived")
        let store = try SQLiteStore(path: config.database.path)
        #expect(try await store.ledgerSum() == .zero)
        for i in 0..<count {
            let authorizer = try ResidentID.parse(makeID("150102", "1970\(String(format: "%02d", i % 12 + 1))15", 100 + i), today: today)
            #expect(
                try await store.person(authorizer)!.account!.total == (present.contains(i) ? .yuan(700) : .yuan(1000)), "authorizer \(i)")
        }
        try store.close()
        second.kill(SIGTERM)
        #expect(await second.waitForExit() == 0)
    }
}
