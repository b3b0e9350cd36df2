import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import GongjiClient
import GongjiCore
import GongjiDev
import GongjiProto
import GongjiServer
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import SwiftProtobuf
import Testing

@Suite("gongjid over mutual TLS", .serialized)
struct DaemonTests {
    /// Calls one method of each role's services and reports whether it got past access control.
    func reaches(_ client: GRPCClient<HTTP2ClientTransport.Posix>) async -> [String: Bool] {
        let registry = Gongji_V1_RegistryService.Client(wrapping: client)
        let review = Gongji_V1_ReviewService.Client(wrapping: client)
        let bindings = Gongji_V1_BindingService.Client(wrapping: client)
        let operations = Gongji_V1_OperationsService.Client(wrapping: client)
        let premiums = Gongji_V1_PremiumService.Client(wrapping: client)
        var result: [String: Bool] = [:]
        /// Whether a call got past access control (it may still fail for its own reasons).
        func passed<T>(_ body: () async throws -> T) async -> Bool {
            let failure = await rpcFailure(body)
            return failure?.reason != "ROLE_NOT_ALLOWED" && failure?.code != .unauthenticated
        }
        result["registry"] = await passed { try await registry.getPerson(.with { $0.idNumber = "bad" }, options: failFast) }
        result["review"] = await passed { try await review.listPendingBindings(.init(), options: failFast) }
        result["binding"] = await passed {
            try await bindings.getBinding(.with { $0.bindingID = "none" }, metadata: endUser("11010519491231002X"), options: failFast)
        }
        result["regions"] = await passed { try await operations.listRegions(.init(), options: failFast) }
        result["availability"] = await passed {
            try await operations.setRegionAvailability(
                .with {
                    $0.requestID = "r"
                    $0.regionCode = "999999"
                }, options: failFast)
        }
        result["verify"] = await passed { try await premiums.verifyReceipt(.init(), options: failFast) }
        return result
    }

    @Test("each role reaches what it may and nothing else")
    func roles() async throws {
        let daemon = try await TestDaemon.start()
        defer { Task { await daemon.stop() } }
        let expected: [String: [String: Bool]] = [
            "gateway": ["registry": false, "review": false, "binding": true, "regions": true, "availability": false, "verify": true],
            "reviewer": ["registry": false, "review": true, "binding": false, "regions": false, "availability": false, "verify": true],
            "operator": ["registry": true, "review": false, "binding": false, "regions": true, "availability": true, "verify": true],
            "nobody": ["registry": false, "review": false, "binding": false, "regions": false, "availability": false, "verify": false],
        ]
        for (role, allowed) in expected {
            let got = try await daemon.withClient(role) { await reaches($0) }
            #expect(got == allowed, "role \(role)")
        }
        let denial = try await daemon.withClient("gateway") { client in
            await rpcFailure { try await Gongji_V1_RegistryService.Client(wrapping: client).getPerson(.init(), options: failFast) }
        }
        #expect(denial?.code == .permissionDenied)
        #expect(denial?.reason == "ROLE_NOT_ALLOWED")
    }

    @Test("no certificate and an untrusted certificate are refused")
    func refusedClients() async throws {
        let daemon = try await TestDaemon.start()
        defer { Task { await daemon.stop() } }
        for role in ["none", "stranger"] {
            let code = try await daemon.withClient(role) { client in
                await statusCode { try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init(), options: failFast) }
            }
            #expect(code == .unavailable, "\(role): \(String(describing: code))")
        }
        // Control: a trusted certificate reaches the same call.
        let ok = try await daemon.withClient("nobody") { client in
            try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init(), options: failFast)
        }
        #expect(ok.status == .serving)
    }

    /// Performs a TLS handshake with the daemon limited to `version`, presenting a trusted client certificate.
    func handshake(port: Int, pki: TestPKI, version: TLSVersion) async throws -> Bool {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = version
        tls.maximumTLSVersion = version
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(pki.ca.caCertificatePEM.utf8)))
        tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(pki.clients["gateway"]!.certificatePEM.utf8)).map {
            .certificate($0)
        }
        tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(pki.clients["gateway"]!.privateKeyPEM.utf8), format: .pem))
        tls.applicationProtocols = ["h2"]
        let context = try NIOSSLContext(configuration: tls)
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.next().makePromise(of: Bool.self)
        let channel = try await ClientBootstrap(group: group).channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                try channel.pipeline.syncOperations.addHandler(HandshakeWatcher(promise: promise))
            }
        }.connect(host: "127.0.0.1", port: port).get()
        let result = try await promise.futureResult.get()
        try? await channel.close()
        return result
    }

    @Test("TLS 1.1 is refused; TLS 1.2 and 1.3 are accepted")
    func tlsVersions() async throws {
        let daemon = try await TestDaemon.start()
        defer { Task { await daemon.stop() } }
        #expect(try await handshake(port: daemon.port, pki: daemon.pki, version: .tlsv11) == false)
        #expect(try await handshake(port: daemon.port, pki: daemon.pki, version: .tlsv12) == true)
        #expect(try await handshake(port: daemon.port, pki: daemon.pki, version: .tlsv13) == true)
    }

    @Test("an oversized message is answered RESOURCE_EXHAUSTED with MESSAGE_TOO_LARGE, up to 4x the limit")
    func oversizedMessage() async throws {
        var limits = GongjiConfig.Limits()
        limits.messageBytesMax = 64 * 1024
        let daemon = try await TestDaemon.start(limits: limits)
        defer { Task { await daemon.stop() } }
        func upsert(nameBytes: Int) async throws -> RPCError? {
            try await daemon.withClient("operator") { client in
                await rpcFailure {
                    try await Gongji_V1_RegistryService.Client(wrapping: client).upsertPerson(
                        .with {
                            $0.requestID = "size-\(nameBytes)"
                            $0.person.name = String(repeating: "x", count: nameBytes)
                        }, options: failFast)
                }
            }
        }
        let failure = try await upsert(nameBytes: 100 * 1024)
        #expect(failure?.code == .resourceExhausted, "\(String(describing: failure))")
        #expect(failure?.reason == "MESSAGE_TOO_LARGE")
        // Beyond the transport's ceiling (4x) the stream is reset without being read: never a success.
        #expect(try await upsert(nameBytes: 300 * 1024) != nil)
        // Just under the limit passes the transport (and fails validation instead).
        #expect(try await upsert(nameBytes: 1000)?.code == .invalidArgument)
    }

    @Test("health reports SERVING; reflection lists the gongji.v1 services and serves their files")
    func healthAndReflection() async throws {
        let daemon = try await TestDaemon.start()
        defer { Task { await daemon.stop() } }
        try await daemon.withClient("gateway") { client in
            let health = Grpc_Health_V1_Health.Client(wrapping: client)
            #expect(try await health.check(.init(), options: failFast).status == .serving)
            #expect(try await health.check(.with { $0.service = "gongji.v1.PremiumService" }, options: failFast).status == .serving)
            #expect(await statusCode { try await health.check(.with { $0.service = "nope.Service" }, options: failFast) } == .notFound)
            let reflection = Grpc_Reflection_V1_ServerReflection.Client(wrapping: client)
            let replies = try await reflection.serverReflectionInfo(
                options: failFast,
                requestProducer: { writer in
                    try await writer.write(.with { $0.listServices = "" })
                    try await writer.write(.with { $0.fileContainingSymbol = "gongji.v1.PremiumService" })
                    try await writer.write(.with { $0.fileContainingSymbol = "gongji.v1.Nope" })
                },
                onResponse: { response in
                    var all: [Grpc_Reflection_V1_ServerReflectionResponse] = []
                    for try await message in response.messages { all.append(message) }
                    return all
                })
            #expect(replies.count == 3)
            let names = replies[0].listServicesResponse.service.map(\.name)
            for name in [
                "gongji.v1.BindingService", "gongji.v1.DocumentService", "gongji.v1.ReviewService", "gongji.v1.PremiumService",
                "gongji.v1.RegistryService", "gongji.v1.OperationsService", "grpc.health.v1.Health",
            ] {
                #expect(names.contains(name))
            }
            let files = try replies[1].fileDescriptorResponse.fileDescriptorProto.map {
                try Google_Protobuf_FileDescriptorProto(serializedBytes: $0)
            }
            #expect(files.first?.name == "gongji/v1/premium.proto")
            #expect(files.contains { $0.name == "google/protobuf/timestamp.proto" })
            #expect(files.contains { $0.name == "gongji/v1/common.proto" })
            #expect(replies[2].errorResponse.errorCode == Int32(RPCError.Code.notFound.rawValue))
        }
    }
}

/// Completes the promise with true on a finished handshake, false on a TLS error.
final class HandshakeWatcher: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let promise: EventLoopPromise<Bool>
    init(promise: EventLoopPromise<Bool>) { self.promise = promise }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted? = event as? TLSUserEvent { promise.succeed(true) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.succeed(false)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.succeed(false)
    }
}
