import Foundation
import GongjiCore
import GongjiStorage
import Logging
import PostgresNIO

// The reads of people, accounts, bindings, documents and the ledger, and the row decoders the facts
// share (the mutations are the scripts of GongjiStorage/UseCases.swift).

extension PostgresStore {
    // MARK: Registry

    /// A person with paid years and account, in one round trip.
    static func fetchPerson(_ id: ResidentID, on c: PostgresConnection, logger: Logger) async throws -> PersonRecord? {
        try await fetchPersons([id], on: c, logger: logger)[id]
    }

    /// People with their paid years and accounts, in one round trip; those not registered are absent.
    static func fetchPersons(_ ids: [ResidentID], on c: PostgresConnection, logger: Logger) async throws -> [ResidentID: PersonRecord] {
        let wanted = Dictionary(ids.map { ($0.value, $0) }, uniquingKeysWith: { first, _ in first })
        var found: [ResidentID: PersonRecord] = [:]
        for row in try await c.rows(
            """
            SELECT \(unescaped: personColumns(person: "p", account: "a", prefix: "")) FROM person p LEFT JOIN account a ON a.id_number = p.id_number
            WHERE p.id_number = ANY(\(Array(wanted.keys)))
            """, logger: logger)
        {
            guard let id = wanted[try row.string("id_number")], let record = try decodePerson(row, prefix: "", id: id) else { continue }
            found[id] = record
        }
        return found
    }

    /// The columns `decodePerson` reads, each named with `prefix`: a person (table alias `person`),
    /// its paid years and its account (alias `account`, joined on the ID number, maybe absent).
    static func personColumns(person p: String, account a: String, prefix: String) -> String {
        """
        \(p).id_number AS \(prefix)id_number, \(p).name AS \(prefix)name, \(p).insurance_type AS \(prefix)insurance_type,
        \(p).status AS \(prefix)status, \(p).region_code AS \(prefix)region_code, \(p).special_category AS \(prefix)special_category,
        ARRAY(SELECT y.year FROM person_paid_year y WHERE y.id_number = \(p).id_number ORDER BY y.year) AS \(prefix)paid_years,
        \(a).year AS \(prefix)account_year, \(a).current_year_fen AS \(prefix)current_year_fen, \(a).carry_over_fen AS \(prefix)carry_over_fen
        """
    }

    /// The person of `personColumns(…, prefix:)` in `row`, or nil when the join found none.
    static func decodePerson(_ row: PostgresRandomAccessRow, prefix: String, id: ResidentID) throws -> PersonRecord? {
        guard try row.optionalString(prefix + "id_number") != nil else { return nil }
        guard let type = InsuranceType(rawValue: try row.string(prefix + "insurance_type")),
            let status = InsuranceStatus(rawValue: try row.string(prefix + "status")),
            let region = RegionCode(Int(try row.int(prefix + "region_code")))
        else { throw StoreError(.database, "person row \(id.masked) does not decode") }
        let person = Person(
            id: id, name: try row.string(prefix + "name"), insuranceType: type, status: status, region: region,
            specialCategory: try row.optionalString(prefix + "special_category"))
        let years = try row[prefix + "paid_years"].decode([Int64].self).map { Int($0) }
        return PersonRecord(person: person, paidYears: years, account: try decodeAccount(row, prefix: prefix, owner: id))
    }

    /// The account of `owner` read as `account_year`, `current_year_fen` and `carry_over_fen`
    /// (each named with `prefix`), or nil when a join found none.
    static func decodeAccount(_ row: PostgresRandomAccessRow, prefix: String, owner: ResidentID) throws -> PersonalAccount? {
        try row[prefix + "account_year"].decode(Int64?.self).map { year in
            PersonalAccount(
                owner: owner, year: Int(year), currentYear: try row.money(prefix + "current_year_fen"),
                carryOver: try row.money(prefix + "carry_over_fen"))
        }
    }

    static func fetchAccount(_ id: ResidentID, on c: PostgresConnection, logger: Logger) async throws -> PersonalAccount? {
        guard let row = try await c.row("SELECT * FROM account WHERE id_number = \(id.value)", logger: logger) else { return nil }
        return PersonalAccount(
            owner: id, year: Int(try row.int("year")), currentYear: try row.money("current_year_fen"),
            carryOver: try row.money("carry_over_fen"))
    }

    public func person(_ id: ResidentID) async throws -> PersonRecord? {
        let logger = self.logger
        return try await read(snapshot: false) { c in try await Self.fetchPerson(id, on: c, logger: logger) }
    }

    public func availabilityOverrides() async throws -> [RegionCode: Bool] {
        let logger = self.logger
        return try await read { c in
            var result: [RegionCode: Bool] = [:]
            for row in try await c.rows("SELECT region_code, suspended FROM region_availability", logger: logger) {
                if let region = RegionCode(Int(try row.int("region_code"))) { result[region] = try row.bool("suspended") }
            }
            return result
        }
    }

    // MARK: Bindings

    /// Bindings matching `condition` (a SQL fragment with `$1`, `$2` … for `arguments`).
    static func fetchBindings(
        where condition: String, _ arguments: [any PostgresEncodable & Sendable], on c: PostgresConnection, logger: Logger
    ) async throws -> [BindingRecord] {
        try await c.rows(
            PostgresQuery(
                unsafeSQL: "SELECT \(bindingColumns()) FROM binding WHERE \(condition)", binds: try PostgresBindings(arguments)),
            logger: logger
        ).map(decodeBinding)
    }

    /// The columns `decodeBinding` reads, of the table or of its alias `table`. Named, not `*`:
    /// a prepared statement's result must not change when a later migration adds a column
    /// (PostgreSQL refuses the statement then, until the connection closes).
    static func bindingColumns(of table: String = "binding") -> String {
        [
            "id", "authorizer", "member", "member_name", "relationship", "status", "region_code", "start_date", "newborn",
            "commitment_version", "commitment_accepted_at", "front_document", "back_document", "rejection_reason",
            "medical_limit_fen", "ended_by", "end_reason", "frozen", "settlement_limit_fen", "daily_limit_fen", "created_at",
            "updated_at", "seq",
        ].map { "\(table).\($0)" }.joined(separator: ", ")
    }

    static func decodeBinding(_ row: PostgresRandomAccessRow) throws -> BindingRecord {
        guard let relationship = Relationship(rawValue: try row.string("relationship")),
            let status = BindingStatus(rawValue: try row.string("status")),
            let region = RegionCode(Int(try row.int("region_code"))), let start = CivilDate(iso: try row.string("start_date"))
        else { throw StoreError(.database, "binding row does not decode") }
        let version = try row.optionalString("commitment_version")
        var binding = Binding(
            id: try row.string("id"), authorizer: try row.id("authorizer"), member: try row.id("member"),
            memberName: try row.string("member_name"),
            relationship: relationship, region: region, startDate: start, status: status, isNewborn: try row.bool("newborn"),
            commitment: try version.map {
                CommitmentAcceptance(version: $0, acceptedAtUnix: try row.optionalInt("commitment_accepted_at") ?? 0)
            },
            frontDocument: try row.optionalString("front_document"), backDocument: try row.optionalString("back_document"),
            rejectionReason: try row.optionalString("rejection_reason"),
            medicalLimit: try row.optionalInt("medical_limit_fen").map(Money.init(fen:)))
        binding.endedBy = try row.optionalString("ended_by").flatMap(BindingEndParty.init(rawValue:))
        binding.endReason = try row.optionalString("end_reason")
        binding.isFrozen = try row.bool("frozen")
        binding.settlementLimit = try row.optionalInt("settlement_limit_fen").map(Money.init(fen:))
        binding.dailyLimit = try row.optionalInt("daily_limit_fen").map(Money.init(fen:))
        return BindingRecord(
            binding: binding, createdAt: try row.int("created_at"), updatedAt: try row.int("updated_at"), seq: try row.int("seq"))
    }

    public func binding(id: String) async throws -> BindingRecord? {
        let logger = self.logger
        return try await read(snapshot: false) { c in try await Self.fetchBindings(where: "id = $1", [id], on: c, logger: logger).first }
    }

    public func bindings(
        of person: ResidentID, as perspective: BindingPerspective, before: Int64?, limit: Int
    ) async throws -> [BindingRecord] {
        let logger = self.logger
        let column = perspective == .authorizer ? "authorizer" : "member"
        return try await read { c in
            try await Self.fetchBindings(
                where: "\(column) = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3",
                [person.value, before ?? Int64.max, Int64(limit)], on: c, logger: logger)
        }
    }

    public func pendingBindings(region: RegionCode?, after: Int64?, limit: Int) async throws -> [BindingRecord] {
        let logger = self.logger
        return try await read { c in
            if let region {
                return try await Self.fetchBindings(
                    where: "status = 'pending' AND region_code = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                    [Int64(region.value), after ?? 0, Int64(limit)], on: c, logger: logger)
            }
            return try await Self.fetchBindings(
                where: "status = 'pending' AND seq > $1 ORDER BY seq LIMIT $2",
                [after ?? 0, Int64(limit)], on: c, logger: logger)
        }
    }

    public func bindingEvents(id: String) async throws -> [BindingEvent] {
        let logger = self.logger
        return try await read { c in
            try await c.rows("SELECT * FROM binding_event WHERE binding_id = \(id) ORDER BY seq", logger: logger).map {
                BindingEvent(
                    status: try $0.string("status"), identity: try $0.string("certificate_identity"),
                    endUser: try $0.optionalString("end_user"),
                    requestID: try $0.optionalString("request_id"), at: try $0.int("at"))
            }
        }
    }

    // MARK: Documents

    public func document(id: String) async throws -> DocumentRecord? {
        let logger = self.logger
        return try await read { c in
            guard let row = try await c.row("SELECT * FROM document WHERE id = \(id)", logger: logger),
                let side = DocumentSide(rawValue: try row.string("side"))
            else { return nil }
            return DocumentRecord(
                id: id, side: side, mediaType: try row.string("media_type"), size: Int(try row.int("size_bytes")),
                uploadedAt: try row.int("uploaded_at"))
        }
    }

    public func documentIDs() async throws -> Set<String> {
        let logger = self.logger
        return try await read { c in Set(try await c.rows("SELECT id FROM document", logger: logger).map { try $0.string("id") }) }
    }

    public func documentTotals() async throws -> (count: Int, bytes: Int64) {
        let logger = self.logger
        return try await read(snapshot: false) { c in
            guard
                let row = try await c.row(
                    "SELECT COUNT(*)::bigint AS n, COALESCE(SUM(size_bytes), 0)::bigint AS b FROM document", logger: logger)
            else { return (0, 0) }
            return (Int(try row.int("n")), try row.int("b"))
        }
    }

    // MARK: Ledger

    public func ledgerSum() async throws -> Money {
        let logger = self.logger
        return try await read { c in
            Money(fen: try await c.row("SELECT COALESCE(SUM(amount_fen), 0)::bigint AS s FROM ledger_entry", logger: logger)?.int("s") ?? 0)
        }
    }

    public func ledgerBalance(of account: String) async throws -> Money {
        let logger = self.logger
        return try await read { c in
            Money(
                fen: try await c.row(
                    "SELECT COALESCE(SUM(amount_fen), 0)::bigint AS s FROM ledger_entry WHERE account = \(account)",
                    logger: logger)?.int("s") ?? 0)
        }
    }
}
