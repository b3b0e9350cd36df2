import Crypto
import Foundation

/// Keys derived from the master key file: for document encryption, receipt codes and page tokens.
public struct Secrets: Sendable {
    /// AES-GCM key of the document store.
    public let documentKey: SymmetricKey
    /// HMAC-SHA256 key of receipt verification codes.
    public let receiptKey: SymmetricKey
    /// HMAC-SHA256 key of page tokens.
    public let pageTokenKey: SymmetricKey

    /// Reads the master key (32 bytes, raw or as 64 hex characters) and derives the keys.
    public init(keyFile path: String) throws(ConfigError) {
        // As ssh does with private keys: a key that group or others may read is refused.
        var status = stat()
        if stat(path, &status) == 0, status.st_mode & 0o077 != 0 {
            throw ConfigError(
                key: "secrets.key_file",
                problem: String(format: "%@ is accessible by group or others (mode %o); chmod 600 it", path, status.st_mode & 0o777))
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(key: "secrets.key_file", problem: "cannot read \(path)")
        }
        let master: Data
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.count == 64, let hex = Data(hex: text) {
            master = hex
        } else if data.count == 32 {
            master = data
        } else {
            throw ConfigError(key: "secrets.key_file", problem: "must hold 32 random bytes (raw, or 64 hex characters)")
        }
        let key = SymmetricKey(data: master)
        documentKey = HKDF<SHA256>.deriveKey(inputKeyMaterial: key, info: Data("gongji document store v1".utf8), outputByteCount: 32)
        receiptKey = HKDF<SHA256>.deriveKey(inputKeyMaterial: key, info: Data("gongji receipt codes v1".utf8), outputByteCount: 32)
        pageTokenKey = HKDF<SHA256>.deriveKey(inputKeyMaterial: key, info: Data("gongji page tokens v1".utf8), outputByteCount: 32)
    }

    /// Writes a new random master key as hex, readable by the owner only.
    public static func generateKeyFile(at path: String) throws {
        let key = SymmetricKey(size: .bits256)
        let hex = key.withUnsafeBytes { Data($0) }.hexEncoded()
        guard FileManager.default.createFile(atPath: path, contents: Data((hex + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ConfigError(key: "secrets.key_file", problem: "cannot write \(path)")
        }
    }
}

extension Data {
    init?(hex: String) {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) ?? hex.endIndex
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes)
    }
}
