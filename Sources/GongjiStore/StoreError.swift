/// The one error type of the storage layer, for failures that are not domain decisions: the
/// database or a file could not be used, or stored data failed its checks.
public struct StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A stable code for the kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// The database could not be opened, migrated or written.
        public static let database = Code(name: "DATABASE")
        /// A stored document failed its hash check or could not be decrypted.
        public static let documentCorrupted = Code(name: "DOCUMENT_CORRUPTED")
        /// A file could not be read or written.
        public static let io = Code(name: "IO")
        /// Configuration of the store is wrong (key file, directory).
        public static let configuration = Code(name: "CONFIGURATION")
        public var description: String { name }
    }

    /// The kind of failure.
    public let code: Code
    /// What happened, for operators (never personal data).
    public let message: String
    /// The underlying error's description, if any.
    public let cause: String?

    /// Creates an error.
    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause.map { "\($0)" }
    }

    public var description: String { "\(code): \(message)\(cause.map { " (\($0))" } ?? "")" }
}
