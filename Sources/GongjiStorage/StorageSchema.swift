import Foundation

/// What every backend's schema has in common.
public enum StorageSchema {
    /// The tables of a Gongji database in an order that respects their references.
    public static let exportOrder = [
        "person", "person_paid_year", "account", "account_credit", "institution", "document", "document_uploader", "binding",
        "binding_event", "payment", "payment_year", "payment_posting", "ledger_entry", "idempotency", "region_availability",
        "year_rollover", "settlement", "settlement_posting", "account_use", "event", "event_retention",
    ]
}

/// One value of an exported row (`gongjid migrate` copies SQLite into PostgreSQL).
public enum ExportedValue: Sendable {
    /// NULL.
    case null
    /// An integer.
    case integer(Int64)
    /// A real.
    case real(Double)
    /// Text.
    case text(String)
    /// Bytes.
    case blob(Data)
}

/// A database that can be read table by table, to copy it into another backend.
public protocol StorageExport: Sendable {
    /// Every row of `table` (one of `StorageSchema.exportOrder`), from one snapshot, with its column names.
    func export(table: String) async throws -> (columns: [String], rows: [[ExportedValue]])
    /// The ledger's sum and its number of entries (the check after a copy).
    func ledgerTotals() async throws -> (sum: Int64, entries: Int64)
}
