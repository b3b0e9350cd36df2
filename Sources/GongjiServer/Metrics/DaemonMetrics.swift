import CoreMetrics
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle
import Synchronization

/// The daemon's metrics (swift-metrics types on a Prometheus registry of its own, so several
/// daemons in one process — the tests — do not mix their numbers).
public final class DaemonMetrics: Sendable {
    /// The registry the metrics endpoint renders.
    public let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory
    let connections: CoreMetrics.Meter
    let payments: CoreMetrics.Counter
    let paymentFen: CoreMetrics.Counter
    let uploads: CoreMetrics.Counter
    let uploadBytes: CoreMetrics.Counter
    let refusedConnections: CoreMetrics.Counter
    /// The call counter and latency timer of each (method, code), made once: building them per
    /// call took the registry's lock and formatted their labels on every call.
    private let callMetrics = Mutex<[CallKey: (calls: CoreMetrics.Counter, duration: CoreMetrics.Timer)]>([:])

    private struct CallKey: Hashable {
        var method: String
        var code: String
    }

    private let primaryMovesSeen = Mutex(0)
    /// What sets the gauges that are read, not counted (health, storage, certificates), before each scrape.
    private let scrapeHooks = Mutex<[@Sendable (DaemonMetrics) -> Void]>([])

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .seconds(5),
        ]
        factory.defaultValueHistogramBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256]
        self.factory = factory
        connections = CoreMetrics.Meter(label: "gongji_open_connections", factory: factory)
        payments = CoreMetrics.Counter(label: "gongji_payments_total", factory: factory)
        paymentFen = CoreMetrics.Counter(label: "gongji_payment_amount_fen_total", factory: factory)
        uploads = CoreMetrics.Counter(label: "gongji_uploads_total", factory: factory)
        uploadBytes = CoreMetrics.Counter(label: "gongji_upload_bytes_total", factory: factory)
        refusedConnections = CoreMetrics.Counter(label: "gongji_refused_connections_total", factory: factory)
    }

    /// One finished call: counted by method and status code, its latency in a histogram.
    func recordCall(method: String, code: String, duration: Duration) {
        let key = CallKey(method: method, code: code)
        let (calls, timer) = callMetrics.withLock { cache in
            if let cached = cache[key] { return cached }
            let made = (
                CoreMetrics.Counter(label: "gongji_rpc_calls_total", dimensions: [("method", method), ("code", code)], factory: factory),
                CoreMetrics.Timer(label: "gongji_rpc_duration_seconds", dimensions: [("method", method)], factory: factory)
            )
            cache[key] = made
            return made
        }
        calls.increment()
        timer.recordNanoseconds(duration.nanoseconds)
    }

    /// A failed call, by the reason it named (`reasonLabel`).
    func recordError(method: String, reason: String) {
        CoreMetrics.Counter(label: "gongji_rpc_errors_total", dimensions: [("method", method), ("reason", reason)], factory: factory)
            .increment()
    }

    /// A refused settlement, by the institution's region and the reason (the fraud signal:
    /// `INSTITUTION_*`, `CREDENTIAL_NOT_PATIENTS_OWN`).
    func recordSettlementRefusal(region: String, reason: String) {
        CoreMetrics.Counter(
            label: "gongji_settlement_refusals_total", dimensions: [("region", region), ("reason", reason)], factory: factory
        )
        .increment()
    }

    /// The retention clean-up finished (or found another daemon at it), at `time`.
    func recordCleanup(at time: Date) {
        CoreMetrics.Gauge(label: "gongji_document_cleanup_last_run_timestamp_seconds", factory: factory)
            .record(time.timeIntervalSince1970)
    }

    /// How long a PostgreSQL call waited for a pooled connection.
    func recordPoolWait(_ duration: Duration) {
        CoreMetrics.Timer(label: "gongji_db_pool_wait_seconds", factory: factory).recordNanoseconds(duration.nanoseconds)
    }

    /// The primary moved (failover) `total` times since start; the counter catches up.
    func recordPrimaryMoves(total: Int) {
        let new = primaryMovesSeen.withLock { seen -> Int in
            defer { seen = max(seen, total) }
            return max(0, total - seen)
        }
        let counter = CoreMetrics.Counter(label: "gongji_db_primary_moves_total", factory: factory)
        if new > 0 { counter.increment(by: new) }
    }

    /// A payment or settlement call's latency by how it ended (`paid`/`settled`, `replayed`, `refused`).
    func recordMoneyCall(_ path: String, result: String, duration: Duration) {
        CoreMetrics.Timer(label: "gongji_\(path)_duration_seconds", dimensions: [("result", result)], factory: factory)
            .recordNanoseconds(duration.nanoseconds)
    }

    /// Sets a gauge read at scrape time.
    func gauge(_ label: String, _ value: Double, dimensions: [(String, String)] = []) {
        CoreMetrics.Gauge(label: label, dimensions: dimensions, factory: factory).record(value)
    }

    /// Runs `hook` before every scrape (to set gauges from the daemon's state).
    func onScrape(_ hook: @escaping @Sendable (DaemonMetrics) -> Void) {
        scrapeHooks.withLock { $0.append(hook) }
    }

    /// A database write transaction's latency.
    func recordTransaction(_ duration: Duration) {
        CoreMetrics.Timer(label: "gongji_db_transaction_seconds", factory: factory).recordNanoseconds(duration.nanoseconds)
    }

    /// An event delivered to a follower of the journal, `ageSeconds` after it was written.
    func recordEventDelivered(ageSeconds: Int64) {
        CoreMetrics.Counter(label: "gongji_events_delivered_total", factory: factory).increment()
        CoreMetrics.Timer(label: "gongji_event_delivery_age_seconds", factory: factory).recordSeconds(ageSeconds)
    }

    /// How many payments one group-committed transaction carried.
    func recordBatchSize(_ size: Int) {
        CoreMetrics.Recorder(label: "gongji_db_batch_size", factory: factory).record(size)
    }

    func recordPayment(fen: Int64) {
        payments.increment()
        paymentFen.increment(by: fen)
    }

    /// A settlement or reversal by the institution's region and result (`settled`, `reversed`,
    /// `refused`), and the amounts moved by part (`acct_pay`, `acct_mulaid_pay`).
    func recordSettlement(region: String, result: String, acctPay: Int64 = 0, acctMulaidPay: Int64 = 0) {
        CoreMetrics.Counter(label: "gongji_settlements_total", dimensions: [("region", region), ("result", result)], factory: factory)
            .increment()
        for (part, fen) in [("acct_pay", acctPay), ("acct_mulaid_pay", acctMulaidPay)] where fen > 0 {
            CoreMetrics.Counter(
                label: "gongji_settlement_amount_fen_total", dimensions: [("region", region), ("result", result), ("part", part)],
                factory: factory
            ).increment(by: fen)
        }
    }

    /// A connection closed at accept because `limits.connections_max` were open.
    func recordRefusedConnection() { refusedConnections.increment() }

    func recordUpload(bytes: Int) {
        uploads.increment()
        uploadBytes.increment(by: bytes)
    }

    /// Counts a new connection until its channel closes.
    func track(_ channel: any Channel) -> EventLoopFuture<Void> {
        connections.increment()
        channel.closeFuture.whenComplete { [connections] _ in connections.decrement() }
        return channel.eventLoop.makeSucceededVoidFuture()
    }

    /// The Prometheus text exposition of every metric.
    public func render() -> String {
        for hook in scrapeHooks.withLock({ $0 }) { hook(self) }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}

extension Duration {
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}

/// A plain-HTTP endpoint serving `GET /metrics` on its own address, for Prometheus.
public final class MetricsServer: Service, Sendable {
    let host: String
    let port: Int
    let metrics: DaemonMetrics
    private let ready: EventLoopPromise<Int>

    init(host: String, port: Int, metrics: DaemonMetrics) {
        self.host = host
        self.port = port
        self.metrics = metrics
        self.ready = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: Int.self)
    }

    /// A server that never ran (a daemon built to seed, then dropped) fails its waiters instead of
    /// leaking the promise; one that ran completed it already, and this changes nothing.
    deinit { ready.fail(CancellationError()) }

    /// The port it listens on, once it does.
    public func listeningPort() async throws -> Int { try await ready.futureResult.get() }

    public func run() async throws {
        let metrics = self.metrics
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { child in
                    child.pipeline.configureHTTPServerPipeline().flatMap {
                        child.pipeline.addHandler(MetricsHTTPHandler(metrics: metrics))
                    }
                }
                .bind(host: host, port: port).get()
        } catch {
            let failure = ConfigError(key: "metrics.port", problem: "cannot listen on \(host):\(port) (\(error))")
            ready.fail(failure)
            throw failure
        }
        ready.succeed(channel.localAddress?.port ?? port)
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await channel.closeFuture.get()
            } onGracefulShutdown: {
                channel.close(promise: nil)
            }
        } onCancel: {
            channel.close(promise: nil)
        }
    }
}

final class MetricsHTTPHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let metrics: DaemonMetrics
    var path = ""

    init(metrics: DaemonMetrics) { self.metrics = metrics }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): path = head.uri
        case .body: break
        case .end:
            let found = path == "/metrics"
            let body = found ? metrics.render() : "not found; see /metrics\n"
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: found ? "text/plain; version=0.0.4" : "text/plain")
            headers.add(name: "Content-Length", value: String(body.utf8.count))
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: found ? .ok : .notFound, headers: headers))), promise: nil
            )
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
