import Foundation
import GRPCCore
import GongjiProto
import SwiftProtobuf
import Synchronization

/// grpc.health.v1: SERVING for the whole server ("") and for each gongji.v1 service.
struct HealthHandler: Grpc_Health_V1_Health.SimpleServiceProtocol {
    let state: HealthState
    let services: Set<String>

    func status(for service: String) -> Grpc_Health_V1_HealthCheckResponse.ServingStatus? {
        guard service.isEmpty || services.contains(service) else { return nil }
        return state.isServing ? .serving : .notServing
    }

    func check(request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws -> Grpc_Health_V1_HealthCheckResponse {
        guard let status = status(for: request.service) else {
            throw RPCError(code: .notFound, message: "unknown service \(request.service)")
        }
        return .with { $0.status = status }
    }

    func watch(
        request: Grpc_Health_V1_HealthCheckRequest, response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>,
        context: ServerContext
    ) async throws {
        var last: Grpc_Health_V1_HealthCheckResponse.ServingStatus? = nil
        while !Task.isCancelled {
            let current = status(for: request.service) ?? .serviceUnknown
            if current != last {
                try await response.write(.with { $0.status = current })
                last = current
            }
            if current == .notServing { return }
            try await Task.sleep(for: .seconds(1))
        }
    }
}
