import Foundation
import GRPCCore
import GongjiClient
import GongjiCore
import GongjiDev
import GongjiProto
import GongjiServer
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite("Metrics")
struct MetricsTests {
    @Test(
        "the Prometheus endpoint counts calls by method and code, latencies, payments (a retry is a call, not a payment), uploads, transactions, connections"
    )
    func scrape() async throws {
        let daemon = try await TestDaemon.start(clock: TestClock(inWindow2025), metrics: .init(host: "127.0.0.1", port: 0))
        try await Demo.load(daemon)
        let today = daemon.clock.today()
        try await daemon.withClient("gateway") { client in
            _ = try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init(), options: failFast)
            _ = await rpcFailure {
                try await Gongji_V1_BindingService.Client(wrapping: client).getBinding(
                    .with { $0.bindingID = "x" },
                    metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
            }
            let front = try await upload(client, fakeJPEG(size: 10_000), side: .front, as: Demo.hohhotAuthorizer)
            let back = try await upload(client, fakePNG(size: 5_000), side: .back, as: Demo.hohhotAuthorizer)
            let binding = try await Gongji_V1_BindingService.Client(wrapping: client).createBinding(
                createRequest("m1", member: Demo.hohhotChild, name: "王小明", start: today, front: front.documentID, back: back.documentID),
                metadata: endUser(Demo.hohhotAuthorizer), options: failFast
            ).binding
            // Paid, then retried (the gateway lost the answer): one payment of 405.00 moved.
            for _ in 0..<2 {
                _ = try await Gongji_V1_PremiumService.Client(wrapping: client).payPremium(
                    .with {
                        $0.requestID = "p1"
                        $0.bindingID = binding.bindingID
                        $0.years = [2025]
                        $0.expectedTotalFen = 40500
                    }, metadata: endUser(Demo.hohhotAuthorizer), options: failFast)
            }
            let port = try await daemon.daemon.metricsServer!.listeningPort()
            let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
            let text = String(decoding: data, as: UTF8.self)
            #expect(text.contains(#"gongji_rpc_calls_total{method="grpc.health.v1.Health/Check",code="OK"} 1"#), "\(text.prefix(2000))")
            #expect(text.contains(#"gongji_rpc_calls_total{method="gongji.v1.BindingService/GetBinding",code="permissionDenied"} 1"#))
            #expect(text.contains(#"gongji_rpc_duration_seconds_bucket{method="gongji.v1.PremiumService/PayPremium""#))
            #expect(text.contains(#"gongji_rpc_calls_total{method="gongji.v1.PremiumService/PayPremium",code="OK"} 2"#))
            #expect(text.contains("gongji_payments_total 1"), "a retry answered with the original counts as a call, not a payment")
            #expect(text.contains("gongji_payment_amount_fen_total 40500"))
            #expect(text.contains("gongji_uploads_total 2"))
            #expect(text.contains("gongji_upload_bytes_total 15000"))
            #expect(text.contains("gongji_db_transaction_seconds_count"))
            #expect(text.contains("gongji_open_connections 1"))
            #expect(text.contains(#"gongji_rpc_errors_total{method="gongji.v1.BindingService/GetBinding",reason="NOT_PARTY"} 1"#))
            #expect(text.contains(#"gongji_payment_duration_seconds_count{result="paid"} 1"#))
            #expect(text.contains(#"gongji_payment_duration_seconds_count{result="replayed"} 1"#))
            #expect(text.contains("gongji_serving 1.0"))
            #expect(text.contains("gongji_storage_full 0.0"))
            #expect(text.contains(#"gongji_certificate_expiry_seconds{certificate="server"}"#))
            #expect(text.contains(#"gongji_certificate_expiry_seconds{certificate="client_ca"}"#))
            #expect(text.contains("gongji_database_filesystem_avail_bytes"))
            #expect(text.contains("gongji_db_group_commit_queue_depth 0.0"))
        }
        await daemon.stop()
    }
}

@Suite("Metrics on PostgreSQL", .needsPostgreSQL)
struct PostgresMetricsTests {
    @Test("on PostgreSQL the pool's use is exported: connections in use, waits for one, moves of the primary")
    func pool() async throws {
        let daemon = try await TestDaemon.start(
            clock: TestClock(inWindow2025), metrics: .init(host: "127.0.0.1", port: 0), postgresql: try await freshPostgresSchema())
        try await Demo.load(daemon)
        let port = try await daemon.daemon.metricsServer!.listeningPort()
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("gongji_db_connections_in_use "), "\(text.prefix(3000))")
        #expect(text.contains("gongji_db_pool_wait_seconds_count"))
        #expect(text.contains("gongji_db_primary_moves_total 0"))
        #expect(!text.contains("gongji_db_group_commit_queue_depth"), "SQLite's only")
        await daemon.stop()
    }
}
