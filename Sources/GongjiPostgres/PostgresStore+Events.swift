import GongjiCore
import GongjiStorage
import Logging
import PostgresNIO

extension PostgresStore {
    /// The arguments of the advisory lock under which events are positioned, in the connection's
    /// schema (for tests that hold it themselves).
    public static var eventLockArguments: String { AdvisoryLock.events.arguments }

    public func events(after position: Int64, of person: ResidentID?, limit: Int) async throws -> [AccountEvent] {
        let logger = self.logger
        let rows = try await read(snapshot: false) { c in
            if let person {
                // Each index gives its own rows in order; the two lists are merged by position.
                return try await c.rows(
                    """
                    SELECT \(unescaped: StoredEvent.columns) FROM event WHERE seq IN (
                      (SELECT seq FROM event WHERE authorizer = \(person.value) AND seq > \(position) ORDER BY seq LIMIT \(Int64(limit)))
                      UNION (SELECT seq FROM event WHERE member = \(person.value) AND seq > \(position) ORDER BY seq LIMIT \(Int64(limit))))
                    ORDER BY seq LIMIT \(Int64(limit))
                    """, logger: logger)
            }
            return try await c.rows(
                "SELECT \(unescaped: StoredEvent.columns) FROM event WHERE seq > \(position) ORDER BY seq LIMIT \(Int64(limit))",
                logger: logger)
        }
        return try rows.map { row in
            try StoredEvent.event(
                position: try row.int("seq"), kind: try row.string("kind"), at: try row.int("at"), authorizer: try row.string("authorizer"),
                member: try row.string("member"), memberNameMasked: try row.string("member_name_masked"),
                bindingID: try row.optionalString("binding_id"), amountFen: try row.optionalInt("amount_fen"),
                parts: try row.string("parts"),
                institutionCode: try row.optionalString("institution_code"), institutionName: try row.optionalString("institution_name"),
                institutionKind: try row.optionalString("institution_kind"), balanceAfterFen: try row.optionalInt("balance_after_fen"),
                reference: try row.optionalString("reference"))
        }
    }

    public func newestEventPosition() async throws -> Int64 {
        let logger = self.logger
        return try await read(snapshot: false) { c in
            try await c.row("SELECT COALESCE(MAX(seq), 0)::bigint AS n FROM event", logger: logger)?.int("n") ?? 0
        }
    }

    public func eventsRemovedThrough() async throws -> Int64 {
        let logger = self.logger
        return try await read(snapshot: false) { c in
            try await c.row("SELECT COALESCE(MAX(removed_through), 0)::bigint AS n FROM event_retention", logger: logger)?.int("n") ?? 0
        }
    }
}

extension PostgresStore {
    /// Until cancelled: listens on one pooled connection for the notification every commit with
    /// events sends (any daemon's), and wakes this daemon's followers. After a lost connection or
    /// a failover it listens again within a second (the followers also read the table every
    /// second, so nothing is missed meanwhile, only later).
    public func followCommittedEvents() async {
        let logger = self.logger
        let signal = eventSignal
        while !Task.isCancelled {
            do {
                try await pool.client.withConnection { connection in
                    try await connection.listen(on: PostgresSchema.eventChannel) { notifications in
                        // Whatever committed while not listening: read now.
                        signal.notify()
                        for try await _ in notifications { signal.notify() }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("listening for events failed; again in a second", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
