import Foundation
import GRDB
import GongjiClient
import GongjiCore
import GongjiDev
import GongjiSQLite
import GongjiServer
import GongjiStorage
import Testing

/// Runs `gongjid` with `arguments`; returns its exit status and what it wrote (stdout and stderr).
func runGongjid(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = DaemonProcess.binary
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, output)
}

@Suite("gongjid refuses to start on what would go wrong later", .serialized, .timeLimit(.minutes(2)))
struct StartupChecksTests {
    func environment() throws -> (DevEnvironment, GongjiConfig) { try makeDevEnvironment("gongji-start") }

    @Test(
        "a 0-byte or foreign database: run exits 78 without listening and leaves the file alone; init will not overwrite it",
        arguments: ["empty", "foreign"])
    func refusedDatabase(kind: String) throws {
        let (env, config) = try environment()
        try FileManager.default.removeItem(atPath: config.database.path)
        if kind == "empty" {
            _ = FileManager.default.createFile(atPath: config.database.path, contents: Data())
        } else {
            let queue = try DatabaseQueue(path: config.database.path)
            try queue.write { try $0.execute(sql: "CREATE TABLE t (x)") }
            try queue.close()
        }
        let size = try FileManager.default.attributesOfItem(atPath: config.database.path)[.size] as? Int
        let portFile = env.directory.appendingPathComponent("port").path
        let run = try runGongjid(["run", "--config", env.configPath, "--port-file", portFile])
        #expect(run.status == 78, "\(run.output)")
        #expect(run.output.contains("database.path"), "\(run.output)")
        #expect(!FileManager.default.fileExists(atPath: portFile))
        #expect(try FileManager.default.attributesOfItem(atPath: config.database.path)[.size] as? Int == size)
        let check = try runGongjid(["check-config", env.configPath])
        #expect(check.status == 78 && check.output.contains("database.path"), "\(check.output)")
        let initialise = try runGongjid(["init", "--config", env.configPath])
        #expect(initialise.status != 0 && initialise.output.contains("exists"), "\(initialise.output)")
        // Once moved away, init makes a new one and the daemon's checks pass.
        try FileManager.default.removeItem(atPath: config.database.path)
        #expect(try runGongjid(["init", "--config", env.configPath]).status == 0)
        #expect(try runGongjid(["check-config", env.configPath]).status == 0)
        let verify = try runGongjid(["verify", "--config", env.configPath])
        #expect(verify.status == 0 && verify.output.hasPrefix("OK"), "\(verify.output)")
    }

    @Test("a truncated database: run exits 78 (a configuration error naming database.path), not 1 with plain text")
    func truncatedDatabase() throws {
        let (env, config) = try environment()
        let size = try FileManager.default.attributesOfItem(atPath: config.database.path)[.size] as! Int
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: config.database.path))
        try handle.truncate(atOffset: UInt64(size / 2))
        try handle.close()
        let portFile = env.directory.appendingPathComponent("port").path
        let run = try runGongjid(["run", "--config", env.configPath, "--port-file", portFile])
        #expect(run.status == 78, "\(run.output)")
        #expect(run.output.contains("database.path") && run.output.contains("damaged"), "\(run.output)")
        #expect(!FileManager.default.fileExists(atPath: portFile))
    }

    /// Rewrites the dev configuration with `change` applied to its text.
    func withConfig(_ env: DevEnvironment, _ change: (String) -> String) throws -> String {
        let text = try String(contentsOfFile: env.configPath, encoding: .utf8)
        let path = env.directory.appendingPathComponent("changed.json5").path
        try change(text).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("check-config catches a key of another certificate, an unwritable documents directory, a readable master key, a typo")
    func checkConfigCatches() throws {
        let (env, _) = try environment()
        #expect(try runGongjid(["check-config", env.configPath]).status == 0)
        // The reviewer's key is a valid key, but not the server certificate's.
        let wrongKey = try withConfig(env) { $0.replacingOccurrences(of: "pki/server-key.pem", with: "pki/reviewer-key.pem") }
        let key = try runGongjid(["check-config", wrongKey])
        #expect(key.status == 78 && key.output.contains("tls.private_key") && key.output.contains("does not belong"), "\(key.output)")
        // A documents "directory" under a regular file can be neither created nor written (even by root).
        let documents = try withConfig(env) {
            $0.replacingOccurrences(of: "directory: \"documents\"", with: "directory: \"gongjid.json5/documents\"")
        }
        let docs = try runGongjid(["check-config", documents])
        #expect(docs.status == 78 && docs.output.contains("documents.directory"), "\(docs.output)")
        // A documents directory still to be made is fine, and check-config does not make it.
        let fresh = try withConfig(env) { $0.replacingOccurrences(of: "directory: \"documents\"", with: "directory: \"documents-new\"") }
        #expect(try runGongjid(["check-config", fresh]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: env.directory.appendingPathComponent("documents-new").path))
        let typo = try withConfig(env) { $0.replacingOccurrences(of: "log: {", with: "limit: { message_bytes_max: 1024 }, log: {") }
        let unknown = try runGongjid(["check-config", typo])
        #expect(unknown.status == 78 && unknown.output.contains("limit: unknown key"), "\(unknown.output)")
        let masterKey = env.directory.appendingPathComponent("master.key").path
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: masterKey)
        let readable = try runGongjid(["check-config", env.configPath])
        #expect(
            readable.status == 78 && readable.output.contains("secrets.key_file") && readable.output.contains("644"), "\(readable.output)")
        let run = try runGongjid(["run", "--config", env.configPath])
        #expect(run.status == 78, "\(run.output)")
    }

    @Test("a TLS key file that cannot be read: check-config and run say the same (cannot read, naming tls.private_key)")
    func unreadableKeyFile() throws {
        let (env, _) = try environment()
        let missing = try withConfig(env) { $0.replacingOccurrences(of: "pki/server-key.pem", with: "pki/missing-key.pem") }
        let check = try runGongjid(["check-config", missing])
        let run = try runGongjid(["run", "--config", missing])
        for answer in [check, run] {
            #expect(
                answer.status == 78 && answer.output.contains("tls.private_key") && answer.output.contains("cannot read"),
                "\(answer.output)")
            #expect(!answer.output.contains("not a PEM private key"), "\(answer.output)")
        }
    }

    @Test("a port in use: run exits 78 naming listen.port, or metrics.port")
    func portInUse() async throws {
        let daemon = try await TestDaemon.start()
        defer { Task { await daemon.stop() } }
        let (env, _) = try environment()
        let busy = try withConfig(env) { $0.replacingOccurrences(of: "port: 0", with: "port: \(daemon.port)") }
        let run = try runGongjid(["run", "--config", busy])
        #expect(run.status == 78 && run.output.contains("listen.port"), "\(run.output)")
        let busyMetrics = try withConfig(env) {
            $0.replacingOccurrences(of: "log: {", with: "metrics: { host: \"127.0.0.1\", port: \(daemon.port) }, log: {")
        }
        let metrics = try runGongjid(["run", "--config", busyMetrics])
        #expect(metrics.status == 78 && metrics.output.contains("metrics.port"), "\(metrics.output)")
    }
}
