import Foundation
import GongjiCore

/// The daemon's configuration: one JSON5 file (comments allowed) plus environment overrides.
///
/// Relative paths are resolved against the configuration file's directory. `validate()` checks
/// everything that can be checked without opening files; `ConfigError` names the key.
public struct GongjiConfig: Sendable, Codable, Hashable {
    /// Where the gRPC server listens.
    public var listen: Listen
    /// TLS and client certificates.
    public var tls: TLS
    /// Certificate identities (subject common name or DNS SAN) allowed for each role:
    /// `gateway`, `reviewer`, `operator`, `settlement`.
    public var roles: [String: [String]]
    /// The database: one SQLite file (`path`, the default) or a PostgreSQL server shared by
    /// several daemons (`postgresql`).
    public var database: DatabaseSection
    /// The identity-document store.
    public var documents: Documents
    /// The master key file (32 random bytes, hex or raw) from which the document encryption key
    /// and the receipt signing key are derived.
    public var secrets: Secrets
    /// Where the region policy files (`*.json5`) are.
    public var policies: Policies
    /// Limits on what clients may send.
    public var limits: Limits
    /// Logging.
    public var log: Log
    /// Prometheus metrics endpoint.
    public var metrics: Metrics?
    /// Which institutions each `settlement` identity may act for.
    public var settlement: Settlement?
    /// OpenTelemetry tracing (off without it).
    public var tracing: Tracing?
    /// The event journal: retention and followers (defaults without it).
    public var events: Events?

    /// `settlement`.
    public struct Settlement: Sendable, Codable, Hashable {
        /// Certificate identity → the institution codes it may settle for; `"*"` in the list
        /// means every institution (the platform's settlement hub).
        public var institutions: [String: [String]]

        /// Creates the section.
        public init(institutions: [String: [String]]) { self.institutions = institutions }
        enum CodingKeys: String, CodingKey, CaseIterable { case institutions }
    }

    /// `listen`.
    public struct Listen: Sendable, Codable, Hashable {
        /// Address to bind, e.g. `127.0.0.1` or `0.0.0.0`.
        public var host: String
        /// Port; 0 picks a free one (reported in the log and `--port-file`).
        public var port: Int

        /// Creates the section.
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
        enum CodingKeys: String, CodingKey, CaseIterable { case host, port }
    }

    /// `tls`.
    public struct TLS: Sendable, Codable, Hashable {
        /// PEM certificate chain of the server.
        public var certificate: String
        /// PEM private key of the server.
        public var privateKey: String
        /// PEM bundle of the CAs that issue client certificates. Clients must always present a
        /// certificate issued by one of them: roles come from certificate identities.
        public var clientCA: String

        /// Creates the section.
        public init(certificate: String, privateKey: String, clientCA: String) {
            self.certificate = certificate
            self.privateKey = privateKey
            self.clientCA = clientCA
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case certificate
            case privateKey = "private_key"
            case clientCA = "client_ca"
        }
    }

    /// `database`.
    public struct DatabaseSection: Sendable, Codable, Hashable {
        /// Path of the SQLite file; empty with `postgresql`.
        public var path: String
        /// A PostgreSQL server instead (several daemons on one database).
        public var postgresql: PostgreSQL?

        /// `database.postgresql`.
        public struct PostgreSQL: Sendable, Codable, Hashable {
            /// `postgres://user[:password]@host[:port]/database`.
            public var url: String
            /// Connections per daemon (default 20).
            public var poolSize: Int?
            /// `"disable"` (default), `"prefer"` or `"require"` (verified against `ca_file`, else the system's roots).
            public var tls: String?
            /// PEM bundle of the CAs that sign the server's certificate.
            public var caFile: String?

            /// Creates the section.
            public init(url: String, poolSize: Int? = nil, tls: String? = nil, caFile: String? = nil) {
                self.url = url
                self.poolSize = poolSize
                self.tls = tls
                self.caFile = caFile
            }

            enum CodingKeys: String, CodingKey, CaseIterable {
                case url
                case poolSize = "pool_size"
                case tls
                case caFile = "ca_file"
            }
        }

        /// Creates the section.
        public init(path: String) {
            self.path = path
            self.postgresql = nil
        }
        /// A PostgreSQL section.
        public init(postgresql: PostgreSQL) {
            self.path = ""
            self.postgresql = postgresql
        }
        enum CodingKeys: String, CodingKey, CaseIterable { case path, postgresql }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            path = try c.decodeIfPresent(String.self, forKey: .path) ?? ""
            postgresql = try c.decodeIfPresent(Known<PostgreSQL>.self, forKey: .postgresql)?.value
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            if !path.isEmpty { try c.encode(path, forKey: .path) }
            try c.encodeIfPresent(postgresql, forKey: .postgresql)
        }

        /// Whether the daemon keeps its data in PostgreSQL.
        public var isPostgreSQL: Bool { postgresql != nil }
    }

    /// `documents`.
    public struct Documents: Sendable, Codable, Hashable {
        /// Directory of the encrypted image files.
        public var directory: String
        /// Largest accepted upload in bytes (default 10 MiB).
        public var uploadBytesMax: Int?
        /// Seconds after which an upload no binding uses is removed (default 86400).
        public var retentionSeconds: Int?

        /// Creates the section.
        public init(directory: String, uploadBytesMax: Int? = nil, retentionSeconds: Int? = nil) {
            self.directory = directory
            self.uploadBytesMax = uploadBytesMax
            self.retentionSeconds = retentionSeconds
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case directory
            case uploadBytesMax = "upload_bytes_max"
            case retentionSeconds = "retention_seconds"
        }
    }

    /// `secrets`.
    public struct Secrets: Sendable, Codable, Hashable {
        /// Path of the master key file.
        public var keyFile: String

        /// Creates the section.
        public init(keyFile: String) { self.keyFile = keyFile }
        enum CodingKeys: String, CodingKey, CaseIterable { case keyFile = "key_file" }
    }

    /// `policies`.
    public struct Policies: Sendable, Codable, Hashable {
        /// Directory holding one `*.json5` file per region.
        public var directory: String

        /// Creates the section.
        public init(directory: String) { self.directory = directory }
        enum CodingKeys: String, CodingKey, CaseIterable { case directory }
    }

    /// `limits`.
    public struct Limits: Sendable, Codable, Hashable {
        /// Largest request message in bytes (default 4 MiB).
        public var messageBytesMax: Int?
        /// Concurrent streams per connection (default 128).
        public var concurrentStreamsMax: Int?
        /// Seconds before an idle connection is closed (default 300).
        public var idleTimeoutSeconds: Int?
        /// Longest a unary call may run, seconds (default 30).
        public var callTimeoutSeconds: Int?
        /// Seconds in-flight calls get to finish on stop (default 10).
        public var shutdownGraceSeconds: Int?
        /// HTTP/2 receive window per stream in bytes (default 1 MiB; speeds up uploads).
        public var windowBytes: Int?
        /// Largest registry import file in bytes (default 256 MiB).
        public var importBytesMax: Int?
        /// Connections open at once; one more is closed at accept (default 1000).
        public var connectionsMax: Int?
        /// Seconds from accept to a complete TLS handshake and HTTP/2 preface (default 10).
        public var handshakeTimeoutSeconds: Int?

        /// Every limit unset: the defaults apply.
        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case messageBytesMax = "message_bytes_max"
            case concurrentStreamsMax = "concurrent_streams_max"
            case idleTimeoutSeconds = "idle_timeout_seconds"
            case callTimeoutSeconds = "call_timeout_seconds"
            case shutdownGraceSeconds = "shutdown_grace_seconds"
            case windowBytes = "window_bytes"
            case importBytesMax = "import_bytes_max"
            case connectionsMax = "connections_max"
            case handshakeTimeoutSeconds = "handshake_timeout_seconds"
        }

        /// Every limit unset (defaults apply).
        public static let defaults = Limits()
    }

    /// `log`.
    public struct Log: Sendable, Codable, Hashable {
        /// trace, debug, info, notice, warning, error or critical (default info).
        public var level: String?

        /// Creates the section.
        public init(level: String?) { self.level = level }
        enum CodingKeys: String, CodingKey, CaseIterable { case level }
    }

    /// `metrics`.
    public struct Metrics: Sendable, Codable, Hashable {
        /// Address to bind the plain-HTTP metrics endpoint, e.g. `127.0.0.1`.
        public var host: String
        /// Its port; 0 picks a free one.
        public var port: Int

        /// Creates the section.
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
        enum CodingKeys: String, CodingKey, CaseIterable { case host, port }
    }

    /// `tracing`: spans exported with OTLP/gRPC to a collector. Off when the section is absent.
    public struct Tracing: Sendable, Codable, Hashable {
        /// The collector, `http://host:port` (or `https://` for TLS with the system's roots).
        public var otlpEndpoint: String
        /// The share of calls without a sampled parent that are traced, 0…1 (default 0.01). A
        /// gateway's `traceparent` that says sampled is always followed. Reloadable.
        public var sampleRatio: Double?
        /// Finished spans waiting for export at most (default 2048); past it new spans are dropped.
        public var queueSpansMax: Int?
        /// How long one export may take before it is abandoned (default 5).
        public var exportTimeoutSeconds: Int?

        /// Creates the section.
        public init(otlpEndpoint: String, sampleRatio: Double? = nil, queueSpansMax: Int? = nil, exportTimeoutSeconds: Int? = nil) {
            self.otlpEndpoint = otlpEndpoint
            self.sampleRatio = sampleRatio
            self.queueSpansMax = queueSpansMax
            self.exportTimeoutSeconds = exportTimeoutSeconds
        }
        enum CodingKeys: String, CodingKey, CaseIterable {
            case otlpEndpoint = "otlp_endpoint"
            case sampleRatio = "sample_ratio"
            case queueSpansMax = "queue_spans_max"
            case exportTimeoutSeconds = "export_timeout_seconds"
        }

        /// `sample_ratio` or its default, 0.01.
        public var ratio: Double { sampleRatio ?? 0.01 }
        /// `queue_spans_max` or its default, 2048.
        public var queueMax: Int { queueSpansMax ?? 2048 }
        /// `export_timeout_seconds` or its default, 5.
        public var exportTimeout: Int { exportTimeoutSeconds ?? 5 }
    }

    /// `events`: the event journal (R-EVT-3).
    public struct Events: Sendable, Codable, Hashable {
        /// Days an event is kept (default 90); a follower's position before the oldest kept is
        /// answered OUT_OF_RANGE.
        public var retentionDays: Int?
        /// Followers of `EventService/FollowEvents` at once on this daemon (default 64).
        public var followersMax: Int?
        /// Seconds a follower may take to accept one event before its stream ends (default 10).
        public var slowFollowerSeconds: Int?

        /// Creates the section.
        public init(retentionDays: Int? = nil, followersMax: Int? = nil, slowFollowerSeconds: Int? = nil) {
            self.retentionDays = retentionDays
            self.followersMax = followersMax
            self.slowFollowerSeconds = slowFollowerSeconds
        }
        enum CodingKeys: String, CodingKey, CaseIterable {
            case retentionDays = "retention_days"
            case followersMax = "followers_max"
            case slowFollowerSeconds = "slow_follower_seconds"
        }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case listen, tls, roles, database, documents, secrets, policies, limits, log, metrics, settlement, tracing, events
    }

    /// Creates a configuration.
    public init(
        listen: Listen, tls: TLS, roles: [String: [String]], database: DatabaseSection, documents: Documents,
        secrets: Secrets, policies: Policies, limits: Limits = .defaults, log: Log = Log(level: nil),
        metrics: Metrics? = nil, settlement: Settlement? = nil, tracing: Tracing? = nil, events: Events? = nil
    ) {
        self.settlement = settlement
        self.tracing = tracing
        self.events = events
        self.listen = listen
        self.tls = tls
        self.roles = roles
        self.database = database
        self.documents = documents
        self.secrets = secrets
        self.policies = policies
        self.limits = limits
        self.log = log
        self.metrics = metrics
    }

    public init(from decoder: any Decoder) throws {
        try decoder.refuseUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        listen = try c.decode(Known<Listen>.self, forKey: .listen).value
        tls = try c.decode(Known<TLS>.self, forKey: .tls).value
        roles = try c.decode([String: [String]].self, forKey: .roles)
        database = try c.decode(Known<DatabaseSection>.self, forKey: .database).value
        documents = try c.decode(Known<Documents>.self, forKey: .documents).value
        secrets = try c.decode(Known<Secrets>.self, forKey: .secrets).value
        policies = try c.decode(Known<Policies>.self, forKey: .policies).value
        limits = try c.decodeIfPresent(Known<Limits>.self, forKey: .limits)?.value ?? .defaults
        log = try c.decodeIfPresent(Known<Log>.self, forKey: .log)?.value ?? Log(level: nil)
        metrics = try c.decodeIfPresent(Known<Metrics>.self, forKey: .metrics)?.value
        settlement = try c.decodeIfPresent(Known<Settlement>.self, forKey: .settlement)?.value
        tracing = try c.decodeIfPresent(Known<Tracing>.self, forKey: .tracing)?.value
        events = try c.decodeIfPresent(Known<Events>.self, forKey: .events)?.value
    }
}

/// A configuration section: its keys are exactly its `CodingKeys`.
protocol ConfigSection: Decodable {
    associatedtype CodingKeys: CodingKey & CaseIterable
}

extension GongjiConfig.Listen: ConfigSection {}
extension GongjiConfig.TLS: ConfigSection {}
extension GongjiConfig.DatabaseSection: ConfigSection {}
extension GongjiConfig.Documents: ConfigSection {}
extension GongjiConfig.Secrets: ConfigSection {}
extension GongjiConfig.Policies: ConfigSection {}
extension GongjiConfig.Limits: ConfigSection {}
extension GongjiConfig.Log: ConfigSection {}
extension GongjiConfig.Metrics: ConfigSection {}
extension GongjiConfig.Settlement: ConfigSection {}
extension GongjiConfig.Tracing: ConfigSection {}
extension GongjiConfig.Events: ConfigSection {}
extension GongjiConfig.DatabaseSection.PostgreSQL: ConfigSection {}

/// Decodes a section after refusing any key it does not know: a typo (`limit`,
/// `message_byte_max`) is an error naming the key, never silently a default.
struct Known<Section: ConfigSection>: Decodable {
    let value: Section

    init(from decoder: any Decoder) throws {
        try decoder.refuseUnknownKeys(Section.CodingKeys.self)
        value = try Section(from: decoder)
    }
}

/// Any key of a JSON object.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension Decoder {
    /// Throws for the first key of this object that `known` does not list.
    func refuseUnknownKeys<Keys: CodingKey & CaseIterable>(_ known: Keys.Type) throws {
        let names = Set(Keys.allCases.map(\.stringValue))
        let container = try container(keyedBy: AnyKey.self)
        for key in container.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) where !names.contains(key.stringValue) {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: codingPath + [key],
                    debugDescription: "unknown key; this section knows \(names.sorted().joined(separator: ", "))"))
        }
    }
}

/// A configuration problem, naming the key (e.g. `tls.client_ca`) and what is wrong.
public struct ConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The dotted key.
    public var key: String
    /// What is wrong.
    public var problem: String

    /// Creates an error.
    public init(key: String, problem: String) {
        self.key = key
        self.problem = problem
    }

    public var description: String { key.isEmpty ? problem : "\(key): \(problem)" }
}

/// The roles a calling system can have.
public enum Role: String, Sendable, Hashable, CaseIterable, Codable {
    /// The front-end gateway acting for insured persons.
    case gateway
    /// Reviewers of bindings.
    case reviewer
    /// Operators: registry and regions.
    case `operator`
    /// Settlement engines of designated institutions (or the platform's hub).
    case settlement
    /// A notification service: follows every event of the journal.
    case notifier
}

extension GongjiConfig {
    /// Environment variables that override keys of the file.
    public static let environmentOverrides: [(variable: String, key: String)] = [
        ("GONGJI_LISTEN_HOST", "listen.host"), ("GONGJI_LISTEN_PORT", "listen.port"),
        ("GONGJI_DATABASE_PATH", "database.path"), ("GONGJI_DOCUMENTS_DIRECTORY", "documents.directory"),
        ("GONGJI_POLICIES_DIRECTORY", "policies.directory"), ("GONGJI_LOG_LEVEL", "log.level"),
    ]

    /// Reads, overrides from `environment`, resolves relative paths and validates.
    public static func load(
        path: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigError) -> GongjiConfig {
        let url = URL(fileURLWithPath: path)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ConfigError(key: "", problem: "cannot read configuration file \(path)")
        }
        return try parse(json5: data, source: path, environment: environment, base: url.deletingLastPathComponent())
    }

    /// Decodes the text of a configuration file (`source` names it in errors), applies the
    /// environment, resolves relative paths against `base` and validates. Reads no files.
    public static func parse(json5 data: Data, source: String, environment: [String: String], base: URL) throws(ConfigError) -> GongjiConfig
    {
        var config: GongjiConfig
        do {
            config = try JSON5.decode(GongjiConfig.self, from: data)
        } catch let error as DecodingError {
            // A syntax error names no key: name the file instead.
            guard !error.fieldPath.isEmpty else { throw ConfigError(key: "", problem: "\(source) is not valid JSON5: \(error.problem)") }
            throw ConfigError(key: error.fieldPath, problem: error.problem)
        } catch {
            throw ConfigError(key: "", problem: "\(source) is not valid JSON5: \(error)")
        }
        try config.applyEnvironment(environment)
        config.resolvePaths(relativeTo: base)
        try config.validate()
        return config
    }

    mutating func applyEnvironment(_ environment: [String: String]) throws(ConfigError) {
        for (variable, key) in Self.environmentOverrides {
            guard let value = environment[variable] else { continue }
            switch key {
            case "listen.host": listen.host = value
            case "listen.port":
                guard let port = Int(value) else { throw ConfigError(key: key, problem: "\(variable)=\(value) is not a port number") }
                listen.port = port
            case "database.path": database.path = value
            case "documents.directory": documents.directory = value
            case "policies.directory": policies.directory = value
            case "log.level": log.level = value
            default: break
            }
        }
    }

    /// Makes every relative path absolute against `base`.
    public mutating func resolvePaths(relativeTo base: URL) {
        func resolve(_ path: inout String) {
            guard !path.hasPrefix("/"), !path.isEmpty else { return }
            path = base.appendingPathComponent(path).standardizedFileURL.path
        }
        resolve(&tls.certificate)
        resolve(&tls.privateKey)
        resolve(&tls.clientCA)
        resolve(&database.path)
        if database.postgresql?.caFile != nil { resolve(&database.postgresql!.caFile!) }
        resolve(&documents.directory)
        resolve(&secrets.keyFile)
        resolve(&policies.directory)
    }

    /// Checks values without touching files.
    public func validate() throws(ConfigError) {
        guard !listen.host.isEmpty else { throw ConfigError(key: "listen.host", problem: "must not be empty") }
        guard (0...65535).contains(listen.port) else {
            throw ConfigError(key: "listen.port", problem: "must be 0…65535, got \(listen.port)")
        }
        for (role, identities) in roles {
            guard Role(rawValue: role) != nil else {
                throw ConfigError(key: "roles.\(role)", problem: "unknown role; use gateway, reviewer, operator, settlement or notifier")
            }
            for identity in identities where identity.isEmpty {
                throw ConfigError(key: "roles.\(role)", problem: "an identity must not be empty")
            }
        }
        func range(_ value: Int?, _ key: String, _ bounds: ClosedRange<Int>) throws(ConfigError) {
            if let value, !bounds.contains(value) {
                throw ConfigError(key: key, problem: "must be \(bounds.lowerBound)…\(bounds.upperBound), got \(value)")
            }
        }
        try range(documents.uploadBytesMax, "documents.upload_bytes_max", 1024...(256 << 20))
        try range(documents.retentionSeconds, "documents.retention_seconds", 1...(365 * 86400))
        try range(limits.messageBytesMax, "limits.message_bytes_max", 1024...(64 << 20))
        try range(limits.concurrentStreamsMax, "limits.concurrent_streams_max", 1...10_000)
        try range(limits.idleTimeoutSeconds, "limits.idle_timeout_seconds", 1...86400)
        try range(limits.callTimeoutSeconds, "limits.call_timeout_seconds", 1...3600)
        try range(limits.shutdownGraceSeconds, "limits.shutdown_grace_seconds", 0...3600)
        try range(limits.windowBytes, "limits.window_bytes", 65535...(16 << 20))
        try range(limits.importBytesMax, "limits.import_bytes_max", 1024...(1 << 30))
        try range(limits.connectionsMax, "limits.connections_max", 1...100_000)
        try range(limits.handshakeTimeoutSeconds, "limits.handshake_timeout_seconds", 1...300)
        if let level = log.level, LogLevelName.parse(level) == nil {
            throw ConfigError(key: "log.level", problem: "'\(level)' is not one of \(LogLevelName.all.joined(separator: ", "))")
        }
        if let metrics {
            guard (0...65535).contains(metrics.port) else { throw ConfigError(key: "metrics.port", problem: "must be 0…65535") }
        }
        if let tracing {
            let endpoint = tracing.otlpEndpoint
            guard endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://"), endpoint.count > "https://".count else {
                throw ConfigError(key: "tracing.otlp_endpoint", problem: "must be http://host:port or https://host:port, got '\(endpoint)'")
            }
            if let ratio = tracing.sampleRatio, !(0...1).contains(ratio) {
                throw ConfigError(key: "tracing.sample_ratio", problem: "must be 0…1, got \(ratio)")
            }
            try range(tracing.queueSpansMax, "tracing.queue_spans_max", 1...1_000_000)
            try range(tracing.exportTimeoutSeconds, "tracing.export_timeout_seconds", 1...300)
        }
        try range(events?.retentionDays, "events.retention_days", 1...3650)
        try range(events?.followersMax, "events.followers_max", 1...10_000)
        try range(events?.slowFollowerSeconds, "events.slow_follower_seconds", 1...600)
        switch (database.path.isEmpty, database.postgresql) {
        case (true, nil): throw ConfigError(key: "database", problem: "give path (SQLite) or postgresql")
        case (false, _?): throw ConfigError(key: "database", problem: "give path (SQLite) or postgresql, not both")
        case (_, let postgresql?):
            guard postgresql.url.hasPrefix("postgres://") || postgresql.url.hasPrefix("postgresql://") else {
                throw ConfigError(key: "database.postgresql.url", problem: "must be postgres://user@host[:port]/database")
            }
            if let size = postgresql.poolSize, !(1...500).contains(size) {
                throw ConfigError(key: "database.postgresql.pool_size", problem: "must be 1…500, got \(size)")
            }
            if let tls = postgresql.tls, !["disable", "prefer", "require"].contains(tls) {
                throw ConfigError(key: "database.postgresql.tls", problem: "must be disable, prefer or require")
            }
        default: break
        }
        for (identity, codes) in settlement?.institutions ?? [:] {
            let key = "settlement.institutions.\(identity)"
            guard !identity.isEmpty else { throw ConfigError(key: key, problem: "an identity must not be empty") }
            guard roles[Role.settlement.rawValue]?.contains(identity) == true else {
                throw ConfigError(key: key, problem: "\(identity) is not listed under roles.settlement")
            }
            for code in codes where code != "*" && (try? InstitutionCode.parse(code)) == nil {
                throw ConfigError(key: key, problem: "'\(code)' is not an institution code (H or P and 11 digits) or \"*\"")
            }
        }
    }

    /// `documents.upload_bytes_max` or its default, 10 MiB.
    public var uploadBytesMax: Int { documents.uploadBytesMax ?? 10 << 20 }
    /// `documents.retention_seconds` or its default, one day.
    public var retentionSeconds: Int { documents.retentionSeconds ?? 86400 }
    /// `limits.message_bytes_max` or its default, 4 MiB.
    public var messageBytesMax: Int { limits.messageBytesMax ?? 4 << 20 }
    /// `limits.concurrent_streams_max` or its default, 128.
    public var concurrentStreamsMax: Int { limits.concurrentStreamsMax ?? 128 }
    /// `limits.idle_timeout_seconds` or its default, 300.
    public var idleTimeoutSeconds: Int { limits.idleTimeoutSeconds ?? 300 }
    /// `limits.call_timeout_seconds` or its default, 30.
    public var callTimeoutSeconds: Int { limits.callTimeoutSeconds ?? 30 }
    /// `limits.shutdown_grace_seconds` or its default, 10.
    public var shutdownGraceSeconds: Int { limits.shutdownGraceSeconds ?? 10 }
    /// `limits.window_bytes` or its default, 1 MiB.
    public var windowBytes: Int { limits.windowBytes ?? 1 << 20 }
    /// `limits.import_bytes_max` or its default, 256 MiB.
    public var importBytesMax: Int { limits.importBytesMax ?? 256 << 20 }
    /// `limits.connections_max` or its default, 1000.
    public var connectionsMax: Int { limits.connectionsMax ?? 1000 }
    /// `events.retention_days` or its default, 90, in seconds.
    public var eventRetentionSeconds: Int { (events?.retentionDays ?? 90) * 86400 }
    /// `events.followers_max` or its default, 64.
    public var eventFollowersMax: Int { events?.followersMax ?? 64 }
    /// `events.slow_follower_seconds` or its default, 10.
    public var slowFollowerSeconds: Int { events?.slowFollowerSeconds ?? 10 }
    /// `limits.handshake_timeout_seconds` or its default, 10.
    public var handshakeTimeoutSeconds: Int { limits.handshakeTimeoutSeconds ?? 10 }
}
