import Foundation
import GongjiCore
import GongjiPostgres
import GongjiSQLite
import GongjiStorage
import Logging
import PostgresNIO

/// `gongjid check-config`: everything `run` would fail on, found without starting: certificates
/// and keys parse and belong together, the master key is valid and private, policies load, the
/// database is a Gongji database and its directory and the documents directory are writable.
public enum ConfigCheck {
    /// Throws the first problem found, naming the key or file.
    public static func run(_ config: GongjiConfig) throws {
        _ = try TLSMaterial(certificate: config.tls.certificate, privateKey: config.tls.privateKey, clientCA: config.tls.clientCA)
        _ = try Secrets(keyFile: config.secrets.keyFile)
        do { _ = try PolicyLoader.load(directory: config.policies.directory) } catch {
            throw ConfigError(key: "policies.directory", problem: error.message)
        }
        try checkStorage(config, createDocuments: false)
        guard !config.database.isPostgreSQL else { return }
        do { try SQLiteStore.checkDatabase(path: config.database.path) } catch {
            throw ConfigError(key: "database.path", problem: error.message)
        }
    }

    /// With `database.postgresql`: connects (TLS as configured), reads which migrations are
    /// applied, changes nothing. Returns what `check-config` prints; throws naming the key when the
    /// server cannot be reached or was migrated by a newer gongjid. Nil in SQLite mode.
    public static func probePostgreSQL(_ config: GongjiConfig) async throws -> String? {
        guard let settings = config.database.postgresql else { return nil }
        var logger = Logger(label: "gongjid-check-config")
        logger.logLevel = .critical
        let configurations: [PostgresClient.Configuration]
        do {
            configurations = try PostgresStore.configurations(url: settings.url, tls: try postgresTLS(settings), poolSize: 1)
        } catch {
            throw ConfigError(key: "database.postgresql", problem: "\(error)")
        }
        do {
            let (applied, pending) = try await PostgresStore.probe(configurations: configurations, logger: logger)
            return "PostgreSQL reachable; \(applied) migration\(applied == 1 ? "" : "s") applied"
                + (pending > 0 ? ", \(pending) to apply when gongjid run starts" : ", up to date")
        } catch {
            throw ConfigError(key: "database.postgresql.url", problem: "\(error)")
        }
    }

    /// The database's directory and the documents directory exist (or, for documents, can be
    /// created) and a file can be written in each. Writes and removes a probe file: permission
    /// bits alone do not tell (root, read-only mounts, full disks). With `createDocuments` false
    /// (check-config) a missing documents directory is not made: its parent must take a write.
    public static func checkStorage(_ config: GongjiConfig, createDocuments: Bool = true) throws(ConfigError) {
        if !config.database.isPostgreSQL {
            let databaseDirectory = (config.database.path as NSString).deletingLastPathComponent
            try probeWritable(directory: databaseDirectory.isEmpty ? "." : databaseDirectory, key: "database.path")
        }
        let documents = config.documents.directory
        if !FileManager.default.fileExists(atPath: documents) {
            guard createDocuments else {
                let parent = (documents as NSString).deletingLastPathComponent
                do { try probeWritable(directory: parent.isEmpty ? "." : parent, key: "documents.directory") } catch {
                    throw ConfigError(
                        key: "documents.directory", problem: "\(documents) does not exist and cannot be created (\(error.problem))")
                }
                return
            }
            do {
                try FileManager.default.createDirectory(
                    atPath: documents, withIntermediateDirectories: false,
                    attributes: [.posixPermissions: 0o700])
            } catch {
                throw ConfigError(key: "documents.directory", problem: "\(documents) does not exist and cannot be created")
            }
        }
        try probeWritable(directory: documents, key: "documents.directory")
    }

    private static func probeWritable(directory: String, key: String) throws(ConfigError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ConfigError(key: key, problem: "the directory \(directory) does not exist")
        }
        let probe = directory + "/.gongjid-probe-\(getpid())"
        let fd = open(probe, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw ConfigError(key: key, problem: "cannot write in \(directory): \(String(cString: strerror(errno)))")
        }
        close(fd)
        unlink(probe)
    }
}
