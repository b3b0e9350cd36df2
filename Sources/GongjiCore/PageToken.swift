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
    public static func cursor(of token: String, scope: String) -> Int64? {
        guard token.utf8.count <= 1024, let data = data(base64URL: token), let text = String(data: data, encoding: .utf8),
              let colon = text.lastIndex(of: ":"), text[..<colon] == scope
        else { return nil }
        return Int64(text[text.index(after: colon)...])
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
