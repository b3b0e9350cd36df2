import Foundation
import Synchronization

/// Whether writes are failing for lack of space. The first write that fails with STORAGE_FULL
/// (database or document store) sets it; the next write that succeeds, or a `probe` that can
/// write again, clears it. Health reports NOT_SERVING while it is set, so that a load balancer
/// sends writes elsewhere instead of into errors.
public final class StorageStatus: Sendable {
    private let full = Atomic<Bool>(false)
    private let unreachable = Atomic<Bool>(false)

    /// Writable until a write says otherwise.
    public init() {}

    /// Whether the last write outcome was a full file system.
    public var isFull: Bool { full.load(ordering: .relaxed) }

    /// Whether the database server (PostgreSQL) could not be reached by the last attempt.
    public var isUnreachable: Bool { unreachable.load(ordering: .relaxed) }

    /// Notes a failed write: a lack of space, or a database server out of reach.
    public func record(_ error: any Error) {
        if StoreError.isOutOfSpace(error) { full.store(true, ordering: .relaxed) }
        if (error as? StoreError)?.code == .unavailable { unreachable.store(true, ordering: .relaxed) }
    }

    /// Notes a write that reached the disk (and so the database).
    public func recordWritten() {
        if full.load(ordering: .relaxed) { full.store(false, ordering: .relaxed) }
        recordReachable()
    }

    /// Notes that a failure came from a server that answered (anything but `.unavailable`).
    public func recordReachableIfAnswered(_ error: any Error) {
        if (error as? StoreError)?.code != .unavailable { recordReachable() }
    }

    /// Notes that the database server answered.
    public func recordReachable() {
        if unreachable.load(ordering: .relaxed) { unreachable.store(false, ordering: .relaxed) }
    }

    /// Writes, syncs and removes `bytes` bytes in each directory; clears the flag when all succeed.
    @discardableResult
    public func probe(directories: [String], bytes: Int = 64 << 10) -> Bool {
        let block = [UInt8](repeating: 0, count: bytes)
        for directory in directories {
            let path = directory + "/.gongjid-space-probe"
            let fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o600)
            guard fd >= 0 else { return false }
            defer {
                close(fd)
                unlink(path)
            }
            let written = block.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written == bytes, fsync(fd) == 0 else { return false }
        }
        recordWritten()
        return true
    }
}
