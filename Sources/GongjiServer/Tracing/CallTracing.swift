import Foundation
import GRPCCore
import GongjiConfiguration
import GongjiStorage
import Logging
import OTel
import ServiceLifecycle
import Synchronization
import Tracing

/// Tracing of the daemon's calls with OpenTelemetry (`tracing` in the configuration).
///
/// The gateway's W3C `traceparent`/`tracestate` make its span the parent of the call's server
/// span. A parent that says sampled is followed; a call without a parent is traced with the
/// configured ratio (reloadable); nothing else is traced, and an untraced call makes no span at
/// all. Finished spans wait in a bounded queue (`queue_spans_max`; past it new spans are dropped)
/// for swift-otel's batch exporter, which sends them to the collector with OTLP/gRPC in the
/// background: no call waits for the collector, whether it is slow, absent or refusing.
public final class CallTracing: Sendable {
    let tracer: any Tracer
    /// The exporter's background work (batching, export, the final flush): a service of the
    /// daemon's group, started first so that it stops after the calls.
    public let service: any Service
    private let ratioBits: Atomic<UInt64>

    /// The tracer and exporter for `settings`; the exporter's own problems are logged on `logger`
    /// (warnings and above).
    public init(_ settings: GongjiConfig.Tracing, logger: Logger) throws {
        var configuration = OTel.Configuration.default
        configuration.serviceName = "gongjid"
        // swift-otel sets its logger's level: its own, so that the daemon's (process-wide) stays.
        let base = logger.handler
        configuration.diagnosticLogger = .custom(Logger(label: logger.label) { _ in OwnLevelLogHandler(base: base) })
        configuration.diagnosticLogLevel = .warning
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        configuration.traces.sampler = .parentBasedAlwaysOn
        configuration.traces.otlpExporter.protocol = .grpc
        configuration.traces.otlpExporter.endpoint = settings.otlpEndpoint
        configuration.traces.otlpExporter.timeout = .seconds(settings.exportTimeout)
        configuration.traces.batchSpanProcessor.maxQueueSize = settings.queueMax
        configuration.traces.batchSpanProcessor.maxExportBatchSize = min(512, settings.queueMax)
        configuration.traces.batchSpanProcessor.scheduleDelay = .seconds(1)
        configuration.traces.batchSpanProcessor.exportTimeout = .seconds(settings.exportTimeout)
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        tracer = backend.factory
        service = backend.service
        ratioBits = Atomic(settings.ratio.bitPattern)
    }

    /// The share of calls without a sampled parent that are traced.
    public var sampleRatio: Double { Double(bitPattern: ratioBits.load(ordering: .relaxed)) }

    /// Changes the ratio (on reload).
    public func setSampleRatio(_ ratio: Double) { ratioBits.store(ratio.bitPattern, ordering: .relaxed) }

    /// The trace of one call: the gateway's context, and a server span when the call is sampled.
    func begin(service: String, method: String, caller: String, metadata: Metadata) -> CallTrace {
        let parent = TraceParent(metadata[stringValues: "traceparent"].first(where: { _ in true }))
        var context = ServiceContext.topLevel
        if parent != nil { tracer.extract(metadata, into: &context, using: MetadataExtractor()) }
        let sampled = parent.map(\.isSampled) ?? (Double.random(in: 0..<1) < sampleRatio)
        guard sampled else { return CallTrace(context: context, span: nil, tracer: nil, traceID: parent?.traceID) }
        let span = tracer.startSpan("\(service)/\(method)", context: context, ofKind: .server)
        span.attributes["rpc.system"] = "grpc"
        span.attributes["rpc.service"] = service
        span.attributes["rpc.method"] = method
        span.attributes["gongji.caller"] = caller
        let traceID = ServiceContext.withValue(span.context) { Self.logMetadata.get()[Self.traceIDKey]?.description }
        return CallTrace(context: span.context, span: span, tracer: tracer, traceID: traceID ?? parent?.traceID)
    }

    static let traceIDKey = "trace.id"

    /// The trace and span of the call a log line is written in (none outside a traced call).
    public static let logMetadata: Logger.MetadataProvider = {
        var keys = OTel.Configuration.LoggingMetadataProviderConfiguration.default
        keys.traceIDKey = traceIDKey
        keys.spanIDKey = "span.id"
        keys.traceFlagsKey = "trace.flags"
        let otel = OTel.makeLoggingMetadataProvider(configuration: keys)
        return Logger.MetadataProvider {
            var metadata = otel.get()
            metadata["trace.flags"] = nil
            return metadata
        }
    }()
}

/// One call's trace: run its work inside it, end it with the call's status.
struct CallTrace: Sendable {
    /// The context the call runs in: the server span's, or the gateway's unsampled one.
    let context: ServiceContext
    let span: (any Span)?
    let tracer: (any Tracer)?
    /// For the call's log lines.
    let traceID: String?

    /// Runs `body` in the call's context; in a sampled call the store's spans are its children.
    func run<T>(_ body: () async throws -> T) async rethrows -> T {
        try await ServiceContext.withValue(context) {
            try await StoreTracing.$tracer.withValue(tracer) { try await body() }
        }
    }

    /// Ends the server span with the call's status (an `RPCError`'s code and reason, or OK).
    func end(_ error: RPCError?) {
        guard let span else { return }
        span.attributes["rpc.grpc.status_code"] = error?.code.rawValue ?? 0
        if let error {
            span.attributes["gongji.reason"] = reasonLabel(of: error)
            // As OpenTelemetry's gRPC conventions say for a server: only these are the server's errors.
            if [.unknown, .deadlineExceeded, .unimplemented, .internalError, .unavailable, .dataLoss].contains(error.code) {
                span.setStatus(SpanStatus(code: .error, message: "\(error.code)"))
            }
        }
        span.end()
    }

    /// The response with its producer run in the call's context, ending the span when it ends.
    func wrapping<Output>(_ response: StreamingServerResponse<Output>) -> StreamingServerResponse<Output> {
        guard case .success(var contents) = response.accepted else {
            if case .failure(let error) = response.accepted { end(error) } else { end(nil) }
            return response
        }
        let producer = contents.producer
        contents.producer = { writer in
            do {
                let trailers = try await run { try await producer(writer) }
                end(nil)
                return trailers
            } catch {
                end(error as? RPCError ?? RPCError(code: .unknown, message: "\(error)"))
                throw error
            }
        }
        var wrapped = response
        wrapped.accepted = .success(contents)
        return wrapped
    }
}

/// A W3C `traceparent` header (`00-<trace id>-<parent id>-<flags>`), checked as the
/// recommendation says: anything malformed is as if absent, and the call starts a trace of its own.
struct TraceParent: Equatable {
    let traceID: String
    let isSampled: Bool

    init?(_ header: String?) {
        guard let header, header.utf8.count >= 55 else { return nil }
        let parts = header.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].count == 2, parts[0] != "ff", parts[1].count == 32, parts[2].count == 16, parts[3].count == 2,
            parts.prefix(4).allSatisfy({ $0.allSatisfy { $0.isHexDigit && !$0.isUppercase } }),
            parts[1].contains(where: { $0 != "0" }), parts[2].contains(where: { $0 != "0" }),
            let flags = UInt8(parts[3], radix: 16)
        else { return nil }
        // Version 00 has exactly four fields; a later version may add more.
        if parts[0] == "00" && parts.count != 4 { return nil }
        traceID = String(parts[1])
        isSampled = flags & 1 == 1
    }
}

/// Writes through `base` at a level of its own (setting it leaves `base`'s alone).
struct OwnLevelLogHandler: LogHandler {
    var base: any LogHandler
    var logLevel: Logger.Level = .warning
    var metadata: Logger.Metadata {
        get { base.metadata }
        set { base.metadata = newValue }
    }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { base[metadataKey: key] }
        set { base[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        guard event.level >= logLevel else { return }
        base.log(event: event)
    }
}

/// Reads propagation headers from a call's metadata.
struct MetadataExtractor: Extractor {
    func extract(key: String, from carrier: Metadata) -> String? {
        carrier[stringValues: key].first(where: { _ in true })
    }
}
