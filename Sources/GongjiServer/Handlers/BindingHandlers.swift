import Foundation
import GRPCCore
import GongjiCore
import GongjiProto
import GongjiStore
import SwiftProtobuf

/// gongji.v1.BindingService (gateway, acting for the end user).
struct BindingHandler: Gongji_V1_BindingService.ServiceProtocol {
    let service: GongjiService

    func createBinding(request: ServerRequest<Gongji_V1_CreateBindingRequest>,
                       context: ServerContext) async throws -> ServerResponse<Gongji_V1_CreateBindingResponse> {
        let user = try endUser(request.metadata, today: service.clock.today())
        let caller = context.caller(service.state)
        let key = try idempotencyKey(request.message, requestID: request.message.requestID, method: "CreateBinding", caller: caller, endUser: user)
        let record = try await service.createBinding(try request.message.domainRequest(), endUser: user, key: key,
                                                     actor: ChangeActor(certificateIdentity: caller.identity, endUser: user,
                                                                        requestID: request.message.requestID))
        return ServerResponse(message: .with { $0.binding = Gongji_V1_Binding(record) })
    }

    func getBinding(request: ServerRequest<Gongji_V1_GetBindingRequest>,
                    context: ServerContext) async throws -> ServerResponse<Gongji_V1_GetBindingResponse> {
        let user = try endUser(request.metadata, today: service.clock.today())
        let record = try await service.binding(id: request.message.bindingID, for: user)
        return ServerResponse(message: .with { $0.binding = Gongji_V1_Binding(record) })
    }

    func listBindings(request: ServerRequest<Gongji_V1_ListBindingsRequest>,
                      context: ServerContext) async throws -> ServerResponse<Gongji_V1_ListBindingsResponse> {
        let user = try endUser(request.metadata, today: service.clock.today())
        let perspective: BindingPerspective
        switch request.message.perspective {
        case .authorizer: perspective = .authorizer
        case .member: perspective = .member
        default:
            throw requestError(.invalidArgument, reason: "INVALID_FIELD", message: "perspective must be AUTHORIZER or MEMBER",
                               zh: "请选择查询角度", field: "perspective")
        }
        let scope = "bindings-\(perspective)-\(user.value)"
        let page = try PageRequest(size: request.message.pageSize, token: request.message.pageToken, scope: scope)
        let records = try await service.store.bindings(of: user, as: perspective, before: page.after, limit: page.size + 1)
        let shown = records.prefix(page.size)
        return ServerResponse(message: .with {
            $0.bindings = shown.map(Gongji_V1_Binding.init)
            $0.nextPageToken = PageRequest.nextToken(scope: scope, cursor: shown.last?.seq, hasMore: records.count > page.size)
        })
    }

    func revokeBinding(request: ServerRequest<Gongji_V1_RevokeBindingRequest>,
                       context: ServerContext) async throws -> ServerResponse<Gongji_V1_RevokeBindingResponse> {
        let user = try endUser(request.metadata, today: service.clock.today())
        let caller = context.caller(service.state)
        let key = try idempotencyKey(request.message, requestID: request.message.requestID, method: "RevokeBinding", caller: caller, endUser: user)
        let record = try await service.revokeBinding(id: request.message.bindingID, endUser: user, key: key,
                                                     actor: ChangeActor(certificateIdentity: caller.identity, endUser: user,
                                                                        requestID: request.message.requestID))
        return ServerResponse(message: .with { $0.binding = Gongji_V1_Binding(record) })
    }
}

/// gongji.v1.DocumentService (gateway).
struct DocumentHandler: Gongji_V1_DocumentService.ServiceProtocol {
    let service: GongjiService
    let metrics: DaemonMetrics
    static let chunkBytesMax = 1 << 20

    func uploadIdentityDocument(request: StreamingServerRequest<Gongji_V1_UploadIdentityDocumentRequest>,
                                context: ServerContext) async throws -> ServerResponse<Gongji_V1_UploadIdentityDocumentResponse> {
        let user = try endUser(request.metadata, today: service.clock.today())
        var messages = request.messages.makeAsyncIterator()
        guard let first = try await messages.next(), case .metadata(let metadata)? = first.payload else {
            throw requestError(.invalidArgument, reason: "UPLOAD_METADATA_REQUIRED", message: "the first message must carry the metadata",
                               zh: "上传请求缺少照片信息", field: "metadata")
        }
        guard let side = DocumentSide(metadata.side) else {
            throw requestError(.invalidArgument, reason: "INVALID_FIELD", message: "metadata.side must be FRONT or BACK",
                               zh: "请选择身份证正面或反面", field: "metadata.side")
        }
        let upload = try service.documents.beginUpload()
        // Whatever happens below (bad bytes, a cancelled or broken stream), nothing half-written stays.
        defer { upload.abort() }
        while let message = try await messages.next() {
            guard case .chunk(let bytes)? = message.payload else {
                throw requestError(.invalidArgument, reason: "UPLOAD_METADATA_REPEATED", message: "only the first message may carry metadata",
                                   zh: "上传请求格式错误", field: "metadata")
            }
            guard bytes.count <= Self.chunkBytesMax, try upload.append(bytes) else {
                throw requestError(.invalidArgument, reason: "DOCUMENT_TOO_LARGE",
                                   message: "the image is larger than \(service.documents.uploadBytesMax) bytes",
                                   zh: "照片过大", field: "chunk", metadata: ["upload_bytes_max": String(service.documents.uploadBytesMax)])
            }
        }
        guard upload.size > 0 else {
            throw requestError(.invalidArgument, reason: "DOCUMENT_EMPTY", message: "no image bytes were sent", zh: "照片内容为空", field: "chunk")
        }
        guard let format = upload.detectedFormat else {
            throw requestError(.invalidArgument, reason: "NOT_AN_IMAGE", message: "the bytes are not a complete JPEG or PNG image",
                               zh: "仅支持JPEG或PNG格式的照片", field: "chunk")
        }
        let (id, deduplicated) = try await upload.finishDurably()
        let record = try await service.store.recordDocument(id: id, side: side, mediaType: format.mediaType, size: upload.size,
                                                            uploadedBy: user, now: service.clock.nowUnix())
        metrics.recordUpload(bytes: upload.size)
        service.logger.info("document uploaded", metadata: ["document.id": "\(id)", "document.bytes": "\(upload.size)",
                                                           "document.deduplicated": "\(deduplicated)"])
        return ServerResponse(message: .with {
            $0.documentID = id
            $0.side = side.proto
            $0.mediaType = format.mediaType
            $0.sizeBytes = Int64(record.size)
            $0.deduplicated = deduplicated
            $0.expireTime = Google_Protobuf_Timestamp(unix: record.uploadedAt + Int64(service.retentionSeconds))
        })
    }
}

/// gongji.v1.ReviewService (reviewer).
struct ReviewHandler: Gongji_V1_ReviewService.SimpleServiceProtocol {
    let service: GongjiService
    static let readChunkBytes = 256 * 1024

    func listPendingBindings(request: Gongji_V1_ListPendingBindingsRequest,
                             context: ServerContext) async throws -> Gongji_V1_ListPendingBindingsResponse {
        var region: RegionCode? = nil
        if !request.regionCode.isEmpty {
            guard let code = RegionCode(request.regionCode) else {
                throw requestError(.invalidArgument, reason: "INVALID_FIELD", message: "region_code must be a GB/T 2260 code",
                                   zh: "统筹区代码无效", field: "region_code")
            }
            region = code
        }
        let scope = "pending-\(request.regionCode)"
        let page = try PageRequest(size: request.pageSize, token: request.pageToken, scope: scope)
        let records = try await service.store.pendingBindings(region: region, after: page.after, limit: page.size + 1)
        let shown = records.prefix(page.size)
        return .with {
            $0.bindings = shown.map(Gongji_V1_Binding.init)
            $0.nextPageToken = PageRequest.nextToken(scope: scope, cursor: shown.last?.seq, hasMore: records.count > page.size)
        }
    }

    func approveBinding(request: Gongji_V1_ApproveBindingRequest, context: ServerContext) async throws -> Gongji_V1_ApproveBindingResponse {
        let caller = context.caller(service.state)
        let key = try idempotencyKey(request, requestID: request.requestID, method: "ApproveBinding", caller: caller)
        let record = try await service.reviewBinding(id: request.bindingID, decision: .approve, key: key,
                                                     actor: ChangeActor(certificateIdentity: caller.identity, endUser: nil, requestID: request.requestID))
        return .with { $0.binding = Gongji_V1_Binding(record) }
    }

    func rejectBinding(request: Gongji_V1_RejectBindingRequest, context: ServerContext) async throws -> Gongji_V1_RejectBindingResponse {
        let caller = context.caller(service.state)
        let key = try idempotencyKey(request, requestID: request.requestID, method: "RejectBinding", caller: caller)
        let record = try await service.reviewBinding(id: request.bindingID, decision: .reject(reason: request.reason), key: key,
                                                     actor: ChangeActor(certificateIdentity: caller.identity, endUser: nil, requestID: request.requestID))
        return .with { $0.binding = Gongji_V1_Binding(record) }
    }

    func readIdentityDocument(request: Gongji_V1_ReadIdentityDocumentRequest, response: RPCWriter<Gongji_V1_ReadIdentityDocumentResponse>,
                              context: ServerContext) async throws {
        guard let record = try await service.store.document(id: request.documentID) else {
            throw requestError(.notFound, reason: "DOCUMENT_NOT_FOUND", message: "no document \(request.documentID)", zh: "未找到该照片",
                               metadata: ["document_id": request.documentID])
        }
        // Verified in full before a byte is served (R-DOC-3).
        let bytes = try service.documents.read(record.id)
        try await response.write(.with {
            $0.metadata = .with { $0.documentID = record.id; $0.side = record.side.proto; $0.mediaType = record.mediaType; $0.sizeBytes = Int64(bytes.count) }
        })
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + Self.readChunkBytes, bytes.count)
            try await response.write(.with { $0.chunk = Data(bytes[offset..<end]) })
            offset = end
        }
        service.logger.info("document read", metadata: ["document.id": "\(record.id)", "peer.identity": "\(context.caller(service.state).identity)"])
    }
}
