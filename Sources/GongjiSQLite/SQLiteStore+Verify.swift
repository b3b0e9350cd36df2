import Foundation
import GRDB
import GongjiStorage

/// What `gongjid verify` found.
public struct VerificationReport: Sendable, CustomStringConvertible {
    /// Problems, one line each; empty when the database is sound.
    public var problems: [String] = []
    /// Ledger movements checked.
    public var movements = 0
    /// Document records checked against the document directory.
    public var documents = 0

    /// Whether nothing was found wrong.
    public var isSound: Bool { problems.isEmpty }

    public var description: String {
        let summary = "\(movements) ledger movements, \(documents) documents checked"
        return problems.isEmpty
            ? "OK: \(summary)" : (["\(problems.count) problem(s), \(summary):"] + problems.map { "- \($0)" }).joined(separator: "\n")
    }
}

extension SQLiteStore {
    /// Checks the database from a consistent snapshot: SQLite's integrity check, foreign keys,
    /// every ledger movement summing to zero, and (when `documentExists` is given) a file for
    /// every document record. Reads only.
    public func verify(documentExists: (@Sendable (String) -> Bool)? = nil) async throws -> VerificationReport {
        try await read { db in
            var report = VerificationReport()
            let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check")
            if integrity != ["ok"] { report.problems += integrity.prefix(20).map { "integrity: \($0)" } }
            let foreign = try Row.fetchAll(db, sql: "PRAGMA foreign_key_check")
            report.problems += foreign.prefix(20).map {
                "foreign key: table \($0[0] as String? ?? "?") row \($0[1] as Int64? ?? -1) refers to a missing \($0[2] as String? ?? "?")"
            }
            report.movements = try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT movement) FROM ledger_entry") ?? 0
            let unbalanced = try Row.fetchAll(
                db,
                sql: """
                    SELECT movement, SUM(amount_fen) AS total FROM ledger_entry GROUP BY movement HAVING SUM(amount_fen) != 0 LIMIT 20
                    """)
            report.problems += unbalanced.map { "ledger: movement \($0["movement"] as String) sums to \($0["total"] as Int64) fen, not 0" }
            if let documentExists {
                let ids = try String.fetchAll(db, sql: "SELECT id FROM document")
                report.documents = ids.count
                report.problems += ids.filter { !documentExists($0) }.prefix(20).map {
                    "documents: \($0) is recorded but its file is missing"
                }
            }
            return report
        }
    }
}
