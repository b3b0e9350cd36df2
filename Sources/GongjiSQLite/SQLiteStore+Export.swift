import Foundation
import GRDB
import GongjiStorage

extension SQLiteStore: StorageExport {
    /// Every row of `table`, from one snapshot, with its column names (`gongjid migrate`).
    public func export(table: String) async throws -> (columns: [String], rows: [[ExportedValue]]) {
        precondition(StorageSchema.exportOrder.contains(table), "a table of the schema")
        return try await read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM \(table)")
            let columns = try rows.first.map { Array($0.columnNames) } ?? db.columns(in: table).map(\.name)
            return (
                columns,
                rows.map { row in
                    row.databaseValues.map { value in
                        switch value.storage {
                        case .null: .null
                        case .int64(let number): .integer(number)
                        case .double(let number): .real(number)
                        case .string(let text): .text(text)
                        case .blob(let data): .blob(data)
                        }
                    }
                }
            )
        }
    }

    /// The ledger's sum and its number of entries (the check after a migration).
    public func ledgerTotals() async throws -> (sum: Int64, entries: Int64) {
        try await read { db in
            let row = try Row.fetchOne(db, sql: "SELECT COALESCE(SUM(amount_fen), 0) AS s, COUNT(*) AS n FROM ledger_entry")!
            return (row["s"], row["n"])
        }
    }
}
