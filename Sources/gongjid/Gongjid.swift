import ArgumentParser
import Foundation
import GongjiCore
import GongjiDev
import GongjiPostgres
import GongjiSQLite
import GongjiServer
import GongjiStorage
import Logging
import ServiceLifecycle

@main
struct Gongjid: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gongjid",
        abstract: "The Gongji family mutual-aid account daemon (gRPC over mutual TLS).",
        subcommands: [Run.self, Init.self, Dev.self, CheckConfig.self, Verify.self, Backup.self, Migrate.self, BenchSetup.self],
        defaultSubcommand: Run.self)
}

/// Files the daemon creates (database, WAL, backups, documents, temporary files) are for its own
/// user only, whatever umask it was started with.
func ownerOnlyFiles() { umask(0o077) }

/// Loads the configuration or exits 78 (EX_CONFIG) with the problem on standard error.
func loadConfig(_ path: String) throws -> GongjiConfig {
    do { return try GongjiConfig.load(path: path) } catch {
        FileHandle.standardError.write(Data("gongjid: configuration error: \(error)\n".utf8))
        throw ExitCode(78)
    }
}

/// Runs the daemon until SIGTERM or SIGINT.
func runDaemon(
    config: GongjiConfig, configPath: String?, portFile: String?, logger: Logger,
    afterStart: @escaping @Sendable (Int) async throws -> Void = { _ in }
) async throws {
    tuneMemoryAllocator()
    ownerOnlyFiles()
    let notifier = SystemdNotifier()
    notifier.send("STATUS=opening the database and document store")
    let daemon = try await GongjiDaemon.build(config: config, logger: logger)
    var configuration = ServiceGroupConfiguration(
        services: daemon.services(notifier: notifier, configPath: configPath).map { .init(service: $0) },
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger)
    // In-flight calls get the grace time; then they are cancelled.
    configuration.maximumGracefulShutdownDuration = .seconds(config.shutdownGraceSeconds)
    configuration.maximumCancellationDuration = .seconds(5)
    let group = ServiceGroup(configuration: configuration)
    try await withThrowingDiscardingTaskGroup { tasks in
        tasks.addTask { try await group.run() }
        let port = try await daemon.listeningPort()
        logger.notice("listening", metadata: ["listen.host": "\(config.listen.host)", "listen.port": "\(port)"])
        if let portFile {
            try String(port).write(toFile: portFile, atomically: true, encoding: .utf8)
        }
        // Only now: the port accepts TLS and the database and document store are open.
        notifier.send("READY=1\nSTATUS=serving on \(config.listen.host):\(port)")
        try await afterStart(port)
    }
    try daemon.closeStore()
    logger.notice("stopped")
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the daemon with a configuration file.")

    @Option(name: .long, help: "The configuration file (JSON5).")
    var config: String = "/etc/gongji/gongjid.json5"

    @Option(name: .long, help: "Write the listening port to this file once listening (useful with port 0).")
    var portFile: String?

    func run() async throws {
        let config = try loadConfig(self.config)
        bootstrapJSONLogging(level: config.log.level)
        let logger = Logger(label: "gongjid")
        do {
            try await runDaemon(config: config, configPath: self.config, portFile: portFile, logger: logger)
        } catch let error as ConfigError {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            throw ExitCode(78)
        }
    }
}

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration and the files it names, without starting.")

    @Argument(help: "The configuration file.")
    var file: String

    func run() async throws {
        do {
            let config = try GongjiConfig.load(path: file)
            try ConfigCheck.run(config)
            if let database = try await ConfigCheck.probePostgreSQL(config) {
                print("\(file): OK (\(database))")
            } else {
                print("\(file): OK")
            }
        } catch {
            FileHandle.standardError.write(Data("\(file): \(error)\n".utf8))
            throw ExitCode(78)
        }
    }
}

struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a new, empty database (and the documents directory) for a configuration.",
        discussion: """
            The only way a database comes into being: `run` refuses a missing, empty (0-byte) or foreign \
            database file instead of starting with an empty registry and ledger. Refuses when the database \
            file exists already, whatever it holds.
            """)

    @Option(name: .long, help: "The configuration file.")
    var config: String = "/etc/gongji/gongjid.json5"

    func run() async throws {
        ownerOnlyFiles()
        let config = try loadConfig(self.config)
        guard !config.database.isPostgreSQL else {
            print(
                "database.postgresql: nothing to create here; gongjid run migrates the PostgreSQL database on start (once, under an advisory lock)"
            )
            return
        }
        do {
            try ConfigCheck.checkStorage(config)
            try SQLiteStore.create(path: config.database.path)
        } catch {
            FileHandle.standardError.write(Data("gongjid init: \(error)\n".utf8))
            throw ExitCode(1)
        }
        print("created an empty Gongji database at \(config.database.path)")
    }
}

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the database: SQLite integrity, foreign keys, every ledger movement sums to zero, every document has its file.",
        discussion: """
            Reads only; safe while gongjid runs. Run it after a restore, after a crash of the machine, \
            before and after an upgrade, and from a periodic timer. Exits 0 when sound, 1 with the \
            problems listed otherwise.
            """)

    @Option(name: .long, help: "The configuration file.")
    var config: String = "/etc/gongji/gongjid.json5"

    func run() async throws {
        let config = try loadConfig(self.config)
        guard !config.database.isPostgreSQL else {
            FileHandle.standardError.write(
                Data(
                    """
                    gongjid verify checks a SQLite database. PostgreSQL enforces the same constraints itself (CHECKs, \
                    UNIQUE, the append-only ledger trigger); check its health with PostgreSQL's tools (amcheck).

                    """.utf8))
            throw ExitCode(64)
        }
        let report: VerificationReport
        do {
            let store = try SQLiteStore(path: config.database.path)
            defer { try? store.close() }
            let directory = config.documents.directory
            report = try await store.verify { FileManager.default.fileExists(atPath: directory + "/" + $0) }
        } catch {
            FileHandle.standardError.write(Data("gongjid verify: \(error)\n".utf8))
            throw ExitCode(1)
        }
        print(report)
        if !report.isSound { throw ExitCode(1) }
    }
}

struct Dev: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a throwaway daemon: new CA and certificates, demo people, 127.0.0.1.",
        discussion: """
            With --postgresql the demo people go into that (empty) PostgreSQL database instead of a SQLite file \
            in the directory, and a second daemon can share it: `GONGJI_LISTEN_PORT=8444 gongjid run --config \
            DIRECTORY/gongjid.json5` (same keys and certificates).
            """)

    @Option(name: .long, help: "Directory for the throwaway CA, keys, database and config (wiped first).")
    var directory: String = "gongji-dev"

    @Option(name: .long, help: "Port to listen on (0 picks a free one).")
    var port: Int = 8443

    @Option(name: .long, help: "Directory of the shipped region policies.")
    var policies: String = "deploy/policies"

    @Option(name: .long, help: "A postgres:// URL: keep the demo data in that (empty) database instead of a SQLite file.")
    var postgresql: String?

    @Option(name: .long, help: "Serve Prometheus metrics on 127.0.0.1 at this port (none by default).")
    var metricsPort: Int?

    @Option(name: .long, help: "Export traces with OTLP/gRPC to this collector, e.g. http://127.0.0.1:4317 (none by default).")
    var otlpEndpoint: String?

    @Option(name: .long, help: "With --otlp-endpoint: the share of calls without a sampled traceparent that are traced.")
    var traceSampleRatio: Double = 1

    @Option(name: .long, help: "Log level of the standard output: info shows a line per call.")
    var logLevel: String = "notice"

    func run() async throws {
        let dir = URL(fileURLWithPath: directory).standardizedFileURL
        let reading = SystemClock().read()
        let today = reading.today
        let env = try DevEnvironment.create(
            at: dir, policySource: URL(fileURLWithPath: policies), host: "127.0.0.1",
            port: port, today: today, database: postgresql.map { .postgresql(url: $0) } ?? .sqlite, metricsPort: metricsPort,
            otlpEndpoint: otlpEndpoint, traceSampleRatio: traceSampleRatio)
        let config = try loadConfig(env.configPath)
        bootstrapJSONLogging(level: logLevel)
        let logger = Logger(label: "gongjid")
        try await DevSeed.seed(config: config, at: reading, logger: logger)
        try await runDaemon(config: config, configPath: env.configPath, portFile: nil, logger: logger) { port in
            FileHandle.standardOutput.write(
                Data((DevInstructions.text(directory: dir, port: port, today: today, postgresql: postgresql != nil) + "\n").utf8))
        }
    }
}

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a consistent online backup of the database and the document store to a new directory.",
        discussion: """
            Safe while gongjid runs: the database is copied with SQLite's online backup API (a consistent \
            snapshot), then the document files are copied. Documents are immutable and content-addressed, \
            so every document the snapshot references is present in the copy.
            """)

    @Option(name: .long, help: "The configuration file.")
    var config: String = "/etc/gongji/gongjid.json5"

    @Argument(help: "A directory that does not exist yet.")
    var destination: String

    func run() async throws {
        ownerOnlyFiles()
        let config = try loadConfig(self.config)
        guard !config.database.isPostgreSQL else {
            FileHandle.standardError.write(
                Data(
                    """
                    gongjid backup copies the SQLite file and the document files. With database.postgresql everything, \
                    documents included, is in PostgreSQL: back it up with PostgreSQL's tools (pg_dump, or base backups \
                    with WAL archiving for point-in-time recovery).

                    """.utf8))
            throw ExitCode(64)
        }
        let fm = FileManager.default
        guard !fm.fileExists(atPath: destination) else { throw ValidationError("\(destination) exists already") }
        let documents = URL(fileURLWithPath: destination).appendingPathComponent("documents")
        try fm.createDirectory(at: documents, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let store = try SQLiteStore(path: config.database.path)
        try store.backup(to: URL(fileURLWithPath: destination).appendingPathComponent("gongji.sqlite").path)
        try store.close()
        var copied = 0
        for name in try fm.contentsOfDirectory(atPath: config.documents.directory) where name.count == 64 {
            try fm.copyItem(atPath: config.documents.directory + "/" + name, toPath: documents.appendingPathComponent(name).path)
            copied += 1
        }
        print("backup written to \(destination): database and \(copied) documents")
    }
}

struct BenchSetup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-setup",
        abstract: "Prepare a benchmark directory: throwaway PKI, configuration and a seeded database (see bench/run).",
        discussion: """
            Seeds through the real use cases: Hohhot families of one child (uploads, commitment, active binding) \
            whose payments touch distinct accounts, and Ma'anshan accounts of \(BenchSeed.sharedMembers) children \
            (reviewed bindings) whose payments contend. Writes bench-manifest.json for `gongji-load`.
            """)

    @Option(name: .long, help: "Directory to create (wiped first).")
    var directory: String = ".bench/run"

    @Option(name: .long, help: "Directory of the shipped region policies.")
    var policies: String = "deploy/policies"

    @Option(name: .long, help: "Hohhot families (each one payment on its own account).")
    var families: Int = 20_000

    @Option(name: .long, help: "Ma'anshan accounts with \(BenchSeed.sharedMembers) members each.")
    var sharedAccounts: Int = 1_000

    @Option(name: .long, help: "A postgres:// URL: seed that (empty) database instead of a SQLite file.")
    var postgresql: String?

    func run() async throws {
        guard families > 0, sharedAccounts > 0, families <= 500_000, sharedAccounts <= 50_000 else {
            throw ValidationError("--families must be 1…500000 and --shared-accounts 1…50000")
        }
        var logger = Logger(label: "gongjid-bench-setup")
        logger.logLevel = .warning
        let started = ContinuousClock.now
        let manifest = try await BenchSeed.create(
            at: URL(fileURLWithPath: directory).standardizedFileURL,
            policySource: URL(fileURLWithPath: policies), families: families,
            sharedAccounts: sharedAccounts, postgresql: postgresql, logger: logger)
        print(
            "seeded \(directory): \(manifest.distinct.count) families, \(manifest.shared.count) shared accounts "
                + "in \(ContinuousClock.now - started)")
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy a SQLite deployment into the (empty) PostgreSQL database the configuration names.",
        discussion: """
            Stop the daemon first. Copies every table and the document files in one PostgreSQL transaction, then \
            checks that every table's row count and the ledger's sum and number of entries are equal on both sides; \
            on any difference nothing is kept. The SQLite file and the files are left as they were.
            """)

    @Option(name: .long, help: "The configuration file (its database.postgresql is the destination).")
    var config: String = "/etc/gongji/gongjid.json5"

    @Option(name: .customLong("from-sqlite"), help: "The SQLite database to copy.")
    var fromSQLite: String

    @Option(name: .long, help: "The document files of the SQLite deployment (default: documents.directory of the configuration).")
    var documents: String?

    func run() async throws {
        let config = try loadConfig(self.config)
        guard let settings = config.database.postgresql else {
            throw ValidationError("the configuration's database is not postgresql: nothing to migrate into")
        }
        var logger = Logger(label: "gongjid-migrate")
        logger.logLevel = .warning
        let sqlite = try SQLiteStore(path: fromSQLite)
        defer { try? sqlite.close() }
        let postgres = try await GongjiDaemon.openPostgres(settings, storage: StorageStatus(), logger: logger)
        defer { postgres.close() }
        do {
            let report = try await postgres.migrate(from: sqlite, documentsDirectory: documents ?? config.documents.directory)
            for (table, count) in report.rows { print("\(table): \(count) rows") }
            print("documents: \(report.documents); ledger sum \(report.ledgerSum) fen on both sides. OK")
        } catch {
            FileHandle.standardError.write(Data("gongjid migrate: \(error)\nnothing was copied\n".utf8))
            throw ExitCode(1)
        }
    }
}
