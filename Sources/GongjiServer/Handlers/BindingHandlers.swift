import Foundation
import GRPCCore
import GongjiCore
import GongjiProto
import SwiftProtobuf

/// gongji.v1.BindingService (gateway, acting for the end user).
struct BindingHandler: Gongji_V1_BindingService.ServiceProtocol {
    let service: GongjiService

    func createBinding(request: ServerRequest<Gongji_V1_CreateBindingRequest>,
                       context: ServerContext) async throws -> ServerResponse<Gongji_V1_CreateBindingResponse> {
        let time = service.now()
        let user = try endUser(request.metadata, today: time.today)
        let caller = context.caller(service.state)
        let key = try idempotencyKey(request.message, requestID: request.message.requestID, method: context.descriptor, caller: caller, endUser: user)
        let record = try await service.createBinding(try request.message.domainRequest(), endUser: user, key: key,
                                                     actor: ChangeActor(certificateIdentity: caller.identity, endUser: user,
                                                                        requestID: request.message.requestID), at: time)
        return ServerResponse(message: .with { $0.binding = Gongji_V1_Binding(record) })
    }

    func getBinding(request: ServerRequest<Gongji_V1_GetBindingRequest>,
                    context: ServerContext) async throws -> ServerResponse<Gongji_V1_GetBindingResponse> {
        let user = try endUser(request.metadata, today: service.now().today)
        let record = try await service.binding(id: request.message.bindingID, for: user)
        return ServerResponse(message: .with { $0.binding = Gongji_V1_Binding(record) })
    }

    func listBindings(request: ServerRequest<Gongji_V1_ListBindingsRequest>,
                      context: ServerContext) async throws -> ServerResponse<Gongji_V1_ListBindingsResponse> {
        let user = try endUser(request.metadata, today: service.now().today)
        let perspective: BindingPerspective
        switch request.message.perspective {
        case .authorizer: perspective = .authorizer
        case .member: perspective = .member
        default:
            throw requestError(.invalidArgument, reason: .invalidField, message: "perspective must be AUTHORIZER or MEMBER",
                               zh: "请选择查询角度", field: "perspective")
        }
        let page = try await service.bindings(of: user, as: perspective,
                                              page: PageRequest(size: request.message.pageSize, token: request.message.pageToken))
        return ServerResponse(message: .with {
            $0.bindings = page.items.map(Gongji_V1_Binding.init)
            $0.nextPageToken = page.nextToken
        })
    }

    func revokeBinding(request: ServerRequest<Gongji_V1_RevokeBindingRequest>,
                       context: ServerContext) async throws -> ServerResponse<Gongji_V1_RevokeBindingResponse> {
        let time = service.now()
        let user = try endUser(request.metadata, today: time.today)
        let caller = context.caller(service.state)
        let key = try idempotencyKey(request.message, requestID: request.message.requestID, method: context.descriptor, caller: caller, endUser: user)
        let record = try await service.revokeBinding(id: request.message.bindingID, endUser: user, key: key,
                                                     actor: ChangeActor(certificateIdentity: caller.identity, endUser: user,
                                                                        requestID: request.message.requestID), at: time)
        return ServerResponse(message: .with { $0.binding = Gongji_V1_Binding(record) })
    }
}

extension BindingHandler {
    func setBindingMedicalLimit(request: ServerRequest<Gongji_V1_SetBindingMedicalLimitRequest>,
                                context: ServerContext) async throws -> ServerResponse<Gongji_V1_SetBindingMedicalLimitResponse> {
        let time = service.now()
        let user = try endUser(request.metadata, today: time.today)
        let caller = context.caller(service.state)
        let message = request.message
        let key = try idempotencyKey(message, requestID: message.requestID, method: context.descriptor, caller: caller, endUser: user)
        let record = try await service.setMedicalLimit(
            bindingID: message.bindingID, limit: message.hasAnnualLimitFen ? Money(fen: message.annualLimitFen) : nil, endUser: user, key: key,
            actor: ChangeActor(certificateIdentity: caller.identity, endUser: user, requestID: message.requestID), at: time)
        return ServerResponse(message: .with { $0.binding = Gongji_V1_Binding(record) })
    }
}

/// gongji.v1.DocumentService (gateway).
struct DocumentHandler: Gongji_V1_DocumentService.ServiceProtocol {
    let service: GongjiService
    let metrics: DaemonMetrics

    func uploadIdentityDocument(request: StreamingServerRequest<Gongji_V1_UploadIdentityDocumentRequest>,
                                context: ServerContext) async throws -> ServerResponse<Gongji_V1_UploadIdentityDocumentResponse> {
        let time = service.now()
        let user = try endUser(request.metadata, today: time.today)
        var messages = request.messages.makeAsyncIterator()
        guard let first = try await messages.next(), case .metadata(let metadata)? = first.payload else {
            throw requestError(.invalidArgument, reason: .uploadMetadataRequired, message: "the first message must carry the metadata",
                               zh: "上传请求缺少照片信息", field: "metadata")
        }
        guard let side = DocumentSide(metadata.side) else {
            throw requestError(.invalidArgument, reason: .invalidField, message: "metadata.side must be FRONT or BACK",
                               zh: "请选择身份证正面或反面", field: "metadata.side")
        }
        let upload = try service.beginUpload(side: side, uploader: user)
        // Whatever happens below (bad bytes, a cancelled or broken stream), nothing half-written stays.
        defer { upload.abort() }
        while let message = try await messages.next() {
            guard case .chunk(let bytes)? = message.payload else {
                throw requestError(.invalidArgument, reason: .uploadMetadataRepeated, message: "only the first message may carry metadata",
                                   zh: "上传请求格式错误", field: "metadata")
            }
            try upload.append(bytes)
        }
        let (record, deduplicated, expiresAt) = try await upload.finish(at: time)
        metrics.recordUpload(bytes: record.size)
        return ServerResponse(message: .with {
            $0.documentID = record.id
            $0.side = side.proto
            $0.mediaType = record.mediaType
            $0.sizeBytes = Int64(record.size)
            $0.deduplicated = deduplicated
            $0.expireTime = Google_Protobuf_Timestamp(unix: expiresAt)
        })
    }
}

/// gongji.v1.ReviewService (reviewer).
struct ReviewHandler: Gongji_V1_ReviewService.SimpleServiceProtocol {
    let service: GongjiService
    static let readChunkBytes = 256 * 1024

    func listPendingBindings(request: Gongji_V1_ListPendingBindingsRequest,
                             context: ServerContext) async throws -> Gongji_V1_ListPendingBindingsResponse {
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
        let record = try await service.reviewBinding(id: request.bindingID, decision: .approve, key: key,
                                                     actor: ChangeActor(certificateIdentity: caller.identity, endUser: nil, requestID: request.requestID),
                                                     at: service.now())
        return .with { $0.binding = Gongji_V1_Binding(record) }
    }

    func rejectBinding(request: Gongji_V1_RejectBindingRequest, context: ServerContext) async throws -> Gongji_V1_RejectBindingResponse {
        let caller = context.caller(service.state)
        let key = try idempotencyKey(request, requestID: request.requestID, method: context.descriptor, caller: caller)
        let record = try await service.reviewBinding(id: request.bindingID, decision: .reject(reason: request.reason), key: key,
                                                     actor: ChangeActor(certificateIdentity: caller.identity, endUser: nil, requestID: request.requestID),
                                                     at: service.now())
        return .with { $0.binding = Gongji_V1_Binding(record) }
    }

    func readIdentityDocument(request: Gongji_V1_ReadIdentityDocumentRequest, response: RPCWriter<Gongji_V1_ReadIdentityDocumentResponse>,
                              context: ServerContext) async throws {
        let (record, bytes) = try await service.readDocument(id: request.documentID, reader: context.caller(service.state).identity)
        try await response.write(.with {
            $0.metadata = .with { $0.documentID = record.id; $0.side = record.side.proto; $0.mediaType = record.mediaType; $0.sizeBytes = Int64(bytes.count) }
        })
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + Self.readChunkBytes, bytes.count)
            try await response.write(.with { $0.chunk = Data(bytes[offset..<end]) })
            offset = end
        }
    }
}
