import Foundation
import GRPCCore
import GongjiCore
import GongjiProto
import SwiftProtobuf

/// gongji.v1.ReviewService (reviewer).
struct ReviewHandler: Gongji_V1_ReviewService.SimpleServiceProtocol {
    let service: GongjiService
    static let readChunkBytes = 256 * 1024

    func listPendingBindings(
        request: Gongji_V1_ListPendingBindingsRequest,
        context: ServerContext
    ) async throws -> Gongji_V1_ListPendingBindingsResponse {
        let region = request.regionCode.isEmpty ? nil : try RegionCode.parse(request.regionCode)
        let page = try await service.pendingBindings(region: region, page: PageRequest(size: request.pageSize, token: request.pageToken))
        return .with {
            $0.bindings = page.items.map(Gongji_V1_Binding.init)
            $0.nextPageToken = page.nextToken
        }
    }

    func approveBinding(request: Gongji_V1_ApproveBindingRequest, context: ServerContext) async throws -> Gongji_V1_ApproveBindingResponse {
        let caller = context.caller(service.state)
        let key = try idempotencyKey(request, requestID: request.requestID, method: context.descriptor, caller: caller)
        let record = try await service.reviewBinding(
            id: request.bindingID, decision: .approve, key: key,
            actor: ChangeActor(certificateIdentity: caller.identity, endUser: nil, requestID: request.requestID),
            at: service.now())
        return .with { $0.binding = Gongji_V1_Binding(record) }
    }

    func rejectBinding(request: Gongji_V1_RejectBindingRequest, context: ServerContext) async throws -> Gongji_V1_RejectBindingResponse {
        let caller = context.caller(service.state)
        let key = try idempotencyKey(request, requestID: request.requestID, method: context.descriptor, caller: caller)
        let record = try await service.reviewBinding(
            id: request.bindingID, decision: .reject(reason: request.reason), key: key,
            actor: ChangeActor(certificateIdentity: caller.identity, endUser: nil, requestID: request.requestID),
            at: service.now())
        return .with { $0.binding = Gongji_V1_Binding(record) }
    }

    func readIdentityDocument(
        request: Gongji_V1_ReadIdentityDocumentRequest, response: RPCWriter<Gongji_V1_ReadIdentityDocumentResponse>,
        context: ServerContext
    ) async throws {
        let (record, bytes) = try await service.readDocument(id: request.documentID, reader: context.caller(service.state).identity)
        try await response.write(
            .with {
                $0.metadata = .with {
                    $0.documentID = record.id
                    $0.side = record.side.proto
                    $0.mediaType = record.mediaType
                    $0.sizeBytes = Int64(bytes.count)
                }
            })
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + Self.readChunkBytes, bytes.count)
            try await response.write(.with { $0.chunk = Data(bytes[offset..<end]) })
            offset = end
        }
    }
}
