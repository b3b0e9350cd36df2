import Foundation
import GongjiCore
import GongjiSQLite
import GongjiStorage

/// An identity-document upload in progress (R-DOC-1, R-DOC-2): bytes are hashed and encrypted as
/// they arrive; nothing is kept unless `finish` succeeds.
public final class IdentityUpload: Sendable {
    let upload: DocumentUpload
    let side: DocumentSide
    let uploader: ResidentID
    let service: GongjiService

    init(upload: DocumentUpload, side: DocumentSide, uploader: ResidentID, service: GongjiService) {
        self.upload = upload
        self.side = side
        self.uploader = uploader
        self.service = service
    }

    /// Adds one piece of the image.
    public func append(_ bytes: Data) throws {
        try UploadRules.checkSize(chunk: bytes.count, total: upload.size + bytes.count, uploadBytesMax: service.documents.uploadBytesMax)
        _ = try upload.append(bytes)
    }

    /// Makes the file durable and records it; returns the record, whether the same bytes were
    /// stored before, and when the upload expires unless a binding uses it.
    public func finish(at time: ClockReading) async throws -> (record: DocumentRecord, deduplicated: Bool, expiresAt: Int64) {
        let format = try UploadRules.checkComplete(size: upload.size, format: upload.detectedFormat)
        let (id, deduplicated) = try await upload.finishDurably()
        let record = try await service.store.recordDocument(
            id: id, side: side, mediaType: format.mediaType, size: upload.size,
            uploadedBy: uploader, now: time.now)
        service.logger.info(
            "document uploaded",
            metadata: [
                "document.id": "\(id)", "document.bytes": "\(record.size)",
                "document.deduplicated": "\(deduplicated)",
            ])
        return (record, deduplicated, record.uploadedAt + Int64(service.retentionSeconds))
    }

    /// Discards whatever was received (a no-op after `finish`).
    public func abort() { upload.abort() }
}

extension GongjiService {
    /// Starts an upload of one side of an ID card by `uploader`.
    public func beginUpload(side: DocumentSide, uploader: ResidentID) throws -> IdentityUpload {
        IdentityUpload(upload: try documents.beginUpload(), side: side, uploader: uploader, service: self)
    }

    /// A document's metadata and bytes, verified in full before anything is served (R-DOC-3).
    public func readDocument(id: String, reader: String) async throws -> (record: DocumentRecord, bytes: [UInt8]) {
        guard let record = try await store.document(id: id) else { throw UploadRules.notFound(id) }
        let bytes = try await documents.read(record.id)
        logger.info("document read", metadata: ["document.id": "\(record.id)", "peer.identity": "\(reader)"])
        return (record, bytes)
    }

    /// Removes document files without a row: an upload whose file was made durable but whose row
    /// was never written (the daemon killed between the two). Run at start, before any upload.
    @discardableResult
    public func removeOrphanDocumentFiles() async throws -> Int {
        var removed = 0
        for id in documents.storedFileIDs() where try await store.document(id: id) == nil {
            await documents.remove(id)
            removed += 1
        }
        if removed > 0 { logger.notice("document files without a row removed at start", metadata: ["documents.removed": "\(removed)"]) }
        return removed
    }

    /// Removes uploads no binding uses after the retention time (R-DOC-4), and their files.
    public func removeExpiredDocuments() async throws -> Int {
        let removed = try await store.removeExpiredDocuments(now: clock.nowUnix(), retentionSeconds: Int64(retentionSeconds))
        for id in removed { await documents.remove(id) }
        if !removed.isEmpty { logger.info("expired uploads removed", metadata: ["documents.removed": "\(removed.count)"]) }
        return removed.count
    }

    /// How many identity documents are recorded, and their bytes (for metrics).
    public func documentTotals() async throws -> (count: Int, bytes: Int64) {
        try await store.documentTotals()
    }
}
