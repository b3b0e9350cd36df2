/// The image formats accepted for ID-card photos (R-DOC-2).
public enum ImageFormat: String, Hashable, Sendable, CaseIterable {
    /// JPEG (JFIF/Exif).
    case jpeg
    /// PNG.
    case png

    /// The media type.
    public var mediaType: String { self == .jpeg ? "image/jpeg" : "image/png" }

    /// How many leading bytes `detect(head:tail:)` needs to see.
    public static let headLength = 16
    /// How many trailing bytes `detect(head:tail:)` needs to see.
    public static let tailLength = 12

    private static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    private static let pngIHDR: [UInt8] = [0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52]
    private static let pngIEND: [UInt8] = [0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82]

    /// Recognises a JPEG or PNG from its first and last bytes, not from a declared type.
    ///
    /// JPEG: SOI (`FF D8`) followed by a marker, and EOI (`FF D9`) at the end. PNG: the eight-byte
    /// signature, an IHDR chunk first, and the IEND chunk at the end. Anything else is nil.
    public static func detect(head: [UInt8], tail: [UInt8]) -> ImageFormat? {
        if head.count >= 4, head[0] == 0xFF, head[1] == 0xD8, head[2] == 0xFF, head[3] != 0xFF, head[3] != 0x00,
            tail.count >= 2, tail.suffix(2).elementsEqual([0xFF, 0xD9])
        {
            return .jpeg
        }
        if head.count >= 16, head.prefix(8).elementsEqual(pngSignature), head[8..<16].elementsEqual(pngIHDR),
            tail.count >= 12, tail.suffix(12).elementsEqual(pngIEND)
        {
            return .png
        }
        return nil
    }
}

/// What an upload must be (R-DOC-1, R-DOC-2).
public enum UploadRules {
    /// The largest piece of an upload stream, in bytes.
    public static let chunkBytesMax = 1 << 20

    /// Refuses a piece larger than `chunkBytesMax`, or one that takes the upload past `uploadBytesMax`.
    public static func checkSize(chunk: Int, total: Int, uploadBytesMax: Int) throws(DomainError) {
        guard chunk <= chunkBytesMax, total <= uploadBytesMax else {
            throw DomainError(
                reason: .documentTooLarge, category: .invalidArgument,
                message: "the image is larger than \(uploadBytesMax) bytes", messageZH: "照片过大",
                details: ["field": "chunk", "upload_bytes_max": String(uploadBytesMax)])
        }
    }

    /// The format of a finished upload of `size` bytes: not empty, a complete JPEG or PNG.
    public static func checkComplete(size: Int, format: ImageFormat?) throws(DomainError) -> ImageFormat {
        guard size > 0 else {
            throw DomainError(
                reason: .documentEmpty, category: .invalidArgument, message: "no image bytes were sent",
                messageZH: "照片内容为空", details: ["field": "chunk"])
        }
        guard let format else {
            throw DomainError(
                reason: .notAnImage, category: .invalidArgument, message: "the bytes are not a complete JPEG or PNG image",
                messageZH: "仅支持JPEG或PNG格式的照片", details: ["field": "chunk"])
        }
        return format
    }

    /// What recording an upload writes (`checkSide` first): the record when the bytes are new, and
    /// the uploader's hold, whose retention starts again (R-DOC-5).
    public static func recording(
        _ document: DocumentRecord, uploadedBy uploader: ResidentID,
        recordedSide: DocumentSide??
    ) throws(DomainError) -> [Write] {
        if let recorded = recordedSide {
            try checkSide(document.side, recordedSide: recorded, id: document.id)
            return [.documentHold(documentID: document.id, uploader: uploader)]
        }
        return [.document(document, uploadedBy: uploader), .documentHold(documentID: document.id, uploader: uploader)]
    }

    /// The same bytes may be uploaded again for the same side (the first record stays), never
    /// for the other side.
    public static func checkSide(_ side: DocumentSide, recordedSide: DocumentSide?, id: String) throws(DomainError) {
        guard let recordedSide, recordedSide != side else { return }
        throw DomainError(
            reason: .documentSideConflict, category: .invalidArgument,
            message: "these bytes were uploaded as the \(recordedSide.rawValue) side already",
            messageZH: "同一照片不能同时作为身份证正反面", details: ["document_id": id])
    }

    /// A reviewer asked for a document that is not recorded.
    public static func notFound(_ id: String) -> DomainError {
        DomainError(
            reason: .documentNotFound, category: .notFound, message: "no document \(id)", messageZH: "未找到该照片",
            details: ["document_id": id])
    }
}
