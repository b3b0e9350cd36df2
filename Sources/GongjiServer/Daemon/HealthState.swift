import GongjiSQLite
import GongjiStorage
import Synchronization

/// Serving states of the health service; NOT_SERVING while the daemon stops.
final class HealthState: Sendable {
    private let serving = Mutex(true)
    /// Writes failing for lack of space, or a database out of reach, make the daemon NOT_SERVING
    /// until they succeed again.
    let storage: StorageStatus

    init(storage: StorageStatus) { self.storage = storage }

    /// On graceful shutdown: NOT_SERVING for good.
    func markNotServing() { serving.withLock { $0 = false } }
    var isServing: Bool { serving.withLock { $0 } && !storage.isFull && !storage.isUnreachable }
}
