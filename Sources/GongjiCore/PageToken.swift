import Foundation

/// Page tokens (AIP-158): where the next page of a list starts, bound to the list that issued it.
/// A token is base64url of `scope:cursor`; one from another list, or anything malformed, is not
/// a token.
public enum PageToken {
    /// The token for the page after the item with `cursor` in the list named `scope`.
    public static func make(scope: String, cursor: Int64) -> String {
        base64URL(Data("\(scope):\(cursor)".utf8))
    }

    /// The cursor of a token issued by `make` for `scope`, or nil when `token` is not one.
    ///
    /// Compares bytes, not characters: a scope ending in a Unicode "prepend" character (U+0600…)
    /// would join the colon into one grapheme cluster, and a search for ":" among the characters
    /// would miss it (found by fuzzing).
    public static func cursor(of token: String, scope: String) -> Int64? {
        guard token.utf8.count <= 1024, let data = data(base64URL: token),
              let colon = data.lastIndex(of: UInt8(ascii: ":")), data[..<colon].elementsEqual(scope.utf8),
              let digits = String(validating: data[data.index(after: colon)...], as: UTF8.self)
        else { return nil }
        return Int64(digits)
    }

    static func data(base64URL text: String) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64.append("=") }
        return Data(base64Encoded: base64)
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
