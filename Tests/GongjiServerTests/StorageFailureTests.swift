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
import Logging
import Testing

/// A small tmpfs mounted for one test (root only; the test machines run tests as root).
struct SmallFileSystem {
    let path: String

    static var canMount: Bool {
        let probe = SmallFileSystem(
            path: FileManager.default.temporaryDirectory.appendingPathComponent("gongji-mount-probe-\(getpid())").path)
        guard (try? probe.mount(bytes: 1 << 20)) != nil else { return false }
        probe.unmount()
        return true
    }

    func mount(bytes: Int) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/mount")
        process.arguments = ["-t", "tmpfs", "-o", "size=\(bytes),mode=0700", "tmpfs", path]
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CocoaError(.fileWriteNoPermission) }
    }

    func unmount() {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/umount")
        process.arguments = [path]
        try? process.run()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Fills the file system with one file until a write fails; returns its path.
    func fill() -> String {
        let filler = path + "/filler"
        _ = FileManager.default.createFile(atPath: filler, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: filler) else { return filler }
        let block = Data(count: 4096)
        while (try? handle.write(contentsOf: block)) != nil {}
        try? handle.close()
        return filler
    }
}

@Suite("a full disk and a missing file get their own status, and health follows the disk", .serialized, .timeLimit(.minutes(2)))
struct StorageFailureTests {
    @Test(
        "disk full: uploads get RESOURCE_EXHAUSTED / STORAGE_FULL, health is NOT_SERVING, then SERVING once space is back",
        .enabled(if: SmallFileSystem.canMount, "needs root to mount a small tmpfs"))
    func diskFull() async throws {
        let reading = SystemClock().read()
        let (env, loaded) = try makeDevEnvironment("gongji-full", today: reading.today)
        var config = loaded
        let dir = env.directory
        let small = SmallFileSystem(path: dir.appendingPathComponent("small").path)
        try small.mount(bytes: 4 << 20)
        defer { small.unmount() }
        config.database.path = small.path + "/gongji.sqlite"
        config.documents.directory = small.path + "/documents"
        try SQLiteStore.create(path: config.database.path)
        try await DevSeed.seed(config: config, at: reading, logger: Logger(label: "test"))
        let daemon = try DaemonProcess(
            config: env.configPath, directory: dir,
            environment: [
                "GONGJI_DATABASE_PATH": config.database.path, "GONGJI_DOCUMENTS_DIRECTORY": config.documents.directory,
            ])
        let port = try await daemon.port()
        defer { daemon.kill(SIGKILL) }
        let pki = env.directory.appendingPathComponent("pki").path
        func withClient<T: Sendable>(_ role: String, _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> T) async throws -> T {
            let transport = try makeClientTransport(
                host: "127.0.0.1", port: port, ca: .file(pki + "/ca.pem"),
                certificate: .file(pki + "/\(role).pem"), key: .file(pki + "/\(role)-key.pem"))
            return try await withGRPCClient(transport: transport) { try await body($0) }
        }
        func health() async throws -> Grpc_Health_V1_HealthCheckResponse.ServingStatus {
            try await withClient("operator") {
                try await Grpc_Health_V1_Health.Client(wrapping: $0).check(.init(), options: failFast).status
            }
        }
        #expect(try await health() == .serving)
        let filler = small.fill()
        let refused = try await withClient("gateway") { client in
            await rpcFailure { try await upload(client, fakeJPEG(size: 300_000, seed: 3), side: .front, as: Demo.hohhotAuthorizer) }
        }
        #expect(refused?.code == .resourceExhausted && refused?.reason == "STORAGE_FULL", "\(String(describing: refused))")
        #expect(try await health() == .notServing)
        // Still full a second later: the daemon's own probe cannot write either.
        try await Task.sleep(for: .milliseconds(1500))
        #expect(try await health() == .notServing)
        try FileManager.default.removeItem(atPath: filler)
        var status = try await health()
        let deadline = ContinuousClock.now + .seconds(10)
        while status != .serving, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            status = try await health()
        }
        #expect(status == .serving)
        let stored = try await withClient("gateway") { client in
            try await upload(client, fakeJPEG(size: 300_000, seed: 3), side: .front, as: Demo.hohhotAuthorizer)
        }
        #expect(stored.documentID.count == 64)
        daemon.kill(SIGTERM)
        #expect(await daemon.waitForExit() == 0)
    }

    @Test("a document whose file is gone is DATA_LOSS / DOCUMENT_MISSING, not INTERNAL")
    func missingDocument() async throws {
        let daemon = try await TestDaemon.start()
        defer { Task { await daemon.stop() } }
        try await Demo.load(daemon)
        let id = try await daemon.withClient("gateway") { client in
            try await upload(client, fakeJPEG(size: 20_000, seed: 5), side: .front, as: Demo.hohhotAuthorizer).documentID
        }
        try FileManager.default.removeItem(atPath: daemon.config.documents.directory + "/" + id)
        let missing = try await daemon.withClient("reviewer") { client in
            await rpcFailure {
                try await Gongji_V1_ReviewService.Client(wrapping: client).readIdentityDocument(
                    .with { $0.documentID = id }, options: failFast
                ) { response in
                    for try await _ in response.messages {}
                }
            }
        }
        #expect(missing?.code == .dataLoss && missing?.reason == "DOCUMENT_MISSING", "\(String(describing: missing))")
    }
}
