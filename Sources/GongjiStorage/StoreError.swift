import Foundation

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
        /// A write failed because the file system is full (or the quota is used up).
        public static let storageFull = Code(name: "STORAGE_FULL")
        /// A document the database records has no file.
        public static let documentMissing = Code(name: "DOCUMENT_MISSING")
        /// The database server cannot be reached (PostgreSQL): retry later.
        public static let unavailable = Code(name: "DATABASE_UNAVAILABLE")
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

extension StoreError {
    /// A failed write: `storageFull` when the cause is a full file system or quota (ENOSPC,
    /// EDQUOT, SQLITE_FULL), `io` otherwise.
    public static func writeFailed(_ message: String, cause: any Error) -> StoreError {
        StoreError(isOutOfSpace(cause) ? .storageFull : .io, message, cause: cause)
    }

    /// Whether an error from Foundation or the C library means "no space left" (a backend maps
    /// its driver's own "full" first: SQLITE_FULL, SQLSTATE 53100).
    public static func isOutOfSpace(_ error: any Error) -> Bool {
        if let store = error as? StoreError { return store.code == .storageFull }
        if let posix = error as? POSIXError { return posix.code == .ENOSPC || posix.code == .EDQUOT }
        if let cocoa = error as? CocoaError, cocoa.code == .fileWriteOutOfSpace { return true }
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return ns.code == Int(ENOSPC) || ns.code == Int(EDQUOT) }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? any Error { return isOutOfSpace(underlying) }
        return false
    }
}
