import Synchronization
import Testing

@testable import GongjiPostgres

@Suite("the connection pool's statistics")
struct PoolStatisticsTests {
    @Test("the lease observer is told of every lease, and a million leases cost what one does a million times")
    func manyLeases() {
        // Kept in a Mutex directly, the observer closure gained two reabstraction thunks at each
        // lease: the millionth lease ran a chain of two million of them (quadratic time, and in
        // the end a stack overflow). Boxed, this runs in milliseconds.
        let statistics = PoolStatistics()
        let told = Mutex(0)
        statistics.onLease { _ in told.withLock { $0 += 1 } }
        for _ in 0..<1_000_000 {
            statistics.leased(waited: .zero)
            statistics.returned()
        }
        #expect(told.withLock { $0 } == 1_000_000)
        #expect(statistics.inUse == 0)
    }
}
