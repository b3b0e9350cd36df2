import GongjiCore
import GongjiStorage
import Logging
import PostgresNIO

/// The text of a statement the hot paths run at every call, with `$1`, `$2`, … for its values.
protocol StatementText {
    static var sql: String { get }
}

/// A statement of fixed text, prepared once per pooled connection (postgres-nio names it after
/// the type, prepares it on the connection's first use and executes it by name thereafter), so
/// that PostgreSQL neither parses nor plans it again at every call: with the text sent each time,
/// a payment's facts query spent 2.2 ms of the server's CPU being planned and 0.7 ms being run
/// (bench/notes.md). Only statements whose text never changes can be prepared; a plan's writes,
/// whose text depends on the rows written, are sent as they are.
struct Prepared<Text: StatementText>: PostgresPreparedStatement {
    static var sql: String { Text.sql }
    typealias Row = PostgresRandomAccessRow
    let bindings: PostgresBindings

    /// The statement with `values` for `$1`, `$2`, … in order.
    init(_ values: any PostgresEncodable & Sendable...) throws {
        bindings = try PostgresBindings(values)
    }

    func makeBindings() -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) -> PostgresRandomAccessRow { row.makeRandomAccess() }
}

extension PostgresConnection {
    /// Runs a prepared statement and collects its rows (all of them: see `run`).
    func rows<Text>(_ statement: Prepared<Text>, logger: Logger) async throws -> [PostgresRandomAccessRow] {
        guard !isClosed else { throw StoreError(.unavailable, "the connection to the PostgreSQL server was closed") }
        var result: [PostgresRandomAccessRow] = []
        for try await row in try await execute(statement, logger: logger) { result.append(row) }
        return result
    }

    /// Runs a prepared statement and returns its first row, if any.
    func row<Text>(_ statement: Prepared<Text>, logger: Logger) async throws -> PostgresRandomAccessRow? {
        try await rows(statement, logger: logger).first
    }

    /// Runs a prepared statement to its end.
    func run<Text>(_ statement: Prepared<Text>, logger: Logger) async throws {
        _ = try await rows(statement, logger: logger)
    }
}

/// The statements of fixed text on the paths every call of the money use cases takes (quote,
/// premium payment, settlement): a request's recorded answer, the locks, the facts.
enum HotPath {
    /// A request's recorded answer: $1 scope, $2 request id.
    enum RecordedAnswer: StatementText {
        static let sql = "SELECT fingerprint, result FROM idempotency WHERE scope = $1 AND request_id = $2"
    }

    /// Locks a binding, then its authorizer's account (the order every use case keeps), in one
    /// round trip: $1 binding id. The binding's lock is taken as the join reads the `WITH`
    /// part's row, before the account's row is locked.
    enum LockBindingAndAccount: StatementText {
        static let sql = """
            WITH b AS MATERIALIZED (SELECT authorizer FROM binding WHERE id = $1 FOR NO KEY UPDATE)
            SELECT a.id_number FROM b JOIN account a ON a.id_number = b.authorizer FOR NO KEY UPDATE OF a
            """
    }

    /// Locks accounts in key order: $1 their owners' numbers.
    enum LockAccounts: StatementText {
        static let sql = "SELECT id_number FROM account WHERE id_number = ANY($1) ORDER BY id_number FOR NO KEY UPDATE"
    }

    /// A premium's facts in one query: the binding, both people with their paid years and
    /// accounts, the years paid through Gongji, the binding's wallet holding; $1 binding id.
    enum PremiumFacts: StatementText {
        static let sql = """
            SELECT \(PostgresStore.bindingColumns(of: "b")),
                   ARRAY(SELECT y.year FROM payment_year y WHERE y.member = b.member AND y.kind = 'resident') AS member_payment_years,
                   ARRAY(SELECT y.year FROM payment_year y WHERE y.member = b.member AND y.kind = 'long_term_care') AS member_ltc_years,
                   \(PostgresStore.personColumns(person: "pa", account: "aa", prefix: "a_")),
                   \(PostgresStore.personColumns(person: "pm", account: "am", prefix: "m_")),
                   \(PostgresStore.holdingColumns(of: "h", prefix: "holding_"))
            FROM binding b
              LEFT JOIN person pa ON pa.id_number = b.authorizer LEFT JOIN account aa ON aa.id_number = b.authorizer
              LEFT JOIN person pm ON pm.id_number = b.member LEFT JOIN account am ON am.id_number = b.member
              LEFT JOIN wallet_holding h ON h.binding_id = b.id
            WHERE b.id = $1
            """
    }

    /// The next payment's sequence number (its receipt number is made of it).
    enum NextPaymentNumber: StatementText {
        static let sql = "SELECT nextval(pg_get_serial_sequence('payment', 'seq')) AS seq"
    }

    /// Locks every account a settlement's split may debit, the patient's and each authorizer's,
    /// in key order: $1 the patient. One array of keys: `id = x OR id IN (subquery)` made
    /// PostgreSQL scan the whole account table for every settlement (17 ms of its CPU each with
    /// 72,000 accounts).
    enum LockSettlementAccounts: StatementText {
        static let sql = """
            SELECT id_number FROM account
            WHERE id_number = ANY(ARRAY(SELECT authorizer FROM binding WHERE member = $1) || $1::text)
            ORDER BY id_number FOR NO KEY UPDATE
            """
    }

    /// The institution and the patient with paid years and account: $1 institution code, $2 patient.
    enum InstitutionAndPatient: StatementText {
        static let sql = """
            SELECT i.code, i.name AS institution_name, i.kind AS institution_kind, i.region_code AS institution_region, i.valid_from, i.valid_to,
                   \(PostgresStore.personColumns(person: "p", account: "a", prefix: "patient_"))
            FROM (SELECT 1) AS one
              LEFT JOIN institution i ON i.code = $1
              LEFT JOIN person p ON p.id_number = $2 LEFT JOIN account a ON a.id_number = $2
            """
    }

    /// The patient's bindings with their authorizers' accounts, this year's and today's family
    /// use and the wallet holding: $1 patient, $2 year, $3 day (ISO).
    enum PatientBindings: StatementText {
        static let sql = """
            SELECT \(PostgresStore.bindingColumns(of: "b")), a.year AS account_year, a.current_year_fen, a.carry_over_fen,
                   (SELECT COALESCE(SUM(p.amount_fen), 0) FROM settlement_posting p JOIN settlement s ON s.seq = p.settlement_seq
                    WHERE p.binding_id = b.id AND p.settled_year = $2 AND s.status = 'settled')::bigint AS used_this_year,
                   (SELECT COALESCE(SUM(p.amount_fen), 0) FROM settlement_posting p JOIN settlement s ON s.seq = p.settlement_seq
                    WHERE p.binding_id = b.id AND p.settled_year = $2 AND s.settled_on = $3
                      AND s.status = 'settled')::bigint AS used_today,
                   \(PostgresStore.holdingColumns(of: "h", prefix: "holding_"))
            FROM binding b LEFT JOIN account a ON a.id_number = b.authorizer LEFT JOIN wallet_holding h ON h.binding_id = b.id
            WHERE b.member = $1 ORDER BY b.seq
            """
    }
}
