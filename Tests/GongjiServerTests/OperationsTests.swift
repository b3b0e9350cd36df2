import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GongjiClient
import GongjiCore
import GongjiDev
import GongjiProto
import GongjiServer
import NIOCore
import NIOPosix
import NIOSSL
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Datagrams received, with their arrival time.
final class Inbox: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [(String, ContinuousClock.Instant)] = []
    func append(_ text: String) { lock.withLock { items.append((text, ContinuousClock.now)) } }
    var all: [(String, ContinuousClock.Instant)] { lock.withLock { items } }
}

/// A Unix datagram socket standing in for systemd's notification socket.
final class NotifySocket: @unchecked Sendable {
    let path: String
    let fd: Int32
    let inbox = Inbox()

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID().uuidString.prefix(8))").path
        let socketFD = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        fd = socketFD
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        precondition(result == 0, "bind failed")
        let inbox = self.inbox
        Thread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = recv(socketFD, &buffer, buffer.count, 0)
                if n <= 0 { return }
                inbox.append(String(decoding: buffer[0..<n], as: UTF8.self))
            }
        }.start()
    }

    var all: [String] { inbox.all.map(\.0) }

    /// Waits until a datagram containing `text` arrives; returns its index.
    func wait(for text: String, timeout: Duration = .seconds(30)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let index = all.firstIndex(where: { $0.contains(text) }) { return index }
            try await Task.sleep(for: .milliseconds(5))
        }
        Issue.record("no \(text) within \(timeout); got \(all)")
        throw CancellationError()
    }

    deinit {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        unlink(path)
    }
}

/// The serial number of the certificate a server presents to a new connection.
func presentedSerial(port: Int, pki: DevEnvironment, role: String = "operator") async throws -> String {
    var tls = TLSConfiguration.makeClientConfiguration()
    tls.trustRoots = .file(pki.directory.appendingPathComponent("pki/ca.pem").path)
    tls.certificateChain = try NIOSSLCertificate.fromPEMFile(pki.directory.appendingPathComponent("pki/\(role).pem").path).map {
        .certificate($0)
    }
    tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: pki.directory.appendingPathComponent("pki/\(role)-key.pem").path, format: .pem))
    tls.applicationProtocols = ["h2"]
    let context = try NIOSSLContext(configuration: tls)
    let promise = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: Bool.self)
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).channelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: "localhost"))
            try channel.pipeline.syncOperations.addHandler(HandshakeWatcher(promise: promise))
        }
    }.connect(host: "127.0.0.1", port: port).get()
    guard try await promise.futureResult.get() else { throw CancellationError() }
    let certificate = try await channel.nioSSL_peerCertificate().get()
    try? await channel.close()
    return certificate.map { "\($0.serialNumber)" } ?? "none"
}

@Suite("gongjid under systemd's protocols", .serialized, .timeLimit(.minutes(3)))
struct OperationsTests {
    func environment() throws -> (DevEnvironment, GongjiConfig) { try makeDevEnvironment("gongji-ops") }

    @Test("READY comes once the port accepts TLS; WATCHDOG arrives on time; SIGTERM sends STOPPING and exits 0")
    func readyWatchdogStop() async throws {
        let (env, _) = try environment()
        let notify = try NotifySocket()
        let process = try DaemonProcess(
            config: env.configPath, directory: env.directory,
            environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "2000000"])
        let ready = try await notify.wait(for: "READY=1")
        // At READY the port is bound and serves TLS.
        let port = try await process.port(timeout: .seconds(1))
        #expect(try await presentedSerial(port: port, pki: env) != "none")
        #expect(notify.all[..<ready].contains { $0.contains("STATUS=") }, "STATUS before READY")
        #expect(notify.all[ready].contains("STATUS=serving"))
        try await Task.sleep(for: .milliseconds(3500))
        let beats = notify.inbox.all.filter { $0.0 == "WATCHDOG=1" }.map(\.1)
        // WATCHDOG_USEC is 2 s: a ping about every second, never a gap systemd would punish.
        #expect(beats.count >= 3, "WATCHDOG=1 at half of 2 s: \(beats.count) in ~3.5 s")
        for (a, b) in zip(beats, beats.dropFirst()) { #expect(b - a < .seconds(2)) }
        process.kill(SIGTERM)
        #expect(await process.waitForExit() == 0)
        _ = try await notify.wait(for: "STOPPING=1")
    }

    @Test("SIGTERM during a slow upload lets it finish, then the daemon exits 0")
    func gracefulStop() async throws {
        let (env, _) = try environment()
        let notify = try NotifySocket()
        let process = try DaemonProcess(config: env.configPath, directory: env.directory, environment: ["NOTIFY_SOCKET": notify.path])
        let port = try await process.port()
        let pki = env.directory.appendingPathComponent("pki").path
        let transport = try makeClientTransport(
            host: "127.0.0.1", port: port, ca: .file("\(pki)/ca.pem"),
            certificate: .file("\(pki)/gateway.pem"), key: .file("\(pki)/gateway-key.pem"))
        let image = fakeJPEG(size: 600_000, seed: 3)
        let result = try await withGRPCClient(transport: transport) { client in
            try await Gongji_V1_DocumentService.Client(wrapping: client).uploadIdentityDocument(
                metadata: endUser(makeID("150102", "19800315", 131)), options: failFast
            ) { writer in
                try await writer.write(.with { $0.metadata = .with { $0.side = .front } })
                for (i, offset) in stride(from: 0, to: image.count, by: 100_000).enumerated() {
                    try await writer.write(.with { $0.chunk = Data(image[offset..<min(offset + 100_000, image.count)]) })
                    // Once the stream is surely open on the server, stop the daemon mid-upload.
                    if i == 1 { process.kill(SIGTERM) }
                    try await Task.sleep(for: .milliseconds(150))
                }
            }
        }
        #expect(result.documentID == sha256Hex(image))
        #expect(await process.waitForExit() == 0)
        _ = try await notify.wait(for: "STOPPING=1")
    }

    /// The issuer of the certificate the daemon presents to a new connection (openssl s_client).
    func presentedSubject(port: Int, env: DevEnvironment) throws -> String {
        let pki = env.directory.appendingPathComponent("pki").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = [
            "s_client", "-connect", "127.0.0.1:\(port)", "-cert", "\(pki)/operator.pem", "-key", "\(pki)/operator-key.pem",
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("issuer=") }.map(String.init) ?? "none"
    }

    @Test(
        "SIGHUP: a new server certificate for new connections, old connections keep working; a broken file keeps the old",
        .timeLimit(.minutes(1)))
    func reload() async throws {
        let (env, config) = try environment()
        let notify = try NotifySocket()
        let process = try DaemonProcess(config: env.configPath, directory: env.directory, environment: ["NOTIFY_SOCKET": notify.path])
        let port = try await process.port()
        let before = try presentedSubject(port: port, env: env)
        #expect(before.contains("Gongji Dev CA"))
        let pki = env.directory.appendingPathComponent("pki").path
        let transport = try makeClientTransport(
            host: "127.0.0.1", port: port, ca: .file("\(pki)/ca.pem"),
            certificate: .file("\(pki)/operator.pem"), key: .file("\(pki)/operator-key.pem"))
        try await withGRPCClient(transport: transport) { client in
            let health = Grpc_Health_V1_Health.Client(wrapping: client)
            #expect(try await health.check(.init(), options: failFast).status == .serving)
            // Rotate to a certificate of another CA (dev mode does not keep its CA key).
            let newCA = try DevPKI(name: "Rotated CA")
            let newServer = try newCA.issueServer()
            try newServer.certificatePEM.write(toFile: config.tls.certificate, atomically: true, encoding: .utf8)
            try newServer.privateKeyPEM.write(toFile: config.tls.privateKey, atomically: true, encoding: .utf8)
            process.kill(SIGHUP)
            _ = try await notify.wait(for: "configuration reloaded", timeout: .seconds(10))
            let after = try presentedSubject(port: port, env: env)
            #expect(after.contains("Rotated CA"), "new connections get the new certificate: \(after)")
            #expect(try await health.check(.init(), options: failFast).status == .serving, "the established connection keeps working")
            // A broken certificate is refused; the running one stays.
            try "not a certificate".write(toFile: config.tls.certificate, atomically: true, encoding: .utf8)
            process.kill(SIGHUP)
            _ = try await notify.wait(for: "reload refused", timeout: .seconds(10))
            #expect(try presentedSubject(port: port, env: env) == after)
            #expect(try await health.check(.init(), options: failFast).status == .serving)
        }
        process.kill(SIGTERM)
        #expect(await process.waitForExit() == 0)
    }
}
