import Foundation

/// JSON5 text (JSON with comments, trailing commas and unquoted keys), as policy and
/// configuration files are written.
public enum JSON5 {
    /// Decodes `type` from `data`. Text that is not valid UTF-8 is refused before it reaches
    /// Foundation's JSON5 scanner, which stops the process on some invalid UTF-8 in an unquoted key
    /// (found by fuzzing: `{\u{FC}}e}` as bytes 7B FC 7D 65 7D).
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        guard String(validating: data, as: UTF8.self) != nil else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "the text is not valid UTF-8"))
        }
        let decoder = JSONDecoder()
        decoder.allowsJSON5 = true
        return try decoder.decode(type, from: data)
    }
}
