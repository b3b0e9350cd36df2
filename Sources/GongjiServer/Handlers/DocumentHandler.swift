import Foundation
import GRPCCore
import GongjiCore
import GongjiProto
import SwiftProtobuf

/// gongji.v1.DocumentService (gateway).
struct DocumentHandler: Gongji_V1_DocumentService.ServiceProtocol {
    let service: GongjiService
    let metrics: DaemonMetrics

    func uploadIdentityDocument(
        request: StreamingServerRequest<Gongji_V1_UploadIdentityDocumentRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Gongji_V1_UploadIdentityDocumentResponse> {
        let time = service.now()
        let user = try endUser(request.metadata, today: time.today)
        var messages = request.messages.makeAsyncIterator()
        guard let first = try await messages.next(), case .metadata(let metadata)? = first.payload else {
            throw requestError(
                .invalidArgument, reason: .uploadMetadataRequired, message: "the first message must carry the metadata",
                zh: "上传请求缺少照片信息", field: "metadata")
        }
        guard let side = DocumentSide(metadata.side) else {
            throw requestError(
                .invalidArgument, reason: .invalidField, message: "metadata.side must be FRONT or BACK",
                zh: "请选择身份证正面或反面", field: "metadata.side")
        }
        let upload = try service.beginUpload(side: side, uploader: user)
        // Whatever happens below (bad bytes, a cancelled or broken stream), nothing half-written stays.
        defer { upload.abort() }
        while let message = try await messages.next() {
            guard case .chunk(let bytes)? = message.payload else {
                throw requestError(
                    .invalidArgument, reason: .uploadMetadataRepeated, message: "only the first message may carry metadata",
                    zh: "上传请求格式错误", field: "metadata")
            }
            try upload.append(bytes)
        }
        let (record, deduplicated, expiresAt) = try await upload.finish(at: time)
        metrics.recordUpload(bytes: record.size)
        return ServerResponse(
            message: .with {
                $0.documentID = record.id
                $0.side = side.proto
                $0.mediaType = record.mediaType
                $0.sizeBytes = Int64(record.size)
                $0.deduplicated = deduplicated
                $0.expireTime = Google_Protobuf_Timestamp(unix: expiresAt)
            })
    }
}
