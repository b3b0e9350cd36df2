import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GongjiCore
import GongjiProto
import Logging

/// Which roles may call which methods, by the generated descriptors. Health and reflection are
/// open to any verified client; a method of no known service is open to no one.
public enum AccessPolicy {
    /// The roles allowed for `method`, or nil when any verified client may call it.
    public static func allowedRoles(for method: MethodDescriptor) -> Set<Role>? {
        switch method {
        case Gongji_V1_PremiumService.Method.VerifyReceipt.descriptor:
            return Set(Role.allCases)
        case Gongji_V1_OperationsService.Method.ListRegions.descriptor, Gongji_V1_OperationsService.Method.GetRegionPolicy.descriptor:
            return [.operator, .gateway]
        default:
            break
        }
        switch method.service {
        case Grpc_Health_V1_Health.descriptor, Grpc_Reflection_V1_ServerReflection.descriptor:
            return nil
        case Gongji_V1_BindingService.descriptor, Gongji_V1_DocumentService.descriptor, Gongji_V1_PremiumService.descriptor,
            Gongji_V1_WalletService.descriptor:
            return [.gateway]
        case Gongji_V1_ReviewService.descriptor:
            return [.reviewer]
        case Gongji_V1_RegistryService.descriptor, Gongji_V1_OperationsService.descriptor:
            return [.operator]
        case Gongji_V1_SettlementService.descriptor:
            return [.settlement]
        case Gongji_V1_EventService.descriptor:
            // The gateway follows its end user's events, a notifier every event (the handler checks which).
            return [.gateway, .notifier]
        default:
            return []
        }
    }
}

extension ServerContext {
    /// The caller as identified by the verified client certificate of its connection.
    func caller(_ state: RuntimeState) -> Caller {
        state.roles.resolve(state.peers.names(ofPeer: remotePeer))
    }
}

/// Refuses calls outside the caller's role with PERMISSION_DENIED (UNAUTHENTICATED without a
/// certificate), caps unary call time, logs one line per call and, with tracing, runs the call in
/// its trace (`CallTracing`).
struct AccessInterceptor: ServerInterceptor {
    let state: RuntimeState
    let callTimeout: Duration
    let deadlines: CallDeadlines
    let metrics: DaemonMetrics
    let logger: Logger
    /// Tracing, when `tracing` is configured.
    let tracing: CallTracing?

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let caller = context.caller(state)
        guard let tracing else { return try await serve(request, context: context, caller: caller, traceID: nil, next: next) }
        let trace = tracing.begin(
            service: context.descriptor.service.fullyQualifiedService, method: context.descriptor.method, caller: caller.identity,
            metadata: request.metadata)
        do {
            let response = try await trace.run {
                try await serve(request, context: context, caller: caller, traceID: trace.traceID, next: next)
            }
            return trace.wrapping(response)
        } catch {
            trace.end(error as? RPCError ?? rpcError(error))
            throw error
        }
    }

    /// The call, checked, timed, counted and logged (in its trace's context, when traced).
    private func serve<Input: Sendable, Output: Sendable>(
        _ request: StreamingServerRequest<Input>, context: ServerContext, caller: Caller, traceID: String?,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let service = context.descriptor.service.fullyQualifiedService
        let method = context.descriptor.method
        var logger = logger
        logger[metadataKey: "rpc.method"] = "\(service)/\(method)"
        logger[metadataKey: "peer.identity"] = "\(caller.identity)"
        if let traceID { logger[metadataKey: "trace.id"] = "\(traceID)" }
        if let requestID = request.metadata[stringValues: "x-request-id"].first(where: { _ in true }) {
            logger[metadataKey: "request.id"] = "\(requestID)"
        }
        if let endUser = request.metadata[stringValues: WireNames.endUserHeader].first(where: { _ in true }) {
            logger[metadataKey: "end_user"] = "\(ResidentID.mask(endUser))"
        }
        guard caller.isAuthenticated else {
            logger.notice("call refused: no client certificate", metadata: ["rpc.status": "UNAUTHENTICATED"])
            throw requestError(
                .unauthenticated, reason: .clientCertificateRequired,
                message: "a verified client certificate is required", zh: "需要客户端证书")
        }
        if let allowed = AccessPolicy.allowedRoles(for: context.descriptor), allowed.isDisjoint(with: caller.roles) {
            logger.notice("call refused: role", metadata: ["rpc.status": "PERMISSION_DENIED"])
            throw requestError(
                .permissionDenied, reason: .roleNotAllowed,
                message:
                    "\(caller.identity) (roles: \(caller.roles.map(\.rawValue).sorted().joined(separator: ","))) may not call \(method); allowed: \(allowed.map(\.rawValue).sorted().joined(separator: ","))",
                zh: "调用方无权访问该接口",
                metadata: ["identity": caller.identity, "method": "\(service)/\(method)"])
        }
        let started = ContinuousClock.now
        // The connection has a call in progress until the response ends: under pressure only
        // connections without one are closed to make room (`ConnectionBudget`).
        let (peers, peer) = (state.peers, context.remotePeer)
        peers.callStarted(peer)
        do {
            let response =
                Self.streamsRequests(context.descriptor)
                ? try await withoutActuallyEscaping(next) { next in
                    // The child task ends before runInChild returns: `next` does not outlive the call.
                    try await deadlines.runInChild(timeout: callTimeout) { try await next(request, context) }
                }
                : try await deadlines.run(timeout: callTimeout) { try await next(request, context) }
            return Self.mappingStreamErrors(
                response, method: "\(service)/\(method)", metrics: metrics, logger: logger, started: started,
                ended: { peers.callEnded(peer) })
        } catch {
            peers.callEnded(peer)
            throw Self.failed(error, method: "\(service)/\(method)", metrics: metrics, logger: logger, started: started)
        }
    }
}

extension AccessInterceptor {
    /// The methods whose requests are a stream (their handlers wait for the client's messages).
    static let requestStreamingMethods: Set<MethodDescriptor> = [
        Gongji_V1_DocumentService.Method.UploadIdentityDocument.descriptor,
        Gongji_V1_RegistryService.Method.ImportRegistry.descriptor,
        Gongji_V1_SettlementService.Method.ReconcileSettlements.descriptor,
    ]

    static func streamsRequests(_ method: MethodDescriptor) -> Bool { requestStreamingMethods.contains(method) }

    /// Maps errors thrown while the response streams (server-streaming handlers run after
    /// `next` returns) and logs the call when it ends.
    static func mappingStreamErrors<Output>(
        _ response: StreamingServerResponse<Output>, method: String, metrics: DaemonMetrics,
        logger: Logger, started: ContinuousClock.Instant,
        ended: @escaping @Sendable () -> Void
    ) -> StreamingServerResponse<Output> {
        guard case .success(var contents) = response.accepted else {
            ended()
            return response
        }
        let producer = contents.producer
        contents.producer = { writer in
            defer { ended() }
            do {
                let trailers = try await producer(writer)
                let duration = ContinuousClock.now - started
                metrics.recordCall(method: method, code: "OK", duration: duration)
                logger.info("call", metadata: ["rpc.duration_ms": "\(duration.milliseconds)", "rpc.status": "OK"])
                return trailers
            } catch {
                throw failed(error, method: method, metrics: metrics, logger: logger, started: started)
            }
        }
        var mapped = response
        mapped.accepted = .success(contents)
        return mapped
    }

    /// Maps, counts and logs a failed call.
    static func failed(
        _ error: any Error, method: String, metrics: DaemonMetrics, logger: Logger,
        started: ContinuousClock.Instant
    ) -> RPCError {
        let mapped = rpcError(error)
        let duration = ContinuousClock.now - started
        metrics.recordCall(method: method, code: "\(mapped.code)", duration: duration)
        metrics.recordError(method: method, reason: reasonLabel(of: mapped))
        let level: Logger.Level = mapped.code == .internalError || mapped.code == .dataLoss ? .error : .info
        logger.log(
            level: level, "call failed",
            metadata: [
                "rpc.duration_ms": "\(duration.milliseconds)", "rpc.status": "\(mapped.code)",
                "error": "\(level == .error ? "\(error)" : mapped.message)",
            ])
        return mapped
    }
}

extension Duration {
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}

/// The reason an error names (`REASON: message`, as every status of Gongji starts), for the
/// error counter's label: one of the catalogue's names, or the status code for a failure the
/// transport answered (a bounded set either way).
func reasonLabel(of error: RPCError) -> String {
    guard let colon = error.message.firstIndex(of: ":") else { return "\(error.code)" }
    let prefix = error.message[..<colon]
    guard !prefix.isEmpty, prefix.count <= 64, prefix.allSatisfy({ $0.isUppercase || $0 == "_" || $0.isNumber }) else {
        return "\(error.code)"
    }
    return String(prefix)
}
