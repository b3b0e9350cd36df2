import Foundation
import GRDB
import GongjiCore
import GongjiStorage

extension SQLiteStore {
    public func binding(id: String) async throws -> BindingRecord? {
        try readNow { db in try Self.fetchBinding(id: id, in: db) }
    }

    public func bindings(
        of person: ResidentID, as perspective: BindingPerspective, before: Int64?, limit: Int
    ) async throws -> [BindingRecord] {
        let column = perspective == .authorizer ? "authorizer" : "member"
        return try await read { db in
            try Self.fetchBindings(
                where: "\(column) = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
                [person.value, before ?? Int64.max, limit], in: db)
        }
    }

    public func pendingBindings(region: RegionCode?, after: Int64?, limit: Int) async throws -> [BindingRecord] {
        try await read { db in
            if let region {
                return try Self.fetchBindings(
                    where: "status = 'pending' AND region_code = ? AND seq > ? ORDER BY seq LIMIT ?",
                    [region.value, after ?? 0, limit], in: db)
            }
            return try Self.fetchBindings(
                where: "status = 'pending' AND seq > ? ORDER BY seq LIMIT ?",
                [after ?? 0, limit], in: db)
        }
    }

    public func bindingEvents(id: String) async throws -> [BindingEvent] {
        try readNow { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM binding_event WHERE binding_id = ? ORDER BY seq"), arguments: [id]).map
            {
                BindingEvent(
                    status: $0["status"], identity: $0["certificate_identity"], endUser: $0["end_user"], requestID: $0["request_id"],
                    at: $0["at"])
            }
        }
    }

    static func fetchBinding(id: String, in db: Database) throws -> BindingRecord? {
        try fetchBindings(where: "id = ?", [id], in: db).first
    }

    static func fetchBindings(where condition: String, _ arguments: StatementArguments, in db: Database) throws -> [BindingRecord] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM binding WHERE \(condition)"), arguments: arguments).map { row in
            guard let relationship = Relationship(rawValue: row["relationship"]), let status = BindingStatus(rawValue: row["status"]),
                let region = RegionCode(row["region_code"] as Int), let start = CivilDate(iso: row["start_date"])
            else { throw StoreError(.database, "binding row does not decode") }
            let version: String? = row["commitment_version"]
            var binding = Binding(
                id: row["id"], authorizer: try ResidentID.stored(row["authorizer"]), member: try ResidentID.stored(row["member"]),
                memberName: row["member_name"], relationship: relationship, region: region, startDate: start, status: status,
                isNewborn: row["newborn"],
                commitment: version.map { CommitmentAcceptance(version: $0, acceptedAtUnix: row["commitment_accepted_at"]) },
                frontDocument: row["front_document"], backDocument: row["back_document"], rejectionReason: row["rejection_reason"],
                medicalLimit: (row["medical_limit_fen"] as Int64?).map(Money.init(fen:)))
            binding.endedBy = (row["ended_by"] as String?).flatMap(BindingEndParty.init(rawValue:))
            binding.endReason = row["end_reason"]
            binding.isFrozen = row["frozen"]
            binding.settlementLimit = (row["settlement_limit_fen"] as Int64?).map(Money.init(fen:))
            binding.dailyLimit = (row["daily_limit_fen"] as Int64?).map(Money.init(fen:))
            return BindingRecord(binding: binding, createdAt: row["created_at"], updatedAt: row["updated_at"], seq: row["seq"])
        }
    }
}
