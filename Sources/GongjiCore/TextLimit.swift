/// The limit of one text field that comes from outside (an RPC, a stream, an import file).
///
/// Lengths are counted in Unicode code points (`String.unicodeScalars`), the unit in which SQLite's
/// and PostgreSQL's `length()` count the schemas' CHECKs — not in grapheme clusters
/// (`String.count`), where 64 "characters" may be 100 KB of combining marks that the database then
/// refuses. A code point is at most 4 bytes of UTF-8, so a field also has a bound in bytes
/// (`bytesMax`), checked first: a megabyte-long text is refused without being walked.
public struct TextLimit: Hashable, Sendable, CustomStringConvertible {
    /// The field's name as callers see it (`settlement_id`).
    public let field: String
    /// The fewest code points accepted (after trimming, where the field is trimmed).
    public let codePointsMin: Int
    /// The most code points accepted.
    public let codePointsMax: Int

    /// A limit of `min…max` code points.
    public init(_ field: String, _ max: Int, min: Int = 1) {
        self.field = field
        self.codePointsMin = min
        self.codePointsMax = max
    }

    /// The most UTF-8 bytes a text within the limit can have.
    public var bytesMax: Int { codePointsMax * 4 }

    /// Whether `text` is within the limit.
    public func admits(_ text: some StringProtocol) -> Bool {
        guard text.utf8.count <= bytesMax else { return false }
        return (codePointsMin...codePointsMax).contains(text.unicodeScalars.count)
    }

    /// `min…max code points`, for messages.
    public var description: String { "\(codePointsMin)…\(codePointsMax) characters (Unicode code points)" }
}

/// Every text field that comes from outside, with its limit: the one table (docs/rules.md lists
/// it). Identifiers with a fixed shape (ID numbers, institution and region codes, document ids,
/// dates) are parsed by their own types and are not here.
public enum TextLimits {
    /// A client's `request_id` (idempotency key).
    public static let requestID = TextLimit("request_id", 64)
    /// An institution's `settlement_id` (R-SETL-4).
    public static let settlementID = TextLimit("settlement_id", 64)
    /// A credit's platform `reference`.
    public static let creditReference = TextLimit("reference", 64)
    /// The other channel's reference of an external part (R-PAY-5).
    public static let externalReference = TextLimit("external.reference", 64)
    /// A person's or member's name.
    public static let personName = TextLimit("name", 64)
    /// A designated institution's name.
    public static let institutionName = TextLimit("institution.name", 128)
    /// A reviewer's rejection reason.
    public static let rejectionReason = TextLimit("reason", 500)
    /// A special category (lower_snake_case).
    public static let specialCategory = TextLimit("special_category", 64)
    /// A page token.
    public static let pageToken = TextLimit("page_token", 256, min: 0)

    /// The table.
    public static let all: [TextLimit] = [
        requestID, settlementID, creditReference, externalReference, personName, institutionName, rejectionReason,
        specialCategory, pageToken,
    ]

    /// The most code points of caller input echoed into an error's message or details.
    public static let echoCodePointsMax = 32

    /// What of a caller's text may be echoed back or logged: at most `echoCodePointsMax` code
    /// points, with `…` when cut. An id far over its limit is never repeated whole.
    public static func echo(_ text: some StringProtocol) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars.prefix(echoCodePointsMax) { scalars.append(scalar) }
        let prefix = String(scalars)
        return prefix.utf8.count < text.utf8.count ? prefix + "…" : prefix
    }
}
