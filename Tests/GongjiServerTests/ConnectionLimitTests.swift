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
import NIOTLS
import Synchronization
import Testing

/// A raw TCP connection to the daemon that sends what the test says and ignores what it gets.
struct RawConnection {
    let channel: any Channel

    /// Connects (from `source`, an address of the loopback network, when given); with `tls`,
    /// completes a TLS handshake (ALPN h2) before returning.
    static func open(port: Int, tls: NIOSSLContext? = nil, from source: String? = nil) async throws -> RawConnection {
        let handshake = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: Bool.self)
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        if let source { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: source, port: 0)) }
        let channel = try await bootstrap.channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                if let tls {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: "localhost"))
                    try channel.pipeline.syncOperations.addHandler(HandshakeWatcher(promise: handshake))
                } else {
                    handshake.succeed(true)
                }
            }
        }.connect(host: "127.0.0.1", port: port).get()
        guard try await handshake.futureResult.get() else { throw ChannelError.ioOnClosedChannel }
        return RawConnection(channel: channel)
    }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(channel.allocator.buffer(bytes: bytes))
    }

    /// Whether the server closed the connection within `timeout`.
    func isClosed(within timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !channel.isActive { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return !channel.isActive
    }

    func close() async { try? await channel.close() }
}

/// The first 20 bytes of a TLS ClientHello record: a handshake that never completes.
let partialClientHello: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03] + Array(repeating: 0x42, count: 9)
/// The HTTP/2 client preface followed by an empty SETTINGS frame.
let http2Preface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + [0, 0, 0, 0x04, 0, 0, 0, 0, 0]

/// A client TLS context presenting `certificate` (PEM) and `key`, limited to TLS `version` and,
/// when given, to `cipherSuites`.
func clientTLS(
    pki: TestPKI, certificatePEM: String, keyPEM: String, version: TLSVersion? = nil,
    cipherSuites: String? = nil
) throws -> NIOSSLContext {
    var tls = TLSConfiguration.makeClientConfiguration()
    if let version {
        tls.minimumTLSVersion = version
        tls.maximumTLSVersion = version
    }
    if let cipherSuites { tls.cipherSuites = cipherSuites }
    tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(pki.ca.caCertificatePEM.utf8)))
    tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8)).map { .certificate($0) }
    tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem))
    tls.applicationProtocols = ["h2"]
    return try NIOSSLContext(configuration: tls)
}

@Suite("connections are bounded before they cost anything", .serialized)
struct ConnectionLimitTests {
    /// A TLS connection presenting the gateway's certificate (TLS 1.2 with `cipherSuites` when given).
    func gatewayConnection(_ daemon: TestDaemon, cipherSuites: String? = nil) async throws -> RawConnection {
        let gateway = daemon.pki.clients["gateway"]!
        return try await RawConnection.open(
            port: daemon.port,
            tls: try clientTLS(
                pki: daemon.pki, certificatePEM: gateway.certificatePEM, keyPEM: gateway.privateKeyPEM,
                version: cipherSuites == nil ? nil : .tlsv12, cipherSuites: cipherSuites))
    }

    func health(_ daemon: TestDaemon) async throws -> Grpc_Health_V1_HealthCheckResponse.ServingStatus {
        try await daemon.withClient("nobody") { client in
            try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init(), options: failFast).status
        }
    }

    @Test("half-open TLS handshakes are closed after limits.handshake_timeout_seconds; health answers meanwhile")
    func halfOpenHandshakes() async throws {
        var limits = GongjiConfig.Limits()
        limits.handshakeTimeoutSeconds = 1
        limits.idleTimeoutSeconds = 30
        let daemon = try await TestDaemon.start(limits: limits)
        defer { Task { await daemon.stop() } }
        var held: [RawConnection] = []
        // From several addresses (one address may hold 16 unfinished handshakes; more are closed at accept).
        for index in 0..<100 {
            let connection = try await RawConnection.open(port: daemon.port, from: "127.0.1.\(1 + index % 10)")
            // On a loaded machine the first may have timed out (1 s) before the loop is done.
            try? await connection.send(partialClientHello)
            held.append(connection)
        }
        #expect(try await health(daemon) == .serving)
        try await Task.sleep(for: .seconds(1))
        var closed = 0
        for connection in held where await connection.isClosed(within: .seconds(3)) { closed += 1 }
        #expect(closed == held.count)
        // TLS done but no HTTP/2 preface: closed too.
        let silent = try await gatewayConnection(daemon)
        #expect(await silent.isClosed(within: .seconds(4)))
    }

    @Test("past limits.connections_max, with every connection in a call, a new connection is closed at once; the busy ones are not")
    func connectionsMax() async throws {
        var limits = GongjiConfig.Limits()
        limits.connectionsMax = 4
        let daemon = try await TestDaemon.start(limits: limits, metrics: .init(host: "127.0.0.1", port: 0))
        defer { Task { await daemon.stop() } }
        try await Demo.load(daemon)
        let today = daemon.clock.today().description
        let header = Gongji_V1_ReconcileSettlementsRequest.with {
            $0.header = .with {
                $0.institutionCode = Settler.hospital
                $0.date = today
            }
        }
        // Four connections, each with a reconciliation stream held open (a call in progress).
        try await whileReconciliationsHeld(
            4, header: header,
            open: { hold in
                try await daemon.withClient("settlement") { try await hold(Settler(client: $0).service) }
            }
        ) {
            try await Task.sleep(for: .milliseconds(1500))  // past the idle time a connection may be closed after
            let extra = try await RawConnection.open(port: daemon.port)
            #expect(await extra.isClosed(within: .seconds(1)))
            #expect(daemon.daemon.metrics.render().contains("gongji_refused_connections_total 1"))
        }
        #expect(try await health(daemon) == .serving)
    }

    @Test("1.2 × connections_max idle verified connections held: the idlest makes room, so ≥ 99% of the gateway's new calls succeed")
    func idleVerifiedConnectionsMakeRoom() async throws {
        var limits = GongjiConfig.Limits()
        limits.connectionsMax = 100
        let daemon = try await TestDaemon.start(limits: limits)
        defer { Task { await daemon.stop() } }
        var held: [RawConnection] = []
        for _ in 0..<120 {
            guard let connection = try? await gatewayConnection(daemon) else { continue }
            try? await connection.send(http2Preface)
            held.append(connection)
        }
        try await Task.sleep(for: .milliseconds(1500))
        var served = 0
        let checks = 30
        for _ in 0..<checks where (try? await health(daemon)) == .serving { served += 1 }
        let open = held.filter { $0.channel.isActive }.count
        print("idle verified: \(held.count) held, \(open) still open after \(served)/\(checks) health checks, each on a new connection")
        #expect(served * 100 >= checks * 99, "\(served)/\(checks)")
        #expect(open >= 100 - checks - 5, "only as many idle connections closed as room was needed")
        for connection in held { await connection.close() }
    }

    @Test(
        "with three quarters of connections_max open the idle timeout is shorter: a new connection closes one idle past a quarter of limits.idle_timeout_seconds"
    )
    func idleTimeoutShortensUnderPressure() async throws {
        var limits = GongjiConfig.Limits()
        limits.connectionsMax = 20
        limits.idleTimeoutSeconds = 8  // under pressure: 2 s
        let daemon = try await TestDaemon.start(limits: limits)
        defer { Task { await daemon.stop() } }
        var held: [RawConnection] = []
        for _ in 0..<16 {
            let connection = try await gatewayConnection(daemon)
            try await connection.send(http2Preface)
            held.append(connection)
        }
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await health(daemon) == .serving)
        #expect(held.allSatisfy { $0.channel.isActive }, "idle for less than 2 s: none closed")
        try await Task.sleep(for: .milliseconds(2500))
        #expect(try await health(daemon) == .serving)
        try await Task.sleep(for: .milliseconds(200))
        #expect(held.filter { !$0.channel.isActive }.count == 1, "one idle connection closed for the new one, long before 8 s")
        for connection in held { await connection.close() }
    }

    @Test(
        "a stranger renewing 1,100 half-handshakes from one address cannot lock out the gateway: its unfinished connections make room, ≥ 99% of health checks succeed"
    )
    func halfHandshakesDoNotLockOut() async throws {
        var limits = GongjiConfig.Limits()
        limits.connectionsMax = 400
        let daemon = try await TestDaemon.start(limits: limits)
        defer { Task { await daemon.stop() } }
        final class Counters: Sendable {
            let stop = Atomic<Bool>(false)
            let opened = Atomic<Int>(0)
        }
        let counters = Counters()
        let port = daemon.port
        let attack = Task {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<1_100 {
                    group.addTask {
                        while !counters.stop.load(ordering: .relaxed) {
                            guard let connection = try? await RawConnection.open(port: port, from: "127.0.0.2") else {
                                try? await Task.sleep(for: .milliseconds(5))
                                continue
                            }
                            counters.opened.wrappingAdd(1, ordering: .relaxed)
                            try? await connection.send(partialClientHello)
                            while connection.channel.isActive, !counters.stop.load(ordering: .relaxed) {
                                try? await Task.sleep(for: .milliseconds(20))
                            }
                            await connection.close()
                            try? await Task.sleep(for: .milliseconds(5))
                        }
                    }
                }
            }
        }
        try await Task.sleep(for: .seconds(2))
        var served = 0
        let checks = 30
        let started = ContinuousClock.now
        for _ in 0..<checks {
            if (try? await health(daemon)) == .serving { served += 1 }
        }
        let checking = ContinuousClock.now - started
        let attempts = counters.opened.load(ordering: .relaxed)
        counters.stop.store(true, ordering: .relaxed)
        await attack.value
        print(
            "half-handshakes: \(attempts) connections opened by the stranger; \(served)/\(checks) health checks served, each on a new connection, in \(checking)"
        )
        #expect(served * 100 >= checks * 99, "\(served)/\(checks)")
        #expect(attempts > 1_100, "the stranger's connections were closed and renewed")
    }

    @Test("a connection that never acknowledges the idle GOAWAY's PING is closed after the grace time")
    func unacknowledgedPing() async throws {
        var limits = GongjiConfig.Limits()
        limits.idleTimeoutSeconds = 1
        limits.shutdownGraceSeconds = 1
        let daemon = try await TestDaemon.start(limits: limits)
        defer { Task { await daemon.stop() } }
        let connection = try await gatewayConnection(daemon)
        try await connection.send(http2Preface)
        // It answers nothing: not the SETTINGS, not the PING after the idle GOAWAY.
        #expect(await connection.isClosed(within: .seconds(6)))
    }

    @Test("a certificate without clientAuth (the server's own) is refused as a client certificate")
    func serverCertificateAsClient() async throws {
        let daemon = try await TestDaemon.start()
        defer { Task { await daemon.stop() } }
        let certificate = try String(contentsOf: daemon.directory.appendingPathComponent("server.pem"), encoding: .utf8)
        let key = try String(contentsOf: daemon.directory.appendingPathComponent("server-key.pem"), encoding: .utf8)
        // With TLS 1.3 the client may finish its side before the server's refusal arrives.
        if let refused = try? await RawConnection.open(
            port: daemon.port, tls: try clientTLS(pki: daemon.pki, certificatePEM: certificate, keyPEM: key))
        {
            #expect(await refused.isClosed(within: .seconds(2)))
        }
        let accepted = try await gatewayConnection(daemon)
        #expect(await accepted.isClosed(within: .seconds(1)) == false)
        await accepted.close()
    }

    @Test(
        "TLS 1.2 offers ECDHE with AEAD only: CBC and SHA-1 suites and static RSA are refused",
        arguments: [
            ("AES128-SHA", false), ("AES256-SHA", false), ("ECDHE-ECDSA-AES128-SHA", false), ("AES128-GCM-SHA256", false),
            ("ECDHE-ECDSA-AES128-GCM-SHA256", true), ("ECDHE-ECDSA-CHACHA20-POLY1305", true),
        ])
    func cipherSuites(suite: String, accepted: Bool) async throws {
        let daemon = try await TestDaemon.start()
        defer { Task { await daemon.stop() } }
        let connection = try? await gatewayConnection(daemon, cipherSuites: suite)
        #expect((connection != nil) == accepted)
        await connection?.close()
    }
}
