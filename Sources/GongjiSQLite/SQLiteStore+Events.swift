import GRDB
import GongjiCore
import GongjiStorage

extension SQLiteStore {
    public func events(after position: Int64, of person: ResidentID?, limit: Int) async throws -> [AccountEvent] {
        try await read { db in
            let rows: [Row]
            if let person {
                // Each index gives its own rows in order; the two lists are merged by position.
                rows = try Row.fetchAll(
                    db.cachedStatement(
                        sql: """
                            SELECT \(StoredEvent.columns) FROM event WHERE seq IN (
                              SELECT seq FROM (SELECT seq FROM event WHERE authorizer = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3)
                              UNION SELECT seq FROM (SELECT seq FROM event WHERE member = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3))
                            ORDER BY seq LIMIT ?3
                            """), arguments: [person.value, position, limit])
            } else {
                rows = try Row.fetchAll(
                    db.cachedStatement(sql: "SELECT \(StoredEvent.columns) FROM event WHERE seq > ? ORDER BY seq LIMIT ?"),
                    arguments: [position, limit])
            }
            return try rows.map(Self.decodeEvent)
        }
    }

    public func eventsRemovedThrough() async throws -> Int64 {
        try await read { db in try Int64.fetchOne(db, sql: "SELECT removed_through FROM event_retention WHERE id = 1") ?? 0 }
    }

    public func newestEventPosition() async throws -> Int64 {
        try await read { db in try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM event") ?? 0 }
    }

    static func decodeEvent(_ row: Row) throws -> AccountEvent {
        try StoredEvent.event(
            position: row["seq"], kind: row["kind"], at: row["at"], authorizer: row["authorizer"], member: row["member"],
            memberNameMasked: row["member_name_masked"], bindingID: row["binding_id"], amountFen: row["amount_fen"], parts: row["parts"],
            institutionCode: row["institution_code"], institutionName: row["institution_name"], institutionKind: row["institution_kind"],
            balanceAfterFen: row["balance_after_fen"], reference: row["reference"])
    }
}
