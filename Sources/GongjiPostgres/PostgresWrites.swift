import GongjiCore
import Logging
import PostgresNIO

extension PostgresBindings {
    /// `values` bound in order, as `$1`, `$2`, … (each with its own type: numbers as numbers).
    init(_ values: [any PostgresEncodable & Sendable]) throws {
        self.init()
        for value in values { try append(value) }
    }

    /// Binds `value` and returns its placeholder (`$n`), for SQL written in parts.
    mutating func placeholder<Value: PostgresDynamicTypeEncodable>(_ value: Value) -> String {
        append(value)
        return "$\(count)"
    }

    /// Binds `value` (NULL when nil) and returns its placeholder.
    mutating func placeholder<Value: PostgresDynamicTypeEncodable>(_ value: Value?) -> String {
        append(value)
        return "$\(count)"
    }
}

/// The writes of one plan sent as one statement: each write is a data-modifying `WITH` query of
/// one `SELECT`, so that applying a payment or a settlement costs one round trip to the server
/// instead of one per row (each round trip costs the daemon more CPU than the server's work).
/// The parts run with one snapshot, so they must not write the same row twice (a plan never
/// does); constraints are checked and foreign keys resolved at the end of the statement, so a
/// part may refer to a row another part inserts, and any violation fails the whole statement.
struct PostgresWrites {
    private var parts: [String] = []
    private var binds = PostgresBindings()
    private var returnsFirst = false

    init() {}

    /// Whether nothing was added.
    var isEmpty: Bool { parts.isEmpty }
    /// Whether it is large enough to send (PostgreSQL takes at most 65,535 parameters a statement).
    var isFull: Bool { parts.count >= 256 || binds.count >= 16_000 }

    /// Adds a write; `sql` binds its values through the bindings it is given.
    mutating func add(_ sql: (inout PostgresBindings) -> String) {
        parts.append(sql(&binds))
    }

    /// Adds an `INSERT … RETURNING` that later parts read as `first` (e.g. `(SELECT seq FROM
    /// first)`); the statement returns its rows. Must be added before any other part.
    mutating func addReturning(_ sql: (inout PostgresBindings) -> String) {
        precondition(parts.isEmpty, "the returning part comes first")
        returnsFirst = true
        parts.append(sql(&binds))
    }

    /// Runs the writes (nothing when there are none) and returns the rows of the returning part.
    func run(on c: PostgresConnection, logger: Logger) async throws -> [PostgresRandomAccessRow] {
        guard !parts.isEmpty else { return [] }
        if parts.count == 1 { return try await c.rows(PostgresQuery(unsafeSQL: parts[0], binds: binds), logger: logger) }
        let named = parts.enumerated().map { index, sql in "\(index == 0 ? "first" : "w\(index)") AS (\(sql))" }
        let sql = "WITH " + named.joined(separator: ",\n") + "\nSELECT " + (returnsFirst ? "* FROM first" : "1")
        return try await c.rows(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
    }
}
