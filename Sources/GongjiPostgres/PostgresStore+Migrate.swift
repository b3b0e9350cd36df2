import Foundation
import GongjiStorage
import Logging
import PostgresNIO

extension PostgresStore {
    /// The result of copying a SQLite deployment: rows per table and the ledger on both sides.
    public struct MigrationReport: Sendable {
        /// Rows copied per table.
        public var rows: [(table: String, count: Int)] = []
        /// Document files copied.
        public var documents = 0
        /// The ledger's sum in fen (equal on both sides, else the migration failed).
        public var ledgerSum: Int64 = 0
    }

    /// Copies every table of `sqlite` and the document files of `documentsDirectory` into this
    /// (empty) database in one transaction, then checks that the row count of every table and the
    /// ledger's sum and number of entries are equal on both sides; any difference rolls it all back.
    public func migrate(from sqlite: any StorageExport, documentsDirectory: String) async throws -> MigrationReport {
        var tables: [(name: String, columns: [String], rows: [[ExportedValue]])] = []
        for table in StorageSchema.exportOrder {
            let (columns, rows) = try await sqlite.export(table: table)
            tables.append((table, columns, rows))
        }
        let documentIDs = tables.first { $0.name == "document" }!.rows.compactMap { row -> String? in
            if case .text(let id) = row.first { id } else { nil }
        }
        let (sum, entries) = try await sqlite.ledgerTotals()
        let logger = self.logger
        let snapshot = tables
        return try await transaction { c in
            guard try await c.row("SELECT COUNT(*)::bigint AS n FROM person", logger: logger)?.int("n") == 0 else {
                throw StoreError(.configuration, "the PostgreSQL database holds persons already: migrate into an empty database")
            }
            var report = MigrationReport()
            for table in snapshot {
                // The PostgreSQL columns and their types; SQLite-only columns (document.uploaded_by,
                // payment.verification_code) are not copied.
                var types: [String: String] = [:]
                for row in try await c.rows(
                    """
                    SELECT column_name, data_type FROM information_schema.columns WHERE table_name = \(table.name) AND table_schema = current_schema()
                    """, logger: logger)
                {
                    types[try row.string("column_name")] = try row.string("data_type")
                }
                let kept = table.columns.enumerated().filter { types[$0.element] != nil }
                let placeholders = kept.indices.map { "$\($0 + 1)" }.joined(separator: ", ")
                let sql = "INSERT INTO \(table.name) (\(kept.map(\.element).joined(separator: ", "))) VALUES (\(placeholders))"
                for row in table.rows {
                    var binds = PostgresBindings()
                    for (index, column) in kept {
                        try Self.bind(row[index], as: types[column]!, column: column, into: &binds)
                    }
                    try await c.run(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
                }
                let count =
                    try await c.row(PostgresQuery(unsafeSQL: "SELECT COUNT(*)::bigint AS n FROM \(table.name)"), logger: logger)?.int("n")
                    ?? -1
                guard count == Int64(table.rows.count) else {
                    throw StoreError(.database, "\(table.name): \(table.rows.count) rows in SQLite, \(count) in PostgreSQL")
                }
                if table.columns.contains("seq") {
                    try await c.run(
                        PostgresQuery(
                            unsafeSQL: """
                                SELECT setval(pg_get_serial_sequence('\(table.name)', 'seq'), GREATEST((SELECT COALESCE(MAX(seq), 0) FROM \(table.name)), 1))
                                """), logger: logger)
                }
                report.rows.append((table.name, table.rows.count))
            }
            for id in documentIDs {
                let url = URL(fileURLWithPath: documentsDirectory).appendingPathComponent(id)
                guard let sealed = FileManager.default.contents(atPath: url.path) else {
                    throw StoreError(.documentMissing, "document \(id) has no file in \(documentsDirectory)")
                }
                _ = try await PostgresDocumentBlobs.insert(
                    id: id, sealed: sealed, now: Int64(Date().timeIntervalSince1970), on: c, logger: logger)
                report.documents += 1
            }
            guard
                let ledger = try await c.row(
                    "SELECT COALESCE(SUM(amount_fen), 0)::bigint AS s, COUNT(*)::bigint AS n FROM ledger_entry", logger: logger),
                try ledger.int("s") == sum, try ledger.int("n") == entries
            else { throw StoreError(.database, "the ledger differs after the copy") }
            report.ledgerSum = sum
            return report
        }
    }

    static func bind(_ value: ExportedValue, as type: String, column: String, into binds: inout PostgresBindings) throws {
        switch (value, type) {
        case (.null, "boolean"): binds.append(Bool?.none)
        case (.null, "bigint"): binds.append(Int64?.none)
        case (.null, "bytea"): try binds.append(Data?.none)
        case (.null, _): binds.append(String?.none)
        case (.integer(let number), "boolean"): binds.append(number != 0)
        case (.integer(let number), "bigint"): binds.append(number)
        case (.integer(let number), "text"): binds.append(String(number))
        case (.text(let text), "text"): binds.append(text)
        case (.text(let text), "bigint"):
            guard let number = Int64(text) else { throw StoreError(.database, "\(column): '\(text)' is not a number") }
            binds.append(number)
        case (.blob(let data), "bytea"): try binds.append(data)
        case (.real(let number), "bigint"): binds.append(Int64(number))
        default: throw StoreError(.database, "\(column): a \(value) does not fit a \(type) column")
        }
    }
}
