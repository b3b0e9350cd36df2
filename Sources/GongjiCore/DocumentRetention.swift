/// One uploader's hold on a document (R-DOC-5), as the clean-up reads it.
public struct DocumentHold: Hashable, Sendable {
    /// The document.
    public var documentID: String
    /// Who uploaded it.
    public var uploader: ResidentID
    /// When that uploader last uploaded it, Unix seconds.
    public var uploadedAt: Int64
    /// Whether a binding of that uploader cites it.
    public var isReferenced: Bool

    /// Creates a hold.
    public init(documentID: String, uploader: ResidentID, uploadedAt: Int64, isReferenced: Bool) {
        self.documentID = documentID
        self.uploader = uploader
        self.uploadedAt = uploadedAt
        self.isReferenced = isReferenced
    }
}

/// Retention of uploads that no binding uses (R-DOC-4).
public enum DocumentRetention {
    /// The clean-up at `nowUnix`: each expired hold released, then every document nobody holds
    /// removed.
    public static func cleanUp(_ holds: [DocumentHold], nowUnix: Int64, retentionSeconds: Int64) -> [Write] {
        holds.filter {
            isExpired(uploadedAtUnix: $0.uploadedAt, isReferenced: $0.isReferenced, nowUnix: nowUnix, retentionSeconds: retentionSeconds)
        }
        .map { .releaseDocumentHold(documentID: $0.documentID, uploader: $0.uploader) } + [.removeUnheldDocuments]
    }

    /// Whether an upload made at `uploadedAtUnix`, used by no binding, is due for removal at
    /// `nowUnix` under a retention of `retentionSeconds`.
    public static func isExpired(uploadedAtUnix: Int64, isReferenced: Bool, nowUnix: Int64, retentionSeconds: Int64) -> Bool {
        !isReferenced && nowUnix - uploadedAtUnix >= retentionSeconds
    }
}
