import Foundation

/// Where sealed documents live when every daemon must read them (PostgreSQL), instead of files.
public protocol DocumentBlobs: Sendable {
    /// Stores the sealed bytes of document `id` once; returns whether they were stored already.
    func put(id: String, sealed: Data) async throws -> Bool
    /// The sealed bytes of a document, or nil.
    func get(id: String) async throws -> Data?
    /// Removes a document's bytes.
    func delete(id: String) async throws
}
