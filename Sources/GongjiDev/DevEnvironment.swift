import Foundation
import GongjiBench
import GongjiCore
import GongjiSQLite
import GongjiServer
import GongjiStorage

/// Dev mode: a throwaway directory with a CA, server and per-role client certificates, a master
/// key, the shipped policies plus a demo premium year relative to today, and a configuration.
public struct DevEnvironment: Sendable {
    /// The directory everything is written to.
    public let directory: URL
    /// The written configuration file.
    public var configPath: String { directory.appendingPathComponent("gongjid.json5").path }

    /// The identities of the dev client certificates, by role.
    public static let identities: [Role: String] = [
        .gateway: "gongji-gateway", .reviewer: "gongji-reviewer", .operator: "gongji-operator", .settlement: "gongji-settlement",
        .notifier: "gongji-notifier",
    ]

    /// The demo designated institutions: a hospital in Hohhot and a pharmacy in Ma'anshan.
    public static let hospital = Institution(
        code: try! InstitutionCode.parse(BenchManifest.defaultInstitution), name: "呼和浩特市第一医院（演示）", kind: .hospital,
        region: .hohhot, validFrom: CivilDate(year: 2024, month: 1, day: 1)!, validTo: nil)
    public static let pharmacy = Institution(
        code: try! InstitutionCode.parse("P34050000002"), name: "马鞍山大药房（演示）", kind: .pharmacy,
        region: .maanshan, validFrom: CivilDate(year: 2024, month: 1, day: 1)!, validTo: nil)

    /// Where a dev environment keeps its data.
    public enum Database: Sendable {
        /// A new SQLite file in the directory.
        case sqlite
        /// An (empty) PostgreSQL database that several daemons can share.
        case postgresql(url: String, poolSize: Int = 20)
    }

    /// Creates (wiping any previous content) the dev directory. `policySource` holds the shipped
    /// `*.json5` policies.
    public static func create(
        at directory: URL, policySource: URL, host: String, port: Int,
        today: CivilDate, database: Database = .sqlite, metricsPort: Int? = nil,
        otlpEndpoint: String? = nil, traceSampleRatio: Double = 1
    ) throws -> DevEnvironment {
        let fm = FileManager.default
        try? fm.removeItem(at: directory)
        let pki = directory.appendingPathComponent("pki")
        let policies = directory.appendingPathComponent("policies")
        for dir in [directory, pki, policies, directory.appendingPathComponent("documents")] {
            try fm.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let ca = try DevPKI()
        try write(ca.caCertificatePEM, to: pki.appendingPathComponent("ca.pem"))
        let server = try ca.issueServer()
        try write(server.certificatePEM, to: pki.appendingPathComponent("server.pem"))
        try write(server.privateKeyPEM, to: pki.appendingPathComponent("server-key.pem"), secret: true)
        for (role, identity) in identities {
            let client = try ca.issueClient(identity: identity)
            try write(client.certificatePEM, to: pki.appendingPathComponent("\(role.rawValue).pem"))
            try write(client.privateKeyPEM, to: pki.appendingPathComponent("\(role.rawValue)-key.pem"), secret: true)
        }
        try Secrets.generateKeyFile(at: directory.appendingPathComponent("master.key").path)
        try writeDemoPolicies(from: policySource, to: policies, today: today)
        let databaseLine =
            switch database {
            case .sqlite: #"database: { path: "gongji.sqlite" }"#
            case .postgresql(let url, let poolSize): #"database: { postgresql: { url: "\#(url)", pool_size: \#(poolSize) } }"#
            }
        let roles = identities.map { "    \($0.key.rawValue): [\"\($0.value)\"]," }.sorted().joined(separator: "\n")
        let config = """
            // gongjid configuration written by `gongjid dev` (DEMO: throwaway keys and data).
            // Relative paths are relative to this file.
            {
              listen: { host: "\(host)", port: \(port) },
              tls: { certificate: "pki/server.pem", private_key: "pki/server-key.pem", client_ca: "pki/ca.pem" },
              roles: {
            \(roles)
              },
              \(databaseLine),
              documents: { directory: "documents", upload_bytes_max: 10485760, retention_seconds: 86400 },
              secrets: { key_file: "master.key" },
              policies: { directory: "policies" },
              // The settlement identity acts for every institution (a platform hub).
              settlement: { institutions: { "gongji-settlement": ["*"] } },
              log: { level: "info" },\(metricsPort.map { "\n  metrics: { host: \"127.0.0.1\", port: \($0) }," } ?? "")\(
                otlpEndpoint.map { "\n  tracing: { otlp_endpoint: \"\($0)\", sample_ratio: \(traceSampleRatio) }," } ?? "")
            }

            """
        try write(config, to: directory.appendingPathComponent("gongjid.json5"))
        if case .sqlite = database { try SQLiteStore.create(path: directory.appendingPathComponent("gongji.sqlite").path) }
        return DevEnvironment(directory: directory)
    }

    static func write(_ text: String, to url: URL, secret: Bool = false) throws {
        guard
            FileManager.default.createFile(
                atPath: url.path, contents: Data(text.utf8),
                attributes: [.posixPermissions: secret ? 0o600 : 0o644])
        else {
            throw ConfigError(key: "", problem: "cannot write \(url.path)")
        }
    }

    /// Copies each shipped policy with a demo premium year whose collection window contains
    /// today, so that quoting and paying work whatever the date (marked as demo data).
    public static func writeDemoPolicies(from source: URL, to destination: URL, today: CivilDate) throws {
        let book = try PolicyLoader.load(directory: source.path)
        for policy in book.policies.values {
            var demo = policy
            let year = today.year + 1
            if demo.premiumYear(year) == nil {
                let standard = demo.premiums.compactMap(\.amount).last ?? .yuan(400)
                let categories = demo.premiums.last?.categoryAmounts ?? [:]
                let start = today.adding(days: -30)
                if !demo.premiums.contains(where: { $0.windowEnd >= start }) {
                    demo.premiums.append(
                        .init(
                            year: year, amount: standard, categoryAmounts: categories, windowStart: start,
                            windowEnd: today.adding(days: 60), note: "DEMO DATA written by gongjid dev relative to \(today)"))
                }
            }
            try demo.validate()
            let header = "// DEMO DATA: \(policy.name) from the shipped policy plus a demo premium year \(year) relative to \(today).\n"
            try write(
                header + String(decoding: demo.canonicalJSON(), as: UTF8.self) + "\n",
                to: destination.appendingPathComponent("\(policy.region).json5"))
        }
    }

    /// Demo people: in each region an authorizer with a funded account and a family.
    public static func demoRows(today: CivilDate) -> [RegistryRow] {
        func id(_ code: String, _ born: String, _ sequence: Int) -> ResidentID {
            try! ResidentID.parse(
                ResidentID.compose(area: code, born: CivilDate(compact: Substring(born))!, sequence: sequence), today: today)
        }
        let babyBorn = today.adding(days: -30).description.filter { $0 != "-" }
        var rows: [RegistryRow] = []
        let families: [(RegionCode, String, String, Int64)] = [
            (.hohhot, "150102", "王", 100_000), (.ulanqab, "150902", "李", 80_000), (.maanshan, "340503", "张", 30_000),
        ]
        for (region, code, surname, balance) in families {
            let authorizer = id(code, "19800315", 131)
            rows.append(
                .person(
                    Person(id: authorizer, name: "\(surname)建国", insuranceType: .employee, status: .normal, region: region), paidYears: []))
            rows.append(
                .person(
                    Person(id: id(code, "19820707", 422), name: "\(surname)秀英", insuranceType: .resident, status: .normal, region: region),
                    paidYears: []))
            rows.append(
                .person(
                    Person(id: id(code, "20100601", 242), name: "\(surname)小明", insuranceType: .resident, status: .normal, region: region),
                    paidYears: []))
            rows.append(
                .person(
                    Person(
                        id: id(code, "20120202", 246), name: "\(surname)小红", insuranceType: .resident, status: .normal, region: region,
                        specialCategory: "subsistence_allowance"), paidYears: []))
            rows.append(
                .person(
                    Person(id: id(code, "19550101", 311), name: "\(surname)老汉", insuranceType: .resident, status: .normal, region: region),
                    paidYears: []))
            rows.append(
                .person(
                    Person(id: id(code, babyBorn, 11), name: "\(surname)宝宝", insuranceType: .none, status: .normal, region: region),
                    paidYears: []))
            rows.append(.credit(authorizer, amount: Money(fen: balance), part: .currentYear, reference: "DEMO-\(region)-1"))
        }
        // R-XP-*: the Hohhot authorizer's mother, insured in Haikou (Hainan, policy haikou.json5): a cross-province family.
        rows.append(
            .person(
                Person(
                    id: id("460100", "19550101", 322), name: "李秀兰", insuranceType: .resident, status: .normal, region: RegionCode(460_100)!),
                paidYears: []))
        rows.append(.institution(hospital))
        rows.append(.institution(pharmacy))
        return rows
    }
}
