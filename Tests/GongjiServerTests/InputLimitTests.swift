import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GongjiClient
import GongjiCore
import GongjiDev
import GongjiProto
import GongjiServer
import Testing

/// Holds `count` reconciliation streams of `header` open, each opened by `open` (one client, or
/// one connection each), runs `body` while all are open, then lets them end.
func whileReconciliationsHeld(
    _ count: Int, header: Gongji_V1_ReconcileSettlementsRequest,
    open:
        @escaping @Sendable (@escaping @Sendable (Gongji_V1_SettlementService.Client<HTTP2ClientTransport.Posix>) async throws -> Void)
        async throws -> Void,
    _ body: () async throws -> Void
) async throws {
    let releases = (0..<count).map { _ in AsyncStream<Void>.makeStream() }
    let opened = AsyncStream<Void>.makeStream()
    try await withThrowingTaskGroup(of: Void.self) { group in
        for release in releases {
            group.addTask {
                try await open { service in
                    _ = try await service.reconcileSettlements(options: failFast) { writer in
                        try await writer.write(header)
                        opened.continuation.yield()
                        for await _ in release.stream {}
                    }
                }
            }
        }
        var seen = 0
        for await _ in opened.stream {
            seen += 1
            if seen == count { break }
        }
        defer { for release in releases { release.continuation.finish() } }
        try await body()
        for release in releases { release.continuation.finish() }
        try await group.waitForAll()
    }
}

/// What a caller's text can still do: lengths are counted in the unit the database counts, an
/// echo is short, a reconciliation is bounded before it is held.
@Suite("Input limits through the daemon", .serialized)
struct InputLimitTests {
    /// 64 user-perceived characters that are 64 × 101 code points: `e` and 100 combining acutes.
    static let combining = String(repeating: "e" + String(repeating: "\u{0301}", count: 100), count: 64)

    @Test("TextLimits counts code points and bytes: at the limit admitted, one over refused, for every field of the table")
    func limitsAtTheEdge() {
        for limit in TextLimits.all {
            #expect(limit.admits(String(repeating: "a", count: limit.codePointsMax)), "\(limit.field)")
            #expect(!limit.admits(String(repeating: "a", count: limit.codePointsMax + 1)), "\(limit.field)")
            #expect(limit.admits(String(repeating: "结", count: limit.codePointsMax)), "\(limit.field): 3-byte characters")
            #expect(!limit.admits(String(repeating: "结", count: limit.codePointsMax + 1)), "\(limit.field)")
            #expect(
                !limit.admits(String(repeating: "e\u{0301}", count: limit.codePointsMax)),
                "\(limit.field): grapheme clusters are not the unit")
        }
        #expect(Self.combining.count == 64 && !TextLimits.settlementID.admits(Self.combining))
        #expect(TextLimits.echo(String(repeating: "x", count: 1 << 20)).unicodeScalars.count == TextLimits.echoCodePointsMax + 1)
        #expect(TextLimits.echo("short") == "short")
    }

    @Test("64 grapheme clusters of 101 code points: INVALID_FIELD (not INTERNAL) as a settlement id, a credit reference, a person's name")
    func lengthsInTheDatabaseUnit() async throws {
        let (daemon, _) = try await SettlementTests().started()
        defer { Task { await daemon.stop() } }
        try await daemon.withClient("settlement") { client in
            let refused = await rpcFailure {
                try await Settler(client: client).settle(Self.combining, patient: Demo.hohhotChild, amount: 100)
            }
            #expect(refused?.code == .invalidArgument && refused?.reason == "INVALID_FIELD", "\(String(describing: refused?.code))")
            let atLimit = String(repeating: "结", count: 64)
            let settled = try await Settler(client: client).settle(atLimit, patient: Demo.hohhotChild, amount: 100)
            #expect(settled.settlementID == atLimit)
            let over = await rpcFailure { try await Settler(client: client).settle(atLimit + "结", patient: Demo.hohhotChild, amount: 100) }
            #expect(over?.reason == "INVALID_FIELD")
        }
        try await daemon.withClient("operator") { client in
            let registry = Gongji_V1_RegistryService.Client(wrapping: client)
            let reference = await rpcFailure {
                try await registry.creditAccount(
                    .with {
                        $0.requestID = "c1"
                        $0.idNumber = Demo.hohhotAuthorizer
                        $0.amountFen = 1
                        $0.reference = Self.combining
                    }, options: failFast)
            }
            #expect(reference?.code == .invalidArgument && reference?.reason == "INVALID_FIELD")
            let name = await rpcFailure {
                try await registry.upsertPerson(
                    .with {
                        $0.requestID = "p1"
                        $0.person = .with {
                            $0.idNumber = Demo.hohhotChild
                            $0.name = Self.combining
                            $0.insuranceType = .resident
                            $0.status = .normal
                            $0.regionCode = "150100"
                        }
                    }, options: failFast)
            }
            #expect(name?.code == .invalidArgument && name?.reason == "INVALID_FIELD")
            let requestID = await rpcFailure {
                try await registry.creditAccount(
                    .with {
                        $0.requestID = Self.combining
                        $0.idNumber = Demo.hohhotAuthorizer
                        $0.amountFen = 1
                        $0.reference = "R"
                    }, options: failFast)
            }
            #expect(requestID?.code == .invalidArgument && requestID?.reason == "REQUEST_ID_REQUIRED")
        }
    }

    @Test("a 1 MiB id on GetSettlement and a 10 KB id on ReverseSettlement: INVALID_FIELD with a short message, the id not echoed whole")
    func longIDsAreNotEchoed() async throws {
        let (daemon, _) = try await SettlementTests().started()
        defer { Task { await daemon.stop() } }
        try await daemon.withClient("settlement") { client in
            let service = Settler(client: client).service
            let huge = String(repeating: "A", count: 1 << 20)
            let read = await rpcFailure {
                try await service.getSettlement(
                    .with {
                        $0.institutionCode = Settler.hospital
                        $0.settlementID = huge
                    }, options: failFast)
            }
            #expect(read?.code == .invalidArgument && read?.reason == "INVALID_FIELD")
            #expect((read?.message.utf8.count ?? .max) < 512 && !(read?.message ?? "").contains(String(repeating: "A", count: 100)))
            let reversed = await rpcFailure { try await Settler(client: client).reverse(String(repeating: "B", count: 10_000)) }
            #expect(reversed?.code == .invalidArgument && reversed?.reason == "INVALID_FIELD")
            #expect((reversed?.message.utf8.count ?? .max) < 512)
            // An unknown id within the limit is echoed, cut short.
            let unknown = await rpcFailure { try await Settler(client: client).reverse(String(repeating: "C", count: 64)) }
            #expect(unknown?.reason == "SETTLEMENT_NOT_FOUND")
            #expect(unknown?.reasonMetadata["settlement_id"] == String(repeating: "C", count: TextLimits.echoCodePointsMax) + "…")
        }
    }

    @Test(
        "reconciliation: 1,024 entries of 1 MiB ids are refused at the first, as it arrives; a fifth concurrent reconciliation is RECONCILIATION_BUSY; another institution's is refused before any entry"
    )
    func reconciliationIsBounded() async throws {
        let (daemon, _) = try await SettlementTests().started()
        defer { Task { await daemon.stop() } }
        let today = daemon.clock.today().description
        let header = Gongji_V1_ReconcileSettlementsRequest.with {
            $0.header = .with {
                $0.institutionCode = Settler.hospital
                $0.date = today
            }
        }
        try await daemon.withClient("settlement") { client in
            let service = Settler(client: client).service
            let long = await rpcFailure {
                try await service.reconcileSettlements(options: failFast) { writer in
                    try await writer.write(header)
                    let huge = Gongji_V1_ReconcileSettlementsRequest.with {
                        $0.entries = .with { $0.entries = [.with { $0.settlementID = String(repeating: "L", count: 1 << 20) }] }
                    }
                    // The daemon answers at the first; the rest of the writes fail once it has.
                    for _ in 0..<1_024 {
                        do { try await writer.write(huge) } catch { break }
                    }
                }
            }
            #expect(long?.code == .invalidArgument && long?.reason == "INVALID_FIELD")
            #expect(long?.violations.first?.0 == "entries[0].settlement_id", "\(String(describing: long?.violations))")
            #expect((long?.message.utf8.count ?? .max) < 512)

            // Four reconciliations held open take every slot; the fifth is refused; once they end, one runs.
            try await whileReconciliationsHeld(
                SettlementRules.reconciliationsConcurrentMax, header: header, open: { try await $0(service) }
            ) {
                try await Task.sleep(for: .milliseconds(200))
                let busy = await rpcFailure {
                    try await service.reconcileSettlements(options: failFast) { writer in try await writer.write(header) }
                }
                #expect(busy?.code == .resourceExhausted && busy?.reason == "RECONCILIATION_BUSY")
            }
            let after = try await service.reconcileSettlements(options: failFast) { writer in try await writer.write(header) }
            #expect(after.totals.settledCount == 0)
        }
        try await daemon.withClient("clinic") { client in
            let refused = await rpcFailure {
                try await Settler(client: client).service.reconcileSettlements(options: failFast) { writer in
                    try await writer.write(
                        .with {
                            $0.header = .with {
                                $0.institutionCode = Settler.pharmacy
                                $0.date = today
                            }
                        })
                    try await writer.write(
                        .with { $0.entries = .with { $0.entries = [.with { $0.settlementID = String(repeating: "L", count: 100_000) }] } })
                }
            }
            #expect(refused?.code == .permissionDenied && refused?.reason == "INSTITUTION_NOT_ALLOWED")
        }
    }
}

@Suite("Reconciliation memory, measured on the real daemon process", .serialized, .timeLimit(.minutes(5)))
struct ReconciliationMemoryTests {
    /// The daemon's peak resident set (VmHWM), in bytes.
    static func peakRSS(of pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return nil }
        return kilobytes * 1024
    }

    @Test(
        "8 concurrent maximal reconciliations (200,000 entries, 16 MB each): 4 run, the others are RECONCILIATION_BUSY, and the daemon's peak RSS stays under 1 GiB (the unit's MemoryMax)"
    )
    func eightMaximalReconciliations() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: DaemonProcess.binary.path), "build gongjid first (swift build)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gongji-recon-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let env = try DevEnvironment.create(
            at: dir, policySource: TestDaemon.repositoryRoot.appendingPathComponent("deploy/policies"),
            host: "127.0.0.1", port: 0, today: SystemClock().today())
        // This test is about memory and admission, not deadlines (CallDeadlinesTests has those): a
        // debug daemon reading four 16 MB streams at once beside the rest of the suite can need
        // more than the default 30 s, which answered one of them CALL_TIMEOUT on a loaded machine.
        let config = try String(contentsOfFile: env.configPath, encoding: .utf8)
        try config.replacingOccurrences(of: "\n  log:", with: "\n  limits: { call_timeout_seconds: 300 },\n  log:")
            .write(toFile: env.configPath, atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(config: env.configPath, directory: dir)
        defer { daemon.kill(SIGTERM) }
        let port = try await daemon.port()
        let before = Self.peakRSS(of: daemon.process.processIdentifier) ?? 0
        let pki = dir.appendingPathComponent("pki").path
        let today = SystemClock().today().description
        // The largest legal day: 200,000 ids of 48 characters, 48 + 32 bytes an entry = 16,000,000 bytes.
        let batches: [Gongji_V1_ReconcileSettlementsRequest] = (0..<20).map { batch in
            .with {
                $0.entries = .with {
                    $0.entries = (0..<10_000).map { i in
                        .with {
                            $0.settlementID = "RECON-" + String(repeating: "0", count: 34) + String(format: "%08d", batch * 10_000 + i)
                            $0.acctMulaidPay = 100
                        }
                    }
                }
            }
        }
        #expect(batches.reduce(0) { $0 + $1.entries.entries.count } == SettlementRules.reconciliationEntriesMax)
        let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    let transport = try makeClientTransport(
                        host: "127.0.0.1", port: port, ca: .file("\(pki)/ca.pem"),
                        certificate: .file("\(pki)/settlement.pem"), key: .file("\(pki)/settlement-key.pem"))
                    return try await withGRPCClient(transport: transport) { client in
                        do {
                            let report = try await Gongji_V1_SettlementService.Client(wrapping: client).reconcileSettlements(
                                options: .defaults
                            ) { writer in
                                try await writer.write(
                                    .with {
                                        $0.header = .with {
                                            $0.institutionCode = "H15010000001"
                                            $0.date = today
                                            $0.count = 200_000
                                        }
                                    })
                                for batch in batches { try await writer.write(batch) }
                            }
                            return report.truncated ? "OK" : "OK (not truncated)"
                        } catch let error as RPCError {
                            return "\(error.code) \(error.reason ?? "-")"
                        }
                    }
                }
            }
            var all: [String] = []
            for try await outcome in group { all.append(outcome) }
            return all
        }
        let peak = Self.peakRSS(of: daemon.process.processIdentifier) ?? 0
        print(
            "reconciliation memory: outcomes \(outcomes.sorted()); daemon peak RSS \(before >> 20) MiB before, \(peak >> 20) MiB after 8 concurrent maximal reconciliations"
        )
        #expect(outcomes.allSatisfy { $0 == "OK" || $0 == "resourceExhausted RECONCILIATION_BUSY" }, "\(outcomes)")
        #expect(outcomes.filter { $0 == "OK" }.count >= SettlementRules.reconciliationsConcurrentMax)
        #expect(peak > 0 && peak < 1 << 30, "peak RSS \(peak >> 20) MiB")
    }
}
