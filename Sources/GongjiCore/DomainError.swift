/// The one error type of the domain core.
///
/// `reason` is a stable UPPER_SNAKE identifier that clients may switch on; `details` carries the
/// values that explain the failure (the limit, the shortfall in fen, …) as strings, ready to be put
/// into a `google.rpc.ErrorInfo`; `category` tells the edge which kind of failure it is without a
/// per-reason table.
public struct DomainError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure, from which the gRPC layer derives a status code.
    public enum Category: String, Hashable, Sendable {
        /// The request itself is malformed (bad ID number, empty name, …).
        case invalidArgument
        /// The request is well formed but the state of the world does not allow it.
        case failedPrecondition
        /// A named thing does not exist.
        case notFound
        /// The thing the request would create exists already.
        case alreadyExists
        /// The caller acts for someone who may not do this.
        case permissionDenied
        /// A limit is reached.
        case resourceExhausted
        /// The service is switched off for this region for now.
        case unavailable
        /// The request was aborted by a concurrent change; retrying may succeed.
        case aborted
        /// A position or range that does not (or no longer does) exist.
        case outOfRange
    }

    /// Stable machine-readable reason, e.g. `MEMBER_LIMIT_REACHED` (see `Reason`).
    public let reason: Reason
    /// Which kind of failure this is.
    public let category: Category
    /// English message for operators and developers.
    public let message: String
    /// Chinese (zh-CN) message for end users.
    public let messageZH: String
    /// Values that explain the failure, keyed in lower snake case (e.g. `shortfall_fen`).
    public let details: [String: String]
    /// Where the user can go instead (alternative channels), when there is somewhere.
    public let alternatives: [String]

    /// Creates an error; prefer the factory functions in `DomainError+Reasons.swift`.
    public init(
        reason: Reason,
        category: Category,
        message: String,
        messageZH: String,
        details: [String: String] = [:],
        alternatives: [String] = []
    ) {
        self.reason = reason
        self.category = category
        self.message = Self.bounded(message, bytesMax: Self.messageBytesMax)
        self.messageZH = messageZH
        self.details = details.mapValues { Self.bounded($0, bytesMax: Self.detailBytesMax) }
        self.alternatives = alternatives
    }

    public var description: String { "\(reason): \(message)" }

    /// The longest message, in UTF-8 bytes: a safety net under `TextLimits.echo`, so that no
    /// caller input, however long, is sent back in trailers or written into a log line whole.
    public static let messageBytesMax = 1024
    /// The longest value of `details`, in UTF-8 bytes.
    public static let detailBytesMax = 512

    static func bounded(_ text: String, bytesMax: Int) -> String {
        guard text.utf8.count > bytesMax else { return text }
        var kept = String.UnicodeScalarView()
        var bytes = 0
        for scalar in text.unicodeScalars {
            bytes += String(scalar).utf8.count
            if bytes > bytesMax - 3 { break }
            kept.append(scalar)
        }
        return String(kept) + "…"
    }
}
