import Foundation

/// Page tokens (AIP-158): opaque to clients, they carry only where the next page starts and a tag
/// that binds the cursor to the list (and the user) that issued it. No personal data is in a
/// token: it is base64url of the cursor (8 bytes, big-endian) followed by the tag, which the
/// service computes (an HMAC under a key of its own) and checks.
public enum PageToken {

    /// The token for the page after the item with `cursor`, tagged with `tag`.
    public static func make(cursor: Int64, tag: [UInt8]) -> String {
        var bytes = withUnsafeBytes(of: UInt64(bitPattern: cursor).bigEndian) { Array($0) }
        bytes.append(contentsOf: tag)
        return base64URL(Data(bytes))
    }

    /// The cursor and tag of a token made by `make`, or nil when `token` cannot be one.
    public static func parse(_ token: String) -> (cursor: Int64, tag: [UInt8])? {
        guard TextLimits.pageToken.admits(token), let data = data(base64URL: token), data.count > 8 else { return nil }
        let bytes = [UInt8](data)
        let cursor = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return (Int64(bitPattern: cursor), Array(bytes[8...]))
    }

    /// The error for a token that was not issued for this list (or not issued at all).
    public static func invalid() -> DomainError {
        DomainError(
            reason: .pageTokenInvalid, category: .invalidArgument, message: "page_token was not issued for this list",
            messageZH: "分页标记无效", details: ["field": "page_token", "problem": "was not issued for this list"])
    }

    static func data(base64URL text: String) -> Data? {
        guard text.utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64.append("=") }
        return Data(base64Encoded: base64)
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
