import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GongjiClient
import GongjiCore
import GongjiDev
import GongjiPostgres
import GongjiProto
import GongjiSQLite
import GongjiServer
import GongjiStorage
import Logging
import PostgresNIO
import Synchronization
import Testing

/// The test server scripts/test starts (`GONGJI_TEST_POSTGRES_URL`); these tests skip without one.
let testPostgresURL = ProcessInfo.processInfo.environment["GONGJI_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

/// Runs one statement on the database `url` names.
func postgresExecute(url: String, _ sql: String) async throws {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    let client = PostgresClient(configuration: try PostgresStore.configuration(url: url, poolSize: 1), backgroundLogger: logger)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        try await client.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        group.cancelAll()
    }
}

/// A fresh schema of the test server's database, as a URL the daemons connect with.
extension Trait where Self == ConditionTrait {
    /// Runs only where a PostgreSQL server is given (`scripts/test` starts one).
    static var needsPostgreSQL: Self {
        .enabled(if: testPostgresURL != nil, "needs GONGJI_TEST_POSTGRES_URL (scripts/test starts a server)")
    }
}

func freshPostgresSchema() async throws -> String {
    let url = testPostgresURL!
    let schema = "d_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    try await postgresExecute(url: url, "CREATE SCHEMA \(schema)")
    return url + "?search_path=" + schema
}

@Suite("Several daemons on one PostgreSQL database", .serialized, .needsPostgreSQL)
struct SeveralDaemonsTests {
    /// Two daemons on one database, the same files (master key, policies, PKI), the demo people.
    func pair() async throws -> (TestDaemon, TestDaemon) {
        let (first, second) = try await TestDaemon.startTwo(clock: TestClock(inWindow2025), policies: try policiesWithMaanshanAmount())
        try await Demo.load(first)
        return (first, second)
    }

    @Test(
        "payments racing across two daemons on one account: exactly what the balance covers succeeds; a retry on the other daemon returns the original"
    )
    func racingPayments() async throws {
        let (a, b) = try await pair()
        defer { Task { await TestDaemon.stop(a, b) } }
        let children = try await Demo.addHohhotChildren(a, count: 5)
        // Bind through one daemon, with images uploaded to the other: documents live in the database.
        var bindings: [String] = []
        for (index, child) in children.enumerated() {
            let front = try await a.withClient("gateway") {
                try await upload($0, fakeJPEG(size: 4000, seed: UInt8(index + 1)), side: .front, as: Demo.hohhotAuthorizer)
            }
            let back = try await a.withClient("gateway") {
                try await upload($0, fakePNG(size: 3000 + index), side: .back, as: Demo.hohhotAuthorizer)
            }
            let binding = try await b.withClient("gateway") { client in
                try await Gongji_V1_BindingService.Client(wrapping: client).createBinding(
                    createRequest(
                        "b\(index)", member: child, name: "孩子\(index)", start: b.clock.today(), front: front.documentID,
                        back: back.documentID),
                    metadata: endUser(Demo.hohhotAuthorizer), options: failFast
                ).binding
            }
            bindings.append(binding.bindingID)
        }
        // The reviewer reads, through the second daemon, an image the first one stored.
        let image = try await b.withClient("reviewer") { client in
            try await Gongji_V1_ReviewService.Client(wrapping: client).readIdentityDocument(
                .with { $0.documentID = sha256Hex(fakeJPEG(size: 4000, seed: 1)) },
                options: failFast
            ) { response in
                var bytes = 0
                for try await message in response.messages { if case .chunk(let chunk)? = message.payload { bytes += chunk.count } }
                return bytes
            }
        }
        #expect(image == 4000)
        // 1000.00 covers two premiums of 405.00: five payments race, alternately on each daemon.
        let outcomes = try await a.withClient("gateway") { clientA in
            try await b.withClient("gateway") { clientB in
                await withTaskGroup(of: (Int, Bool).self) { group in
                    for (index, binding) in bindings.enumerated() {
                        group.addTask {
                            (
                                index,
                                (try? await PaymentTests().pay(
                                    index % 2 == 0 ? clientA : clientB, "race-\(index)", binding: binding, years: [2025],
                                    total: 40500, as: Demo.hohhotAuthorizer)) != nil
                            )
                        }
                    }
                    var results = [Bool](repeating: false, count: bindings.count)
                    for await (index, paid) in group { results[index] = paid }
                    return results
                }
            }
        }
        #expect(outcomes.filter { $0 }.count == 2)
        let left = try await a.daemon.service.person(idNumber: Demo.hohhotAuthorizer).account!
        #expect(left.total == .yuan(1000 - 810))
        #expect(try await a.daemon.store.ledgerSum() == .zero)
        // A retry that lands on the other daemon finds the first one's result.
        let paidIndex = try #require(outcomes.firstIndex(of: true))
        let first = try await (paidIndex % 2 == 0 ? a : b).withClient("gateway") { client in
            try await Gongji_V1_PremiumService.Client(wrapping: client).listAccountDeductions(
                .init(), metadata: endUser(Demo.hohhotAuthorizer),
                options: failFast)
        }
        let retried = try await (paidIndex % 2 == 0 ? b : a).withClient("gateway") { client in
            try await PaymentTests().pay(
                client, "race-\(paidIndex)", binding: bindings[paidIndex], years: [2025], total: 40500, as: Demo.hohhotAuthorizer)
        }
        #expect(first.payments.contains { $0.paymentID == retried.payment.paymentID })
        #expect(try await b.daemon.service.person(idNumber: Demo.hohhotAuthorizer).account!.total == .yuan(190), "the retry moved nothing")
    }

    @Test("settlements racing across two daemons never overspend; the same settlement id on the other daemon returns the original")
    func racingSettlements() async throws {
        let (a, b) = try await pair()
        defer { Task { await TestDaemon.stop(a, b) } }
        _ = try await a.withClient("gateway") { client in
            try await PaymentTests().bind(
                client, authorizer: Demo.hohhotAuthorizer, member: Demo.hohhotChild, name: "王小明",
                version: "hohhot-2024-09", start: a.clock.today())
        }
        let family = try await a.withClient("settlement") { clientA in
            try await b.withClient("settlement") { clientB in
                await withTaskGroup(of: Int64.self) { group in
                    for index in 0..<24 {
                        group.addTask {
                            let settled = try? await Settler(client: index % 2 == 0 ? clientA : clientB).settle(
                                "S-\(index)", patient: Demo.hohhotChild,
                                amount: 9000)
                            return settled?.split.acctMulaidPay ?? 0
                        }
                    }
                    return await group.reduce(0, +)
                }
            }
        }
        let left = try await a.daemon.service.person(idNumber: Demo.hohhotAuthorizer).account!
        #expect(family + left.total.fen == 100_000 && left.total >= .zero)
        let original = try await a.withClient("settlement") {
            try await Settler(client: $0).settle("S-0", patient: Demo.hohhotChild, amount: 9000)
        }
        let again = try await b.withClient("settlement") {
            try await Settler(client: $0).settle("S-0", patient: Demo.hohhotChild, amount: 9000)
        }
        #expect(original == again)
        #expect(try await b.daemon.store.ledgerSum() == .zero)
    }
}

extension SeveralDaemonsTests {
    /// What a call answered: OK, or its gRPC code and reason.
    static func outcome(_ body: () async throws -> Void) async -> String {
        do {
            try await body()
            return "OK"
        } catch let error as RPCError { return "\(error.code) \(error.reason ?? "-")" } catch { return "\(error)" }
    }

    @Test(
        "R-MULTI-2: 25 settlements and 5 premium payments at once on one account, alternately on two daemons: every call OK (a deadlock is retried, never INTERNAL), and the account moved by exactly what was answered"
    )
    func contentionIsRetried() async throws {
        let (a, b) = try await pair()
        defer { Task { await TestDaemon.stop(a, b) } }
        let authorizer = Demo.hohhotAuthorizer
        _ = try await a.daemon.service.credit(
            idNumber: authorizer, amount: .yuan(3000), part: .currentYear, reference: "CONTENTION", key: nil, at: a.clock.read())
        let children = try await Demo.addHohhotChildren(a, count: 5)
        let bindings = try await a.withClient("gateway") { client in
            _ = try await PaymentTests().bind(
                client, authorizer: authorizer, member: Demo.hohhotChild, name: "王小明",
                version: "hohhot-2024-09", start: a.clock.today())
            var ids: [String] = []
            for (index, child) in children.enumerated() {
                ids.append(
                    try await PaymentTests().bind(
                        client, authorizer: authorizer, member: child, name: "孩子\(index)",
                        version: "hohhot-2024-09", start: a.clock.today()
                    ).bindingID)
            }
            return ids
        }
        let before = try await a.daemon.service.person(idNumber: authorizer).account!.total
        let answers = try await a.withClient("gateway") { gatewayA in
            try await b.withClient("gateway") { gatewayB in
                try await a.withClient("settlement") { settleA in
                    try await b.withClient("settlement") { settleB in
                        await withTaskGroup(of: (String, Int64).self) { group in
                            for index in 0..<30 {
                                group.addTask {
                                    var moved: Int64 = 0
                                    let outcome = await Self.outcome {
                                        if index % 6 == 5 {
                                            let paid = try await PaymentTests().pay(
                                                index % 2 == 0 ? gatewayA : gatewayB, "contend-\(index)",
                                                binding: bindings[index / 6], years: [2025], total: 40500, as: authorizer)
                                            moved = paid.receipt.accountFen
                                        } else {
                                            let settled = try await Settler(client: index % 2 == 0 ? settleA : settleB).settle(
                                                "C-\(index)", patient: children[index % 5], amount: 5000)
                                            moved = settled.split.acctMulaidPay
                                        }
                                    }
                                    return (outcome, moved)
                                }
                            }
                            var all: [(String, Int64)] = []
                            for await answer in group { all.append(answer) }
                            return all
                        }
                    }
                }
            }
        }
        var outcomes: [String: Int] = [:]
        for (outcome, _) in answers { outcomes[outcome, default: 0] += 1 }
        #expect(outcomes == ["OK": 30], "\(outcomes)")
        let moved = answers.reduce(Int64(0)) { $0 + $1.1 }
        #expect(moved == 5 * 40500 + 25 * 5000)
        let after = try await b.daemon.service.person(idNumber: authorizer).account!.total
        #expect(before.fen - after.fen == moved, "the account moved by what was answered")
        #expect(try await b.daemon.store.ledgerSum() == .zero)
    }
}

extension SeveralDaemonsTests {
    /// Asks `daemon` for Hohhot's policy until it says `suspended`, at most 2 s (the bound the
    /// README states); returns how long it took.
    func waitForHohhot(suspended: Bool, on daemon: TestDaemon) async throws -> Duration {
        let started = ContinuousClock.now
        while true {
            let region = try await daemon.withClient("gateway") { client in
                try await Gongji_V1_OperationsService.Client(wrapping: client).getRegionPolicy(
                    .with { $0.regionCode = "150100" }, options: failFast
                ).region
            }
            let took = ContinuousClock.now - started
            if region.suspended == suspended || took > .seconds(2) { return took }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test(
        "R-MULTI-1: Hohhot suspended through daemon A is suspended on daemon B within 2 s (R-SUSP-1, R-SUSP-2, R-SETL-6: binding and payment refused, the quote says so, settlements pay no family part), and resumed through B is resumed on A"
    )
    func suspensionReachesEveryDaemon() async throws {
        let (a, b) = try await pair()
        defer { Task { await TestDaemon.stop(a, b) } }
        let binding = try await a.withClient("gateway") { client in
            try await PaymentTests().bind(
                client, authorizer: Demo.hohhotAuthorizer, member: Demo.hohhotChild, name: "王小明",
                version: "hohhot-2024-09", start: a.clock.today())
        }
        let suspended = try await a.withClient("operator") { client in
            try await Gongji_V1_OperationsService.Client(wrapping: client).setRegionAvailability(
                .with {
                    $0.requestID = "suspend"
                    $0.regionCode = "150100"
                    $0.suspended = true
                }, options: failFast)
        }
        #expect(suspended.region.suspended)
        let took = try await waitForHohhot(suspended: true, on: b)
        #expect(took <= .seconds(2), "B saw the suspension after \(took)")
        try await b.withClient("gateway") { client in
            let quote = try await Gongji_V1_PremiumService.Client(wrapping: client).quotePremium(
                .with {
                    $0.bindingID = binding.bindingID
                    $0.years = [2025]
                }, metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
            #expect(quote.paymentSuspended)
            let paid = await rpcFailure {
                try await PaymentTests().pay(
                    client, "while-suspended", binding: binding.bindingID, years: [2025], total: 40500, as: Demo.hohhotAuthorizer)
            }
            #expect(paid?.code == .unavailable && paid?.reason == "FAMILY_PAYMENT_SUSPENDED", "\(String(describing: paid))")
            let bound = await rpcFailure {
                try await PaymentTests().bind(
                    client, authorizer: Demo.hohhotAuthorizer, member: Demo.hohhotChild2, name: "王小红",
                    version: "hohhot-2024-09", start: b.clock.today())
            }
            #expect(bound?.code == .unavailable && bound?.reason == "FAMILY_PAYMENT_SUSPENDED", "\(String(describing: bound))")
        }
        let settled = try await b.withClient("settlement") {
            try await Settler(client: $0).settle("SUSP-1", patient: Demo.hohhotChild, amount: 5000)
        }
        #expect(settled.split.acctMulaidPay == 0 && settled.split.psnCashPay == 5000 && settled.split.familyZeroNote == .regionSuspended)
        // Resumed through B: A follows.
        _ = try await b.withClient("operator") { client in
            try await Gongji_V1_OperationsService.Client(wrapping: client).setRegionAvailability(
                .with {
                    $0.requestID = "resume"
                    $0.regionCode = "150100"
                    $0.suspended = false
                }, options: failFast)
        }
        let back = try await waitForHohhot(suspended: false, on: a)
        #expect(back <= .seconds(2), "A saw the resumption after \(back)")
        let paid = try await a.withClient("gateway") { client in
            try await PaymentTests().pay(
                client, "after-resume", binding: binding.bindingID, years: [2025], total: 40500, as: Demo.hohhotAuthorizer)
        }
        #expect(paid.receipt.accountFen == 40500)
    }
}

/// `count` Hohhot patients (residents born 2005), each bound as a child by an employee-insured
/// authorizer of its own holding 1000.00, and the dev hospital; Hohhot's materials are waived so
/// that the bindings need no documents.
func seedSettlementPatients(
    _ store: any FamilyAccountStore, count: Int, policyDirectory: String,
    today: CivilDate, now: Int64
) async throws -> (patients: [String], authorizers: [ResidentID]) {
    var hohhot = try PolicyLoader.load(directory: policyDirectory).policy(of: .hohhot)!
    hohhot.materials.commitmentVersions = []
    hohhot.materials.idImages = false
    let policies = try PolicyBook([hohhot])
    var rows: [RegistryRow] = [.institution(DevEnvironment.hospital)]
    var patients: [String] = []
    var authorizers: [ResidentID] = []
    for i in 0..<count {
        let authorizer = try ResidentID.parse(makeID("150102", "1970\(String(format: "%02d", i % 12 + 1))15", 100 + i), today: today)
        let child = try ResidentID.parse(makeID("150102", "2005\(String(format: "%02d", i % 12 + 1))15", 300 + i), today: today)
        rows += [
            .person(Person(id: authorizer, name: "甲\(i)", insuranceType: .employee, status: .normal, region: .hohhot), paidYears: []),
            .person(Person(id: child, name: "乙\(i)", insuranceType: .resident, status: .normal, region: .hohhot), paidYears: []),
            .credit(authorizer, amount: .yuan(1000), part: .currentYear, reference: "SEED-\(i)"),
        ]
        authorizers.append(authorizer)
        patients.append(child.value)
    }
    _ = try await store.importRows(rows, today: today, now: now)
    for i in 0..<count {
        _ = try await store.createBinding(
            BindingRequest(memberIDNumber: patients[i], memberName: "乙\(i)", relationship: .child, startDate: today),
            endUser: authorizers[i], id: "seed-\(i)", key: nil,
            actor: ChangeActor(certificateIdentity: "test", endUser: nil, requestID: nil),
            policies: policies, today: today, now: now)
    }
    return (patients, authorizers)
}

/// Runs scripts/postgres (`start` prints the URL, `standby PRIMARY DIR` the port) with system(3):
/// it waits for the script itself, while the server the script starts lives on.
@discardableResult
func postgresScript(_ action: String, _ directories: URL...) throws -> String {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("postgres-\(UUID().uuidString).out")
    defer { try? FileManager.default.removeItem(at: file) }
    let script = TestDaemon.repositoryRoot.appendingPathComponent("scripts/postgres").path
    let arguments = directories.map { "'\($0.path)'" }.joined(separator: " ")
    let status = system("'\(script)' \(action) \(arguments) > '\(file.path)' < /dev/null")
    guard status == 0 else { throw CancellationError() }
    return ((try? String(contentsOf: file, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
}

/// What a stream of retried calls saw: acknowledgements per patient, failures by code and reason.
final class LoadTally: Sendable {
    struct State: Sendable {
        var acknowledged: [Int]
        var failures: [String: Int] = [:]
        var slowestFailure: Duration = .zero
        var stop = false
        var total: Int { acknowledged.reduce(0, +) }
    }
    private let state: Mutex<State>
    init(patients: Int) { state = Mutex(State(acknowledged: [Int](repeating: 0, count: patients))) }
    func withLock<T: Sendable>(_ body: (inout State) -> T) -> T { state.withLock { body(&$0) } }
}

@Suite(
    "PostgreSQL goes away and comes back", .serialized, .timeLimit(.minutes(3)),
    .needsPostgreSQL)
struct DatabaseOutageTests {
    @Test(
        "PostgreSQL restarted under a stream of settlements: calls fail UNAVAILABLE (DATABASE_UNAVAILABLE) and health is NOT_SERVING while it is down, the pool reconnects, and every settlement retried with its id moves exactly once"
    )
    func restartUnderLoad() async throws {
        let cluster = FileManager.default.temporaryDirectory.appendingPathComponent("gongji-pg-outage-\(UUID().uuidString)")
        let url = try postgresScript("start", cluster)
        defer {
            _ = try? postgresScript("stop", cluster)
            try? FileManager.default.removeItem(at: cluster)
        }
        let daemon = try await TestDaemon.start(clock: TestClock(inWindow2025), policies: try policiesWithMaanshanAmount(), postgresql: url)
        defer { Task { await daemon.stop() } }
        let count = 8
        let (patients, authorizers) = try await seedSettlementPatients(
            daemon.daemon.store, count: count, policyDirectory: daemon.daemon.config.policies.directory,
            today: daemon.clock.today(), now: daemon.clock.nowUnix())
        let tally = LoadTally(patients: count)
        func health() async throws -> Grpc_Health_V1_HealthCheckResponse.ServingStatus {
            try await daemon.withClient("settlement") {
                try await Grpc_Health_V1_Health.Client(wrapping: $0).check(.init(), options: failFast).status
            }
        }
        func waitFor(_ what: String, seconds: Int = 30, _ condition: () async throws -> Bool) async throws {
            let deadline = ContinuousClock.now + .seconds(seconds)
            while try await !condition() {
                guard ContinuousClock.now < deadline else {
                    Issue.record("timed out waiting for \(what)")
                    throw CancellationError()
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        // Each patient has a worker that settles 1.00 after 1.00 until told to stop; a settlement
        // that fails is retried with the same id until it succeeds (what a hospital's system does).
        let load = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for patient in 0..<count {
                    group.addTask {
                        try await daemon.withClient("settlement") { client in
                            var round = 0
                            while !tally.withLock({ $0.stop }) {
                                let id = "R-\(patient)-\(round)"
                                let deadline = ContinuousClock.now + .seconds(60)
                                while true {
                                    let started = ContinuousClock.now
                                    do {
                                        _ = try await Settler(client: client).settle(id, patient: patients[patient], amount: 100)
                                        tally.withLock { $0.acknowledged[patient] += 1 }
                                        break
                                    } catch let error as RPCError {
                                        let took = ContinuousClock.now - started
                                        tally.withLock {
                                            $0.failures["\(error.code) \(error.reason ?? "-")", default: 0] += 1
                                            $0.slowestFailure = max($0.slowestFailure, took)
                                        }
                                        guard ContinuousClock.now < deadline else { throw error }
                                        try await Task.sleep(for: .milliseconds(100))
                                    }
                                }
                                round += 1
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        try await waitFor("settlements before the restart") { tally.withLock { $0.total } >= 40 }
        try postgresScript("stop", cluster)
        try await waitFor("calls refused while the database is down") { tally.withLock { !$0.failures.isEmpty } }
        try await waitFor("health NOT_SERVING") { try await health() == .notServing }
        try await Task.sleep(for: .seconds(4))  // longer than a call waits for a connection
        let beforeResume = tally.withLock { $0.total }
        try postgresScript("resume", cluster)
        try await waitFor("settlements after the database returned") { tally.withLock { $0.total } >= beforeResume + 40 }
        try await waitFor("health SERVING") { try await health() == .serving }
        tally.withLock { $0.stop = true }
        try await load.value
        let final = tally.withLock { $0 }
        #expect(!final.failures.isEmpty && final.failures.keys.allSatisfy { $0 == "unavailable DATABASE_UNAVAILABLE" }, "\(final.failures)")
        // No call hangs on a connection the server ended: each failed within the lease timeout.
        #expect(final.slowestFailure < .seconds(6), "\(final.slowestFailure)")
        // Exactly once: each authorizer paid 1.00 per acknowledged settlement of its patient, no more.
        for patient in 0..<count {
            let total = try await daemon.daemon.service.person(idNumber: authorizers[patient].value).account!.total
            #expect(
                total.fen == 100_000 - Int64(final.acknowledged[patient]) * 100,
                "patient \(patient): \(final.acknowledged[patient]) acknowledged, account \(total)")
        }
        #expect(try await daemon.daemon.store.ledgerSum() == .zero)
    }
}

@Suite("gongjid migrate: a SQLite deployment into PostgreSQL", .serialized, .needsPostgreSQL)
struct MigrateTests {
    @Test("every table and document is copied, checked, and served by a PostgreSQL daemon; a second migration is refused")
    func migrate() async throws {
        let sqlite = try await PaymentTests.start()
        let (binding, paid, documentID) = try await sqlite.withClient("gateway") { client in
            let front = try await upload(client, fakeJPEG(size: 5000, seed: 42), side: .front, as: Demo.hohhotAuthorizer)
            let back = try await upload(client, fakePNG(size: 3100), side: .back, as: Demo.hohhotAuthorizer)
            let binding = try await Gongji_V1_BindingService.Client(wrapping: client).createBinding(
                createRequest(
                    "m", member: Demo.hohhotChild, name: "王小明", start: sqlite.clock.today(), front: front.documentID, back: back.documentID),
                metadata: endUser(Demo.hohhotAuthorizer), options: failFast
            ).binding
            let paid = try await PaymentTests().pay(
                client, "m-pay", binding: binding.bindingID, years: [2025], total: 40500, as: Demo.hohhotAuthorizer)
            return (binding.bindingID, paid, front.documentID)
        }
        _ = try await sqlite.withClient("settlement") {
            try await Settler(client: $0).settle("M-1", patient: Demo.hohhotChild, amount: 5000)
        }
        let directory = sqlite.directory
        await sqlite.stop()

        let url = try await freshPostgresSchema()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let source = try SQLiteStore(path: directory.appendingPathComponent("gongji.sqlite").path)
        let destination = try await PostgresStore(configuration: try PostgresStore.configuration(url: url, poolSize: 4), logger: logger)
        let report = try await destination.migrate(from: source, documentsDirectory: directory.appendingPathComponent("documents").path)
        #expect(report.rows.first { $0.table == "payment" }?.count == 1 && report.rows.first { $0.table == "settlement" }?.count == 1)
        #expect(report.documents == 2 && report.ledgerSum == 0)
        let again = await { () async -> String? in
            do {
                _ = try await destination.migrate(from: source, documentsDirectory: directory.appendingPathComponent("documents").path)
                return nil
            } catch { return "\(error)" }
        }()
        #expect(again?.contains("migrate into an empty database") == true, "\(String(describing: again))")
        try source.close()
        destination.close()

        // The same files (master key, PKI), now on PostgreSQL: the payment, its receipt, the document.
        let postgres = try await TestDaemon.start(directory: directory, pki: sqlite.pki, clock: TestClock(inWindow2025), postgresql: url)
        defer { Task { await postgres.stop() } }
        try await postgres.withClient("gateway") { client in
            let premiums = Gongji_V1_PremiumService.Client(wrapping: client)
            let payment = try await premiums.getPayment(
                .with { $0.paymentID = paid.payment.paymentID }, metadata: endUser(Demo.hohhotAuthorizer),
                options: failFast
            ).payment
            #expect(payment == paid.payment)
            let verified = try await premiums.verifyReceipt(
                .with {
                    $0.receiptNumber = paid.receipt.receiptNumber
                    $0.verificationCode = paid.receipt.verificationCode
                }, options: failFast)
            #expect(verified.genuine)
            let uses = try await premiums.listAccountDeductions(.init(), metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
            #expect(uses.uses.map(\.kind) == [.settlement, .premium])
            // New records continue the sequences.
            let binding2 = try await Gongji_V1_BindingService.Client(wrapping: client).getBinding(
                .with { $0.bindingID = binding },
                metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
            #expect(binding2.binding.status == .active)
        }
        let bytes = try await postgres.withClient("reviewer") { client in
            try await Gongji_V1_ReviewService.Client(wrapping: client).readIdentityDocument(
                .with { $0.documentID = documentID }, options: failFast
            ) { response in
                var count = 0
                for try await message in response.messages { if case .chunk(let chunk)? = message.payload { count += chunk.count } }
                return count
            }
        }
        #expect(bytes == 5000)
        #expect(try await postgres.daemon.store.ledgerSum() == .zero)
    }
}

@Suite(
    "SIGKILL of one daemon of two on PostgreSQL", .serialized, .timeLimit(.minutes(3)),
    .needsPostgreSQL)
struct SeveralDaemonsCrashTests {
    @Test(
        "one daemon killed in a stream of settlements on both: every acknowledged settlement is there, none half-written, the other goes on"
    )
    func killOne() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: DaemonProcess.binary.path), "build gongjid first (swift build)")
        let url = try await freshPostgresSchema()
        let today = SystemClock().today()
        let (env, config) = try makeDevEnvironment("gongji-kill-pg", today: today, database: .postgresql(url: url, poolSize: 8))
        let dir = env.directory
        #expect(config.database.isPostgreSQL)
        // Thirty patients, each bound by one authorizer with 1000.00 (Hohhot without materials).
        let count = 30
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let seeding = try await PostgresStore(configuration: try PostgresStore.configuration(url: url, poolSize: 4), logger: logger)
        let (patients, authorizers) = try await seedSettlementPatients(
            seeding, count: count, policyDirectory: config.policies.directory,
            today: today, now: Int64(Date().timeIntervalSince1970))
        seeding.close()
        let pki = dir.appendingPathComponent("pki").path
        func client(_ port: Int) throws -> HTTP2ClientTransport.Posix {
            try makeClientTransport(
                host: "127.0.0.1", port: port, ca: .file("\(pki)/ca.pem"),
                certificate: .file("\(pki)/settlement.pem"), key: .file("\(pki)/settlement-key.pem"))
        }
        let patientIDs = patients
        let victim = try DaemonProcess(config: env.configPath, directory: dir)
        let survivor = try DaemonProcess(config: env.configPath, directory: dir)
        let victimPort = try await victim.port()
        let survivorPort = try await survivor.port()
        // Even patients through the victim, odd ones through the survivor; the victim dies mid-stream.
        let acknowledged = try await withGRPCClient(transport: try client(victimPort)) { toVictim in
            try await withGRPCClient(transport: try client(survivorPort)) { toSurvivor in
                await withTaskGroup(of: Int?.self) { group in
                    group.addTask {
                        var done: [Int] = []
                        for i in stride(from: 0, to: count, by: 2) {
                            if i == 12 {
                                Task.detached {
                                    try? await Task.sleep(for: .milliseconds(2))
                                    victim.kill(SIGKILL)
                                }
                            }
                            guard (try? await Settler(client: toVictim).settle("kill-\(i)", patient: patientIDs[i], amount: 30000)) != nil
                            else { break }
                            done.append(i)
                        }
                        return done.count
                    }
                    group.addTask {
                        for i in stride(from: 1, to: count, by: 2) {
                            guard (try? await Settler(client: toSurvivor).settle("kill-\(i)", patient: patientIDs[i], amount: 30000)) != nil
                            else { return nil }
                        }
                        return -1
                    }
                    var results: [Int?] = []
                    for await result in group { results.append(result) }
                    return results
                }
            }
        }
        _ = await victim.waitForExit()
        #expect(acknowledged.contains(-1), "the survivor settled every odd patient while the other daemon died")
        let fromVictim = acknowledged.compactMap { $0 }.first { $0 >= 0 } ?? 0
        #expect(fromVictim >= 6 && fromVictim < count / 2, "the victim acknowledged some and died before the end")
        // Read back through the survivor: every acknowledged settlement is there, whole.
        var present: Set<Int> = []
        try await withGRPCClient(transport: try client(survivorPort)) { client in
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
                #expect(found.settlement.split.postings.map(\.amountFen).reduce(0, +) == 30000)
            }
        }
        #expect(Set(stride(from: 1, to: count, by: 2)).isSubset(of: present))
        #expect(Set(stride(from: 0, to: fromVictim * 2, by: 2)).isSubset(of: present), "every acknowledged settlement survived")
        let store = try await PostgresStore(configuration: try PostgresStore.configuration(url: url, poolSize: 2), logger: logger)
        #expect(try await store.ledgerSum() == .zero)
        for i in 0..<count {
            let total = try await store.person(authorizers[i])!.account!.total
            #expect(total == (present.contains(i) ? .yuan(700) : .yuan(1000)), "authorizer \(i)")
        }
        store.close()
        survivor.kill(SIGTERM)
        #expect(await survivor.waitForExit() == 0)
    }
}

@Suite(
    "check-config and start-up against a PostgreSQL database", .serialized, .timeLimit(.minutes(2)),
    .needsPostgreSQL)
struct PostgresStartupChecksTests {
    @Test("gongjid dev seeds the demo people into an empty PostgreSQL database, and refuses one that holds them already")
    func devSeedOnce() async throws {
        let url = try await freshPostgresSchema()
        let reading = SystemClock().read()
        let (env, config) = try makeDevEnvironment("gongji-pg-dev", today: reading.today, database: .postgresql(url: url, poolSize: 2))
        #expect(
            !FileManager.default.fileExists(atPath: env.directory.appendingPathComponent("gongji.sqlite").path),
            "no SQLite file to mistake for the data")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        try await DevSeed.seed(config: config, at: reading, logger: logger)
        let store = try await PostgresStore(configuration: try PostgresStore.configuration(url: url, poolSize: 1), logger: logger)
        defer { store.close() }
        guard case .person(let first, _)? = DevEnvironment.demoRows(today: reading.today).first else {
            Issue.record("no demo person")
            return
        }
        #expect(try await store.person(first.id)?.account != nil)
        do {
            try await DevSeed.seed(config: config, at: reading, logger: logger)
            Issue.record("seeded twice")
        } catch let error as ConfigError {
            #expect(error.key == "database" && error.problem.contains("holds the demo people already"), "\(error)")
        }
        #expect(try await store.ledgerSum() == .zero)
    }

    @Test(
        "check-config connects and reports the migrations; a server that does not answer, or a database a newer gongjid migrated, is refused naming database.postgresql.url — by run too"
    )
    func checkConfig() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: DaemonProcess.binary.path), "build gongjid first (swift build)")
        let url = try await freshPostgresSchema()
        let (env, _) = try makeDevEnvironment("gongji-pg-check", database: .postgresql(url: url))
        let fresh = try runGongjid(["check-config", env.configPath])
        #expect(
            fresh.status == 0 && fresh.output.contains("PostgreSQL reachable; 0 migrations applied, ")
                && fresh.output.contains(" to apply when gongjid run starts"), "\(fresh.output)")
        // Migrated (as run does on start): up to date.
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let store = try await PostgresStore(configuration: try PostgresStore.configuration(url: url, poolSize: 1), logger: logger)
        let migrated = try runGongjid(["check-config", env.configPath])
        #expect(migrated.status == 0 && migrated.output.contains(" migrations applied, up to date"), "\(migrated.output)")
        // A newer gongjid's migration: refused by check-config and by run, the database untouched.
        store.close()
        try await postgresExecute(url: url, "INSERT INTO gongji_migration (name, applied_at) VALUES ('v9-from-the-future', 0)")
        let newer = try runGongjid(["check-config", env.configPath])
        #expect(
            newer.status == 78 && newer.output.contains("database.postgresql.url") && newer.output.contains("newer gongjid")
                && newer.output.contains("v9-from-the-future"), "\(newer.output)")
        let run = try runGongjid(["run", "--config", env.configPath])
        #expect(run.status != 0 && run.output.contains("newer gongjid"), "\(run.output)")
        // Nobody listening at the URL's address (port 1: refused at once, again and again).
        let text = try String(contentsOfFile: env.configPath, encoding: .utf8)
            .replacingOccurrences(of: url, with: "postgres://gongji@127.0.0.1:1/gongji")
        try text.write(toFile: env.configPath, atomically: true, encoding: .utf8)
        let started = ContinuousClock.now
        let away = try runGongjid(["check-config", env.configPath])
        #expect(
            away.status == 78 && away.output.contains("database.postgresql.url") && away.output.contains("no connection"), "\(away.output)")
        #expect(ContinuousClock.now - started < .seconds(30))
    }
}
