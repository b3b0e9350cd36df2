import Foundation
import GongjiCore
import GongjiPostgres
import GongjiSQLite
import GongjiStorage
import Logging
import PostgresNIO
import Testing

/// A store backend under the contract suite. Every test of `Store…Tests` runs against each one:
/// SQLite, and PostgreSQL when the test server is there.
struct Backend: CustomTestStringConvertible, Sendable {
    let name: String
    let make: @Sendable () async throws -> any FamilyAccountStore

    var testDescription: String { name }

    /// SQLite always; PostgreSQL when `GONGJI_TEST_POSTGRES_URL` names a server (scripts/test starts one).
    static let all: [Backend] = postgresURL == nil ? [sqlite] : [sqlite, postgresql]

    static let postgresURL = ProcessInfo.processInfo.environment["GONGJI_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

    /// A fresh schema of the test server's database per test: the store migrates it.
    static let postgresql = Backend(name: "PostgreSQL") { try await makePostgres().store }

    /// A store on a new schema of the test server's database, and the schema's name.
    static func makePostgres() async throws -> (store: PostgresStore, schema: String) {
        let url = postgresURL!
        let schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await createSchema(schema, url: url)
        var logger = Logger(label: "contract")
        logger.logLevel = .critical
        let store = try await PostgresStore(
            configuration: try PostgresStore.configuration(url: url + "?search_path=" + schema, poolSize: 8),
            logger: logger, leaseTimeout: .seconds(30))
        return (store, schema)
    }

    static func createSchema(_ schema: String, url: String) async throws {
        var logger = Logger(label: "contract")
        logger.logLevel = .critical
        let client = PostgresClient(configuration: try PostgresStore.configuration(url: url, poolSize: 1), backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            try await client.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \(schema)"), logger: logger)
            group.cancelAll()
        }
    }

    /// Runs `body` on a session of its own (another daemon's, say) in `schema` of the test
    /// server, with the logger its statements take.
    static func withOtherSession(in schema: String, _ body: (PostgresConnection, Logger) async throws -> Void) async throws {
        var logger = Logger(label: "contract")
        logger.logLevel = .error
        let client = PostgresClient(
            configuration: try PostgresStore.configuration(url: postgresURL!, poolSize: 1), backgroundLogger: logger)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await client.run() }
            try await client.withConnection { c in
                _ = try await c.query("SET search_path TO \(unescaped: schema)", logger: logger)
                try await body(c, logger)
            }
            group.cancelAll()
        }
    }

    /// A fresh SQLite database in a directory of its own.
    static let sqlite = Backend(name: "SQLite") {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gongji-contract-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("gongji.sqlite").path
        try SQLiteStore.create(path: path)
        return try SQLiteStore(path: path)
    }
}

/// The world the contract tests act in: a fixed day inside the 2025 collection windows, the
/// shipped Hohhot policy without its materials (so bindings need no uploads) and Ma'anshan
/// (reviewed bindings, carry-over only), and helpers that register people.
struct World {
    static let today = CivilDate(year: 2024, month: 10, day: 15)!
    static let now: Int64 = 1_728_972_000  // 2024-10-15 14:00 China time
    static let policiesDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("deploy/policies")

    let store: any FamilyAccountStore
    let policies: PolicyBook
    let actor = ChangeActor(certificateIdentity: "contract-test", endUser: nil, requestID: nil)
    var today: CivilDate { Self.today }
    var now: Int64 { nowOverride ?? Self.now }
    private var nowOverride: Int64?

    init(_ backend: Backend) async throws {
        try self.init(store: try await backend.make())
    }

    init(store: any FamilyAccountStore) throws {
        self.store = store
        var hohhot = try Self.policy("hohhot")
        hohhot.materials.commitmentVersions = []
        hohhot.materials.idImages = false
        var maanshan = try Self.policy("maanshan")
        maanshan.premiums[0].amount = .yuan(380)
        policies = try PolicyBook([hohhot, maanshan, try Self.policy("haikou")])
    }

    private init(store: any FamilyAccountStore, policies: PolicyBook, now: Int64?) {
        self.store = store
        self.policies = policies
        self.nowOverride = now
    }

    /// The same store with other policies.
    func withPolicies(_ policies: PolicyBook) -> World { World(store: store, policies: policies, now: nowOverride) }

    /// The same store at another time (the same day).
    func withNow(_ now: Int64) -> World { World(store: store, policies: policies, now: now) }

    static func policy(_ name: String) throws -> RegionPolicy {
        let url = policiesDirectory.appendingPathComponent("\(name).json5")
        return try RegionPolicy.decode(json5: try Data(contentsOf: url), source: url.lastPathComponent)
    }

    /// A valid ID number registered in `area`, born on `born`.
    static func id(_ sequence: Int, area: String = "150102", born: String = "1980-03-15") -> ResidentID {
        try! ResidentID.parse(ResidentID.compose(area: area, born: CivilDate(iso: born)!, sequence: sequence), today: today)
    }

    /// Registers an employee-insured authorizer with `balance` as current-year credit.
    @discardableResult
    func employee(
        _ id: ResidentID, name: String = "王建国", region: RegionCode = .hohhot, balance: Money = .yuan(1000)
    ) async throws -> ResidentID {
        _ = try await store.upsertPerson(
            Person(id: id, name: name, insuranceType: .employee, status: .normal, region: region),
            paidYears: [], key: nil, today: today, now: now)
        if balance > .zero {
            _ = try await store.credit(id, amount: balance, part: .currentYear, reference: "CREDIT-\(id.value)", key: nil, now: now)
        }
        return id
    }

    /// Registers a resident-insured member.
    @discardableResult
    func resident(_ id: ResidentID, name: String, region: RegionCode = .hohhot, type: InsuranceType = .resident) async throws -> ResidentID
    {
        _ = try await store.upsertPerson(
            Person(id: id, name: name, insuranceType: type, status: type == .none ? .normal : .normal, region: region),
            paidYears: [], key: nil, today: today, now: now)
        return id
    }

    /// Binds `member` (a child) for `authorizer`; reviewed bindings are approved.
    func bind(_ authorizer: ResidentID, _ member: ResidentID, name: String, id: String) async throws -> BindingRecord {
        let request = BindingRequest(memberIDNumber: member.value, memberName: name, relationship: .child, startDate: today)
        let record = try await store.createBinding(
            request, endUser: authorizer, id: id, key: nil, actor: actor, policies: policies,
            today: today, now: now)
        guard record.binding.status == .pending else { return record }
        return try await store.changeBinding(id: id, .review(.approve), key: nil, actor: actor, now: now)
    }

    /// Six children (the most one authorizer may bind), each bound for `authorizer`; their binding ids.
    func bindSixChildren(of authorizer: ResidentID) async throws -> [String] {
        var bindings: [String] = []
        for index in 0..<6 {
            let child = try await resident(World.id(10 + index, born: "2010-06-01"), name: "孩子\(index)")
            bindings.append(try await bind(authorizer, child, name: "孩子\(index)", id: "b\(index)").binding.id)
        }
        return bindings
    }

    func order(_ binding: String, years: [Int] = [2025], total: Money, external: ExternalPayment? = nil) -> PaymentOrder {
        PaymentOrder(bindingID: binding, years: years, expectedTotal: total, external: external)
    }

    func key(_ requestID: String, scope: String = "test", content: String = "") -> IdempotencyKey {
        IdempotencyKey(scope: scope, requestID: requestID, fingerprint: Data(content.utf8))
    }
}

/// The reason of the domain error `body` throws, or nil when it succeeds.
func refusal<T>(_ body: () async throws -> T) async -> String? {
    do {
        _ = try await body()
        return nil
    } catch let error as DomainError { return error.reason.name } catch { return "\(error)" }
}
