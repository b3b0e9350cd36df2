import GRDB
import GongjiStorage

/// WAL checkpoints off the write path.
///
/// A commit appends the changed pages to the write-ahead log and syncs it; a checkpoint copies
/// logged pages back into the database file and syncs that. SQLite's default runs the checkpoint
/// inside the commit that crosses 1000 pages, on the writer, so every few group commits one of
/// them also wrote and synced megabytes of database pages while the next batch waited. The daemon
/// instead hands checkpoints to `CheckpointService`, which runs them on a connection of its own:
/// passive checkpoints (they never block the writer) copy what readers no longer need, and when
/// the log still exceeds `walBytesMax` a restart checkpoint (it waits for the current batch)
/// lets the next commit write from the start of the log again, so the file stays bounded under
/// sustained load. Without the service (tools, tests) SQLite's automatic checkpoints stay on.
extension SQLiteStore {
    /// The default WAL size above which a restart checkpoint is forced, and to which the file is truncated.
    public static let defaultWALBytesMax = 64 << 20
    /// The writer connection's page cache, KiB.
    static let writerCacheKiB = 8 << 10

    /// Turns SQLite's checkpoints inside commits on (SQLite's default of 1000 pages) or off (when
    /// `CheckpointService` runs them).
    public func setAutomaticCheckpoints(_ enabled: Bool) async throws {
        try await pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(enabled ? 1000 : 0)")
        }
    }

    /// One round of log maintenance on the checkpoint connection: a passive checkpoint (it never
    /// waits for the writer) and, when the log is still larger than `walBytesMax`, a restart
    /// checkpoint (it waits for the current transaction) so that the next commit writes from the
    /// start of the log again.
    public func checkpoint() async throws {
        let limit = walBytesMax
        try await checkpointConnection.writeWithoutTransaction { db in
            let logPages = try db.checkpoint(.passive).walFrameCount
            let pageSize = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 4096
            if logPages * pageSize > limit { try db.checkpoint(.restart) }
        }
    }
}
