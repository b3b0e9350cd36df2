public import Tracing

/// The storage layer's part of a traced call: child spans of the call's server span for the store
/// transaction and for document encryption and streaming.
///
/// The server sets `tracer` (task-local) only around a call it samples; everything here is a
/// task-local read and nothing more for the others. A backend adds what only it knows — the
/// attempts a transaction took, the batch a group commit shared — with `note`, from the task of the
/// call (the caller's task, not the writer's).
public enum StoreTracing {
    /// The tracer of the sampled call being served, or nil.
    @TaskLocal public static var tracer: (any Tracer)?

    /// The store span of the use case running in this task, for `note`.
    @TaskLocal static var span: (any Span)?

    /// Runs `body` in a span named `operation` when the call is traced; otherwise just runs it.
    public static func withSpan<T>(
        _ operation: String, attributes: SpanAttributes = [:], _ body: () async throws -> T
    ) async rethrows -> T {
        guard let tracer else { return try await body() }
        let span = tracer.startSpan(operation, context: ServiceContext.current ?? .topLevel, ofKind: .internal)
        span.attributes.merge(attributes)
        defer { span.end() }
        do {
            return try await ServiceContext.withValue(span.context) {
                try await $span.withValue(span) { try await body() }
            }
        } catch {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
            throw error
        }
    }

    /// Starts a span that ends later than the caller's scope (a streamed upload), or nil when the
    /// call is not traced.
    public static func startSpan(_ operation: String) -> (any Span)? {
        guard let tracer else { return nil }
        return tracer.startSpan(operation, context: ServiceContext.current ?? .topLevel, ofKind: .internal)
    }

    /// Adds `value` under `key` to the store span of this task, if there is one.
    public static func note(_ key: String, _ value: Int) {
        span?.attributes[key] = value
    }
}

extension StorageBackend {
    /// Runs one use case in a `store <name>` span (the script's name, `backend` and `bulk`), when
    /// the call is traced.
    func traced<Answer: Sendable>(_ useCases: [UseCase<Answer>], bulk: Bool, name: String) async throws -> [Answer] {
        guard StoreTracing.tracer != nil else { return try await run(useCases, bulk: bulk) }
        let script = name.prefix { $0 != "(" }
        return try await StoreTracing.withSpan(
            "store \(script)",
            attributes: [
                "db.system": "\(databaseSystem)", "gongji.use_case": "\(script)", "gongji.use_cases": .int64(Int64(useCases.count)),
                "gongji.bulk": .bool(bulk),
            ]
        ) { try await run(useCases, bulk: bulk) }
    }
}
