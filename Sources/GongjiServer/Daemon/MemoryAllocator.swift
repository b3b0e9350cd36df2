import Foundation
import ServiceLifecycle

/// glibc's allocator defaults suit short programs, not a server: up to 8 arenas per core, each
/// keeping what it once held, and a threshold for returning large blocks to the system that
/// rises with every large block freed. Megabyte uploads spread over threads then leave the
/// process holding memory it no longer uses (peak RSS under load over 250 MiB in the benchmark).
/// Two arenas and fixed thresholds keep it near what is in use. An operator's MALLOC_* variable wins.
public func tuneMemoryAllocator() {
    let environment = ProcessInfo.processInfo.environment
    // <malloc.h> parameters (not in Swift's Glibc module).
    let trimThreshold: Int32 = -1
    let mmapThreshold: Int32 = -3
    let arenaMax: Int32 = -8
    if environment["MALLOC_ARENA_MAX"] == nil { _ = glibcMallopt(arenaMax, 2) }
    if environment["MALLOC_MMAP_THRESHOLD_"] == nil { _ = glibcMallopt(mmapThreshold, 256 * 1024) }
    if environment["MALLOC_TRIM_THRESHOLD_"] == nil { _ = glibcMallopt(trimThreshold, 1 << 20) }
}

/// glibc's `int mallopt(int param, int value)`.
@_silgen_name("mallopt")
func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32

/// Gives memory the allocator holds but no longer uses back to the system every second. glibc only
/// returns free memory at the top of its heaps by itself; after a burst of uploads the free
/// blocks in the middle would otherwise count against the daemon's RSS until restart.
struct MemoryTrimService: Service {
    func run() async throws {
        await repeatUntilShutdown(every: .seconds(1)) { _ = glibcMallocTrim(0) }
    }
}

/// glibc's `int malloc_trim(size_t pad)` (not in Swift's Glibc module).
@_silgen_name("malloc_trim")
func glibcMallocTrim(_ pad: Int) -> Int32
