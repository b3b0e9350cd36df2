import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GongjiClient
import GongjiCore
import GongjiDev
import GongjiProto
import GongjiServer
import GongjiStorage
import Testing

@testable import GongjiSQLite

/// Import helper: sends `text` in chunks of `chunk` bytes.
func importFile(
    _ client: GRPCClient<HTTP2ClientTransport.Posix>, _ text: String, format: Gongji_V1_ImportFormat,
    chunk: Int = 7
) async throws -> Gongji_V1_ImportRegistryResponse {
    let bytes = Array(text.utf8)
    return try await Gongji_V1_RegistryService.Client(wrapping: client).importRegistry(
        options: failFast,
        requestProducer: { writer in
            try await writer.write(
                .with {
                    $0.header = .with {
                        $0.format = format
                        $0.fileName = "test"
                    }
                })
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + chunk, bytes.count)
                try await writer.write(.with { $0.chunk = Data(bytes[offset..<end]) })
                offset = end
            }
        })
}

@Suite("Registry through the daemon", .serialized)
struct RegistryTests {
    static let authorizer = "150102198003151312"
    static let child = "150102201006012427"

    /// Midnight of 1 January of `year` in China time (UTC+8).
    static func chinaNewYear(_ year: Int) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 8 * 3600)!
        return calendar.date(from: DateComponents(year: year, month: 1, day: 1))!
    }

    static let goodJSONL = """
        {"kind":"person","id_number":"\(authorizer)","name":"王建国","insurance_type":"employee","status":"normal","region_code":"150100"}
        {"kind":"person","id_number":"\(child)","name":"王小明","insurance_type":"resident","status":"normal","region_code":150100,"paid_premium_years":[2024]}

        {"kind":"credit","id_number":"\(authorizer)","amount_fen":50000,"reference":"HS-1"}
        """

    @Test("a bulk import with one bad row imports nothing and names the line")
    func badRowImportsNothing() async throws {
        let daemon = try await TestDaemon.start()
        defer { Task { await daemon.stop() } }
        try await daemon.withClient("operator") { client in
            let bad = Self.goodJSONL.replacingOccurrences(of: "\"amount_fen\":50000", with: "\"amount_fen\":-5")
            let failure = await rpcFailure { try await importFile(client, bad, format: .jsonLines) }
            #expect(failure?.code == .invalidArgument)
            #expect(failure?.reason == "IMPORT_ROW_INVALID")
            #expect(failure?.reasonMetadata["line"] == "4")
            #expect(failure?.violations.first?.0 == "line 4")
            #expect(failure?.violations.first?.1.contains("amount_fen") == true)
            let registry = Gongji_V1_RegistryService.Client(wrapping: client)
            let lookup = await rpcFailure { try await registry.getPerson(.with { $0.idNumber = Self.authorizer }, options: failFast) }
            #expect(lookup?.code == .notFound, "nothing of the file may be imported")

            let summary = try await importFile(client, Self.goodJSONL, format: .jsonLines)
            #expect(summary.lines == 3)
            #expect(summary.personsUpserted == 2)
            #expect(summary.creditsApplied == 1)
            let person = try await registry.getPerson(.with { $0.idNumber = Self.authorizer }, options: failFast)
            #expect(person.account.currentYearFen == 50000)
            let child = try await registry.getPerson(.with { $0.idNumber = Self.child }, options: failFast)
            #expect(child.person.paidPremiumYears == [2024])
            #expect(!child.hasAccount)
            // Re-importing the same file applies the credit reference once.
            let again = try await importFile(client, Self.goodJSONL, format: .jsonLines)
            #expect(again.creditsApplied == 0 && again.creditsSkipped == 1)
            #expect(
                try await registry.getPerson(.with { $0.idNumber = Self.authorizer }, options: failFast).account.currentYearFen == 50000)
        }
        #expect(try await daemon.daemon.store.ledgerSum() == .zero)
    }

    @Test("CSV imports with a header; several bad lines are all reported")
    func csvImport() async throws {
        let daemon = try await TestDaemon.start()
        defer { Task { await daemon.stop() } }
        let header = "kind,id_number,name,insurance_type,status,region_code,special_category,paid_premium_years,amount_fen,reference"
        let good = """
            \(header)
            person,\(Self.authorizer),王建国,employee,normal,150100,,,,
            person,\(Self.child),"王小明",resident,normal,150100,subsistence_allowance,2023;2024,,
            credit,\(Self.authorizer),,,,,,,12345,HS-9
            """
        try await daemon.withClient("operator") { client in
            let summary = try await importFile(client, good, format: .csv, chunk: 5)
            #expect(summary.personsUpserted == 2 && summary.creditsApplied == 1)
            let bad = """
                \(header)
                person,150102198003151313,王建国,employee,normal,150100,,,,
                person,\(Self.child),王小明,alien,normal,150100,,,,
                credit,\(Self.authorizer),,,,,,,10,
                """
            let failure = await rpcFailure { try await importFile(client, bad, format: .csv) }
            #expect(failure?.violations.map(\.0) == ["line 2", "line 3", "line 4"])
            #expect(failure?.violations[0].1.contains("ID_NUMBER_CHECK_FAILED") == true)
            #expect(failure?.violations[1].1.contains("insurance_type") == true)
            #expect(failure?.violations[2].1.contains("reference") == true)
            let wrongHeader = await rpcFailure { try await importFile(client, "a,b\n", format: .csv) }
            #expect(wrongHeader?.violations.first?.0 == "line 1")
        }
    }

    @Test("R-ACCT-1 credits go to the current year; R-ACCT-2 the rollover moves them to carry-over once per year, in order, never early")
    func creditAndRollover() async throws {
        let daemon = try await TestDaemon.start()
        defer { Task { await daemon.stop() } }
        try await daemon.withClient("operator") { client in
            _ = try await importFile(client, Self.goodJSONL, format: .jsonLines)
            let registry = Gongji_V1_RegistryService.Client(wrapping: client)
            let credit = try await registry.creditAccount(
                .with {
                    $0.requestID = "c1"
                    $0.idNumber = Self.authorizer
                    $0.amountFen = 100
                    $0.reference = "HS-2"
                }, options: failFast)
            #expect(credit.applied && credit.account.currentYearFen == 50100)
            let retry = try await registry.creditAccount(
                .with {
                    $0.requestID = "c1"
                    $0.idNumber = Self.authorizer
                    $0.amountFen = 100
                    $0.reference = "HS-2"
                }, options: failFast)
            #expect(retry.applied && retry.account.currentYearFen == 50100, "a retried request returns the original result")
            let reused = await rpcFailure {
                try await registry.creditAccount(
                    .with {
                        $0.requestID = "c1"
                        $0.idNumber = Self.authorizer
                        $0.amountFen = 999
                        $0.reference = "HS-3"
                    },
                    options: failFast)
            }
            #expect(reused?.code == .alreadyExists && reused?.reason == "REQUEST_ID_REUSED")
            let notEmployee = await rpcFailure {
                try await registry.creditAccount(
                    .with {
                        $0.requestID = "c2"
                        $0.idNumber = Self.child
                        $0.amountFen = 1
                        $0.reference = "HS-4"
                    },
                    options: failFast)
            }
            #expect(notEmployee?.reason == "NOT_EMPLOYEE_INSURED")
            let year = daemon.clock.today().year + 1
            func rollOver(_ requestID: String, _ year: Int) async -> RPCError? {
                await rpcFailure {
                    try await registry.rollOverYear(
                        .with {
                            $0.requestID = requestID
                            $0.year = Int32(year)
                        }, options: failFast)
                }
            }
            // The accounts are in this year: next year is the valid one, but it has not begun.
            let early = await rollOver("y0", year)
            #expect(early?.code == .failedPrecondition && early?.reason == "ROLLOVER_YEAR_NOT_BEGUN", "\(String(describing: early))")
            // An operator's typo: refused, naming the valid year; nothing moved.
            let typo = await rollOver("y2200", 2200)
            #expect(typo?.reason == "ROLLOVER_YEAR_INVALID" && typo?.reasonMetadata["valid_year"] == String(year))
            #expect(
                try await registry.getPerson(.with { $0.idNumber = Self.authorizer }, options: failFast).account.currentYearFen == 50100)
            // 1 January next year, China time.
            daemon.clock.advance(seconds: Int64(Self.chinaNewYear(year).timeIntervalSince1970) - daemon.clock.nowUnix() + 60)
            let rolled = try await registry.rollOverYear(
                .with {
                    $0.requestID = "y1"
                    $0.year = Int32(year)
                }, options: failFast)
            #expect(rolled.accountsRolled == 1)
            let retried = try await registry.rollOverYear(
                .with {
                    $0.requestID = "y1"
                    $0.year = Int32(year)
                }, options: failFast)
            #expect(retried.accountsRolled == 1, "a retried request returns the original result")
            let again = await rollOver("y2", year)
            #expect(again?.reason == "ROLLOVER_YEAR_INVALID" && again?.reasonMetadata["valid_year"] == String(year + 1))
            let account = try await registry.getPerson(.with { $0.idNumber = Self.authorizer }, options: failFast).account
            #expect(account.currentYearFen == 0 && account.carryOverFen == 50100 && account.year == Int32(year))
        }
        #expect(try await daemon.daemon.store.ledgerSum() == .zero)
    }

    @Test("R-SUSP-1 operators switch a region at run time; the switch survives a restart")
    func availabilitySwitch() async throws {
        let first = try await TestDaemon.start()
        let directory = first.directory
        let pki = first.pki
        try await first.withClient("operator") { client in
            let operations = Gongji_V1_OperationsService.Client(wrapping: client)
            let before = try await operations.getRegionPolicy(.with { $0.regionCode = "150900" }, options: failFast)
            #expect(before.region.suspended)
            #expect(before.policyJson.contains("\"newborn_days\" : 90"))
            let resumed = try await operations.setRegionAvailability(
                .with {
                    $0.requestID = "a1"
                    $0.regionCode = "150900"
                    $0.suspended = false
                },
                options: failFast)
            #expect(!resumed.region.suspended)
            let unknown = await rpcFailure {
                try await operations.setRegionAvailability(
                    .with {
                        $0.requestID = "a2"
                        $0.regionCode = "110000"
                    }, options: failFast)
            }
            #expect(unknown?.code == .notFound && unknown?.reason == "REGION_NOT_FOUND")
            let page1 = try await operations.listRegions(.with { $0.pageSize = 2 }, options: failFast)
            #expect(page1.regions.map(\.regionCode) == ["150100", "150900"])
            let page2 = try await operations.listRegions(
                .with {
                    $0.pageSize = 2
                    $0.pageToken = page1.nextPageToken
                }, options: failFast)
            #expect(page2.regions.map(\.regionCode) == ["340500", "460100"] && page2.nextPageToken.isEmpty)
            let badToken = await rpcFailure { try await operations.listRegions(.with { $0.pageToken = "garbage" }, options: failFast) }
            #expect(badToken?.reason == "PAGE_TOKEN_INVALID")
        }
        await first.stop()
        let second = try await TestDaemon.start(directory: directory, pki: pki)
        defer { Task { await second.stop() } }
        let after = try await second.withClient("gateway") { client in
            try await Gongji_V1_OperationsService.Client(wrapping: client).getRegionPolicy(
                .with { $0.regionCode = "150900" }, options: failFast)
        }
        #expect(!after.region.suspended)
    }

    @Test("the database runs with synchronous=FULL")
    func synchronousFull() async throws {
        let daemon = try await TestDaemon.start()
        defer { Task { await daemon.stop() } }
        #expect(try daemon.daemon.sqlite!.synchronousMode() == 2)
    }
}

@Suite("Configuration")
struct ConfigTests {
    func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cfg-\(UUID().uuidString).json5").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let valid = """
        // comment
        {
          listen: { host: "127.0.0.1", port: 8443 },
          tls: { certificate: "s.pem", private_key: "k.pem", client_ca: "ca.pem" },
          roles: { gateway: ["gw"] },
          database: { path: "db.sqlite" },
          documents: { directory: "docs" },
          secrets: { key_file: "master.key" },
          policies: { directory: "policies" },
        }
        """

    @Test(
        "errors name the key",
        arguments: [
            ("port: 8443", "port: 70000", "listen.port"),
            ("gateway: [\"gw\"]", "admin: [\"gw\"]", "roles.admin"),
            ("database: { path: \"db.sqlite\" },", "", "database"),
            ("documents: { directory: \"docs\" }", "documents: { directory: \"docs\", upload_bytes_max: 1 }", "documents.upload_bytes_max"),
            ("policies: { directory: \"policies\" },", "policies: { directory: \"policies\" }, log: { level: \"loud\" },", "log.level"),
            ("client_ca: \"ca.pem\"", "client_ca: 5", "tls.client_ca"),
            // Typos are refused, naming the unknown key, not silently replaced by defaults.
            (
                "policies: { directory: \"policies\" },", "policies: { directory: \"policies\" }, limit: { message_bytes_max: 1024 },",
                "limit"
            ),
            (
                "policies: { directory: \"policies\" },", "policies: { directory: \"policies\" }, limits: { message_byte_max: 1024 },",
                "limits.message_byte_max"
            ),
            ("port: 8443", "port: 8443, hots: \"x\"", "listen.hots"),
            ("key_file: \"master.key\"", "key_file: \"master.key\", keyfile: \"x\"", "secrets.keyfile"),
            // Exactly one database: SQLite's path or PostgreSQL.
            (
                "database: { path: \"db.sqlite\" },", "database: { path: \"db.sqlite\", postgresql: { url: \"postgres://g@h/d\" } },",
                "database"
            ),
            ("database: { path: \"db.sqlite\" },", "database: { postgresql: { url: \"mysql://g@h/d\" } },", "database.postgresql.url"),
            (
                "database: { path: \"db.sqlite\" },", "database: { postgresql: { url: \"postgres://g@h/d\", pool: 3 } },",
                "database.postgresql.pool"
            ),
            (
                "roles: { gateway: [\"gw\"] },", "roles: { gateway: [\"gw\"] }, settlement: { institutions: { hub: [\"*\"] } },",
                "settlement.institutions.hub"
            ),
        ])
    func namesKey(original: String, replacement: String, key: String) throws {
        let path = try write(Self.valid.replacingOccurrences(of: original, with: replacement))
        #expect(throws: ConfigError.self) { try GongjiConfig.load(path: path, environment: [:]) }
        do { _ = try GongjiConfig.load(path: path, environment: [:]) } catch { #expect(error.key == key, "\(error)") }
    }

    @Test("the shipped example configurations parse: SQLite, and several daemons on PostgreSQL")
    func examples() throws {
        for (name, postgresql) in [("gongjid.example.json5", false), ("gongjid.postgresql.example.json5", true)] {
            let data = try Data(contentsOf: TestDaemon.repositoryRoot.appendingPathComponent("deploy/\(name)"))
            let config = try GongjiConfig.parse(json5: data, source: name, environment: [:], base: URL(fileURLWithPath: "/etc/gongji"))
            #expect(config.database.isPostgreSQL == postgresql, "\(name)")
            #expect(config.roles["settlement"] != nil && config.settlement?.institutions.isEmpty == false, "\(name)")
        }
    }

    @Test(
        "configuration bytes the fuzzer found are an error, not a crash",
        arguments: [[0x7B, 0xFC, 0x7D, 0x65, 0x7D, 0x0A, 0x0A], [0x7B, 0xFA, 0x00, 0x1A, 0xFA, 0x00]] as [[UInt8]])
    func fuzzFinding(bytes: [UInt8]) {
        #expect(throws: ConfigError.self) {
            try GongjiConfig.parse(json5: Data(bytes), source: "found.json5", environment: [:], base: URL(fileURLWithPath: "/"))
        }
    }

    @Test("relative paths resolve against the file; the environment overrides")
    func resolution() throws {
        let path = try write(Self.valid)
        let config = try GongjiConfig.load(path: path, environment: ["GONGJI_LISTEN_PORT": "9000", "GONGJI_LOG_LEVEL": "debug"])
        #expect(config.listen.port == 9000)
        #expect(config.log.level == "debug")
        #expect(config.database.path == URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("db.sqlite").path)
        #expect(throws: ConfigError.self) { try GongjiConfig.load(path: path, environment: ["GONGJI_LISTEN_PORT": "x"]) }
    }

    @Test("a missing certificate or key file is refused at start, naming the key")
    func missingFiles() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gongji-cfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let config = GongjiConfig(
            listen: .init(host: "127.0.0.1", port: 0),
            tls: .init(certificate: dir.appendingPathComponent("missing.pem").path, privateKey: "/nonexistent", clientCA: "/nonexistent"),
            roles: [:], database: .init(path: dir.appendingPathComponent("db").path), documents: .init(directory: dir.path),
            secrets: .init(keyFile: "/nonexistent"), policies: .init(directory: dir.path))
        do {
            _ = try await GongjiDaemon.build(config: config, logger: .init(label: "t"))
            Issue.record("expected a configuration error")
        } catch let error as ConfigError {
            #expect(error.key == "tls.certificate")
        }
    }
}
