import Crypto
import Foundation
import GongjiCore
import Logging
import Tracing

/// Identity-document images, content-addressed by SHA-256, encrypted at rest (R-DOC-1, R-DOC-3).
///
/// File format (streaming AEAD, so an upload never needs to sit in memory whole):
/// `"GJD1"`, an 8-byte random nonce prefix, then segments `[UInt32 BE length][AES-GCM ciphertext+tag]`
/// of at most 64 KiB plaintext each. Segment *i* uses the nonce prefix ‖ UInt32 BE *i* and the
/// additional data `[0]` (more follow) or `[1]` (last), so reordering, truncation and appending
/// are all detected. Files are written to a temporary name, synced, renamed to the hex hash, and
/// the directory is synced. Every read decrypts the whole file and checks its hash before
/// anything is served.
public final class DocumentStore: Sendable {
    static let magic = Array("GJD1".utf8)
    static let segmentBytes = 64 * 1024

    /// Where the files are (with PostgreSQL: only the temporary files of uploads in progress).
    public let directory: URL
    /// Where sealed documents live when not in `directory` (PostgreSQL: every daemon reads them).
    let blobs: (any DocumentBlobs)?
    let key: SymmetricKey
    /// Largest accepted upload.
    public let uploadBytesMax: Int
    /// Whether writes fail for lack of space (shared with the database).
    let storage: StorageStatus

    /// Opens (creating if needed) the document directory.
    public init(
        directory: String, key: SymmetricKey, uploadBytesMax: Int, storage: StorageStatus = StorageStatus(),
        blobs: (any DocumentBlobs)? = nil
    ) throws(StoreError) {
        self.storage = storage
        self.blobs = blobs
        self.directory = URL(fileURLWithPath: directory)
        self.key = key
        self.uploadBytesMax = uploadBytesMax
        do {
            try FileManager.default.createDirectory(
                at: self.directory.appendingPathComponent("tmp"), withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
            // Temporary files of uploads that never finished (the daemon stopped mid-upload).
            for name in try FileManager.default.contentsOfDirectory(atPath: self.directory.appendingPathComponent("tmp").path) {
                try? FileManager.default.removeItem(at: self.directory.appendingPathComponent("tmp").appendingPathComponent(name))
            }
        } catch {
            throw StoreError(.configuration, "cannot use the document directory \(directory)", cause: error)
        }
    }

    func path(of id: String) -> URL { directory.appendingPathComponent(id) }

    /// The ids of the sealed document files in `directory` (none when documents live in the
    /// database): what a start-up sweep compares with the database's rows.
    public func storedFileIDs() -> [String] {
        guard blobs == nil, let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        return names.filter { $0.utf8.count == 64 && $0.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) } }
    }

    /// Whether a document file exists.

    /// Starts an upload.
    public func beginUpload() throws(StoreError) -> DocumentUpload {
        try DocumentUpload(store: self)
    }

    /// Reads, decrypts and verifies a document; one that fails is reported, never returned.
    public func read(_ id: String) async throws -> [UInt8] {
        try await StoreTracing.withSpan("documents read", attributes: ["gongji.blobs": .bool(blobs != nil)]) { try await readUntraced(id) }
    }

    private func readUntraced(_ id: String) async throws -> [UInt8] {
        guard id.count == 64, id.allSatisfy(\.isHexDigit) else { throw StoreError(.documentMissing, "the document file is missing") }
        if let blobs {
            guard let sealed = try await blobs.get(id: id) else { throw StoreError(.documentMissing, "the document is missing") }
            return try open([UInt8](sealed), id: id)
        }
        guard let data = FileManager.default.contents(atPath: path(of: id).path) else {
            throw StoreError(.documentMissing, "the document file is missing")
        }
        return try open([UInt8](data), id: id)
    }

    /// Decrypts and verifies sealed bytes (the file format above).
    func open(_ bytes: [UInt8], id: String) throws(StoreError) -> [UInt8] {
        guard bytes.count >= 12, Array(bytes[0..<4]) == Self.magic else { throw StoreError(.documentCorrupted, "bad header") }
        let prefix = Array(bytes[4..<12])
        var offset = 12
        var index: UInt32 = 0
        var plain: [UInt8] = []
        var sawLast = false
        while offset < bytes.count {
            guard !sawLast, offset + 4 <= bytes.count else { throw StoreError(.documentCorrupted, "data after the last segment") }
            let length = Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            offset += 4
            guard length >= 16, offset + length <= bytes.count else { throw StoreError(.documentCorrupted, "truncated segment") }
            let segment = Array(bytes[offset..<(offset + length)])
            offset += length
            let isLast = offset == bytes.count
            do {
                let box = try AES.GCM.SealedBox(
                    nonce: AES.GCM.Nonce(data: Self.nonce(prefix, index)),
                    ciphertext: segment.dropLast(16), tag: segment.suffix(16))
                plain += try AES.GCM.open(box, using: key, authenticating: [isLast ? 1 : 0])
            } catch {
                throw StoreError(.documentCorrupted, "segment \(index) does not authenticate")
            }
            sawLast = isLast
            index += 1
        }
        guard sawLast else { throw StoreError(.documentCorrupted, "no segments") }
        guard SHA256.hash(data: plain).hexString == id else { throw StoreError(.documentCorrupted, "content does not match its hash") }
        return plain
    }

    /// Removes a document (the database row is removed by the caller first).
    public func remove(_ id: String) async {
        if let blobs {
            try? await blobs.delete(id: id)
            return
        }
        try? FileManager.default.removeItem(at: path(of: id))
    }

    static func nonce(_ prefix: [UInt8], _ index: UInt32) -> [UInt8] {
        prefix + [UInt8(index >> 24), UInt8(index >> 16 & 0xFF), UInt8(index >> 8 & 0xFF), UInt8(index & 0xFF)]
    }
}

/// One upload in progress: hashes and encrypts bytes as they arrive into a temporary file.
/// Call `finish()` to keep it or `abort()` to discard it; an upload that is neither finished nor
/// aborted is discarded when it is deinitialised.
///
/// Used by one task at a time (the upload's call); `finish()` hands it to a dispatch queue while
/// that task waits, hence `@unchecked Sendable`.
public final class DocumentUpload: @unchecked Sendable {
    let store: DocumentStore
    let tempURL: URL
    let handle: FileHandle
    let prefix: [UInt8]
    var hasher = SHA256()
    var buffer: [UInt8] = []
    var head: [UInt8] = []
    var tail: [UInt8] = []
    var index: UInt32 = 0
    /// Bytes received so far.
    public private(set) var size = 0
    var done = false
    /// In a traced call: the span of this upload, from its first byte until it is durable or discarded.
    let span = StoreTracing.startSpan("documents upload")
    var spanEnded = false

    init(store: DocumentStore) throws(StoreError) {
        self.store = store
        tempURL = store.directory.appendingPathComponent("tmp").appendingPathComponent(UUID().uuidString)
        let fd = open(tempURL.path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let error = StoreError.writeFailed(
                "cannot create a temporary upload file", cause: POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO))
            store.storage.record(error)
            throw error
        }
        handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        prefix = (0..<8).map { _ in UInt8.random(in: 0...255) }
        do { try handle.write(contentsOf: Data(DocumentStore.magic + prefix)) } catch {
            try? FileManager.default.removeItem(at: tempURL)
            throw failed("cannot write the temporary upload file", error)
        }
    }

    deinit { if !done { abort() } }

    /// Adds bytes. Returns false (and keeps nothing more) when the upload exceeds the size limit.
    public func append(_ bytes: some Collection<UInt8>) throws(StoreError) -> Bool {
        // Uploads are megabytes in 64 KiB messages (Data): everything below works on the bytes in
        // place. Generic Collection algorithms on Data went byte by byte (`suffix` walks the whole
        // message, `+=` iterates it), and took half of an upload's CPU.
        var outcome: Result<Bool, StoreError> = .success(false)
        let wasContiguous: Void? = bytes.withContiguousStorageIfAvailable { outcome = append(contiguous: UnsafeRawBufferPointer($0)) }
        if wasContiguous == nil { Array(bytes).withUnsafeBytes { outcome = append(contiguous: $0) } }
        return try outcome.get()
    }

    private func append(contiguous bytes: UnsafeRawBufferPointer) -> Result<Bool, StoreError> {
        size += bytes.count
        guard size <= store.uploadBytesMax else { return .success(false) }
        hasher.update(bufferPointer: bytes)
        if head.count < ImageFormat.headLength { head += bytes.prefix(ImageFormat.headLength - head.count) }
        tail = Array((tail + bytes.suffix(ImageFormat.tailLength)).suffix(ImageFormat.tailLength))
        if buffer.capacity < DocumentStore.segmentBytes { buffer.reserveCapacity(DocumentStore.segmentBytes * 2) }
        buffer.append(contentsOf: bytes)
        if buffer.count > DocumentStore.segmentBytes {
            var start = 0
            while buffer.count - start > DocumentStore.segmentBytes {
                do { try seal(buffer[start..<(start + DocumentStore.segmentBytes)], last: false) } catch { return .failure(error) }
                start += DocumentStore.segmentBytes
            }
            buffer.removeFirst(start)
        }
        return .success(true)
    }

    /// What the received bytes are, judged from them (not from a declared type).
    public var detectedFormat: ImageFormat? { ImageFormat.detect(head: head, tail: tail) }

    private func seal(_ plain: ArraySlice<UInt8>, last: Bool) throws(StoreError) {
        do {
            let box = try AES.GCM.seal(
                plain, using: store.key, nonce: AES.GCM.Nonce(data: DocumentStore.nonce(prefix, index)),
                authenticating: [last ? 1 : 0])
            let length = UInt32(box.ciphertext.count + box.tag.count)
            var record = Data(capacity: 4 + Int(length))
            record.append(contentsOf: [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)])
            record.append(box.ciphertext)
            record.append(box.tag)
            try handle.write(contentsOf: record)
            index += 1
        } catch {
            throw failed("cannot write the upload", error)
        }
    }

    /// `finish()` off the caller's thread: its fsyncs block for milliseconds, which would hold one
    /// of Swift concurrency's few cooperative threads (one per core) from every other call.
    public func finishDurably() async throws -> (id: String, deduplicated: Bool) {
        do {
            let finished = try await finishDurablyUntraced()
            endSpan(deduplicated: finished.deduplicated)
            return finished
        } catch {
            endSpan(failure: error)
            throw error
        }
    }

    /// Ends the upload's span with what it did.
    private func endSpan(deduplicated: Bool? = nil, failure: (any Error)? = nil) {
        guard let span, !spanEnded else { return }
        spanEnded = true
        span.attributes["gongji.document.bytes"] = size
        span.attributes["gongji.document.segments"] = Int(index)
        span.attributes["gongji.blobs"] = store.blobs != nil
        if let deduplicated { span.attributes["gongji.document.deduplicated"] = deduplicated }
        if let failure {
            span.recordError(failure)
            span.setStatus(SpanStatus(code: .error, message: "\(failure)"))
        }
        span.end()
    }

    private func finishDurablyUntraced() async throws -> (id: String, deduplicated: Bool) {
        guard let blobs = store.blobs else {
            return try await withCheckedThrowingContinuation { continuation in
                DispatchQueue.global(qos: .userInitiated).async {
                    continuation.resume(with: Result { () throws(StoreError) in try self.finish() })
                }
            }
        }
        // Shared storage: seal the file locally, then hand its bytes to the blob store (one row).
        let id = try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(with: Result { () throws(StoreError) in try self.seal() })
            }
        }
        defer { try? FileManager.default.removeItem(at: tempURL) }
        do {
            let sealed = try Data(contentsOf: tempURL)
            let deduplicated = try await blobs.put(id: id, sealed: sealed)
            store.storage.recordWritten()
            return (id, deduplicated)
        } catch {
            store.storage.record(error)
            throw error
        }
    }

    /// Seals the last segment and closes the temporary file; returns the hash (hex).
    func seal() throws(StoreError) -> String {
        precondition(!done, "an upload finishes once")
        try seal(buffer[...], last: true)
        buffer.removeAll()
        done = true
        do {
            try handle.close()
        } catch {
            throw failed("cannot store the upload", error)
        }
        return hasher.finalize().hexString
    }

    /// Seals the last segment, makes the file durable under its hash and returns the hash (hex)
    /// and whether the same bytes were stored already.
    public func finish() throws(StoreError) -> (id: String, deduplicated: Bool) {
        precondition(!done, "an upload finishes once")
        try seal(buffer[...], last: true)
        buffer.removeAll()
        done = true
        let id = hasher.finalize().hexString
        do {
            try handle.synchronize()
            try handle.close()
            let final = store.path(of: id)
            if FileManager.default.fileExists(atPath: final.path) {
                try FileManager.default.removeItem(at: tempURL)
                return (id, true)
            }
            guard rename(tempURL.path, final.path) == 0 else { throw StoreError(.io, "rename failed (errno \(errno))") }
            try syncDirectory(store.directory)
            store.storage.recordWritten()
            return (id, false)
        } catch {
            try? FileManager.default.removeItem(at: tempURL)
            throw failed("cannot store the upload", error)
        }
    }

    /// A write failure of this upload, noted in the storage status.
    private func failed(_ message: String, _ error: any Error) -> StoreError {
        let failure = (error as? StoreError) ?? StoreError.writeFailed(message, cause: error)
        store.storage.record(failure)
        return failure
    }

    /// Discards the upload: nothing is kept.
    public func abort() {
        guard !done else { return }
        done = true
        span?.attributes["gongji.document.aborted"] = true
        endSpan()
        try? handle.close()
        try? FileManager.default.removeItem(at: tempURL)
    }
}

/// fsyncs a directory so that a rename in it is durable.
func syncDirectory(_ url: URL) throws {
    let fd = open(url.path, O_RDONLY)
    guard fd >= 0 else { throw StoreError(.io, "cannot open directory \(url.path)") }
    defer { close(fd) }
    guard fsync(fd) == 0 else { throw StoreError(.io, "fsync of \(url.path) failed (errno \(errno))") }
}

extension Digest {
    /// Lower-case hex.
    var hexString: String { hexEncoded() }
}
