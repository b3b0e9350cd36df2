import Foundation
import GongjiCore
import GongjiStorage
import Logging
import PostgresNIO

// R-XP-*: the wallet's facts. In a mutation the rows are locked in one order — the binding, the
// authorizer's account, then the transfers — the order a premium payment and a settlement keep
// too (binding, then accounts), so that no two of them wait on each other in a circle.
extension PostgresStore {
    static func walletFacts(
        _ request: FactsRequest, locking: Bool, into facts: inout StoredFacts, on c: PostgresConnection, logger: Logger
    ) async throws {
        switch request {
        case .wallet(let member):
            facts.person = try await fetchPerson(member, on: c, logger: logger)
            facts.wallet = try await fetchWallet(member, on: c, logger: logger)
            facts.holdings = try await fetchHoldings(where: "member = $1 ORDER BY binding_id", [member.value], on: c, logger: logger)
        case .walletTransfer(let bindingID, let day):
            if locking { try await lockBindingAndAccount(bindingID, on: c, logger: logger) }
            guard let record = try await fetchBindings(where: "id = $1", [bindingID], on: c, logger: logger).first else { return }
            facts.binding = record
            let people = try await fetchPersons([record.binding.authorizer, record.binding.member], on: c, logger: logger)
            facts.person = people[record.binding.authorizer]
            facts.member = people[record.binding.member]
            facts.wallet = try await fetchWallet(record.binding.member, on: c, logger: logger)
            facts.transfersSentToday = Int(
                try await c.row(
                    """
                    SELECT COUNT(*)::bigint AS n FROM wallet_transfer WHERE authorizer = \(record.binding.authorizer.value) AND sent_on = \(day.description)
                    """, logger: logger)?.int("n") ?? 0)
            facts.transfers = try await fetchTransfers(
                where: "binding_id = $1 AND status = 'pending' ORDER BY seq\(locking ? " FOR UPDATE" : "")", [bindingID], on: c,
                logger: logger)
        case .transfer(let id):
            if locking, let row = try await c.row("SELECT binding_id FROM wallet_transfer WHERE id = \(id)", logger: logger) {
                try await lockBindingAndAccount(try row.string("binding_id"), on: c, logger: logger)
            }
            facts.transfers = try await fetchTransfers(where: "id = $1\(locking ? " FOR UPDATE" : "")", [id], on: c, logger: logger)
            guard let transfer = facts.transfers.first else { return }
            facts.binding = try await fetchBindings(where: "id = $1", [transfer.bindingID], on: c, logger: logger).first
            facts.person = try await fetchPerson(transfer.authorizer, on: c, logger: logger)
            facts.holdings = try await fetchHoldings(where: "binding_id = $1", [transfer.bindingID], on: c, logger: logger)
        case .dueTransfers(let at, let limit):
            if locking {
                // One daemon at a time; the others find the lock taken and skip this round.
                facts.cleanupLockHeld =
                    try await c.row(
                        "SELECT pg_try_advisory_xact_lock(\(unescaped: AdvisoryLock.walletReturn.arguments)) AS locked",
                        logger: logger)?
                    .bool("locked") == true
                guard facts.cleanupLockHeld else { return }
                let due = try await c.rows(
                    """
                    SELECT id, binding_id, authorizer FROM wallet_transfer WHERE status = 'pending' AND return_due_at <= \(at)
                    ORDER BY return_due_at, seq LIMIT \(Int64(limit))
                    """, logger: logger)
                let bindings = Array(Set(try due.map { try $0.string("binding_id") })).sorted()
                if !bindings.isEmpty {
                    try await c.run("SELECT id FROM binding WHERE id = ANY(\(bindings)) ORDER BY id FOR NO KEY UPDATE", logger: logger)
                }
                try await lockAccounts(try due.map { try $0.id("authorizer") }, on: c, logger: logger)
                // Read and locked again after the locks — only those whose bindings and accounts this
                // transaction holds; one that another transaction answered meanwhile is no longer pending.
                facts.transfers = try await fetchTransfers(
                    where: "id = ANY($1) AND status = 'pending' AND return_due_at <= $2 ORDER BY return_due_at, seq FOR UPDATE",
                    [try due.map { try $0.string("id") }, at], on: c, logger: logger)
            } else {
                facts.transfers = try await fetchTransfers(
                    where: "status = 'pending' AND return_due_at <= $1 ORDER BY return_due_at, seq LIMIT $2",
                    [at, Int64(limit)], on: c, logger: logger)
            }
            for owner in Set(facts.transfers.map(\.authorizer)).sorted(by: { $0.value < $1.value }) {
                if let account = try await fetchAccount(owner, on: c, logger: logger) { facts.accounts.append(account) }
            }
        case .walletTransfers(let person, let perspective, let before, let limit):
            let column = perspective == .authorizer ? "authorizer" : "member"
            facts.transfers = try await fetchTransfers(
                where: "\(column) = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3",
                [person.value, before ?? Int64.max, Int64(limit)], on: c, logger: logger)
        case .holdingsFrom(let authorizer):
            facts.holdings = try await fetchHoldings(
                where: "authorizer = $1 AND current_year_fen + carry_over_fen > 0 ORDER BY binding_id", [authorizer.value], on: c,
                logger: logger)
        case .walletMovements(let from, let until):
            facts.walletMovements = try await c.rows(
                "SELECT * FROM wallet_movement WHERE at >= \(from) AND at < \(until) ORDER BY seq", logger: logger
            ).map { row in
                guard let kind = WalletMovement.Kind(rawValue: try row.string("kind")),
                    let from = RegionCode(Int(try row.int("from_province"))), let to = RegionCode(Int(try row.int("to_province")))
                else { throw StoreError(.database, "a wallet movement row does not decode") }
                return WalletMovement(
                    kind: kind, provinces: ProvincePair(from: from, to: to), amount: try row.money("amount_fen"),
                    bindingID: try row.string("binding_id"), reference: try row.string("reference"))
            }
        case .endingBinding(let id):
            if locking { try await lockBindingAndAccount(id, on: c, logger: logger) }
            guard let record = try await fetchBindings(where: "id = $1", [id], on: c, logger: logger).first else { return }
            facts.binding = record
            facts.person = try await fetchPerson(record.binding.authorizer, on: c, logger: logger)
            facts.holdings = try await fetchHoldings(where: "binding_id = $1", [id], on: c, logger: logger)
            facts.transfers = try await fetchTransfers(
                where: "binding_id = $1 AND status = 'pending' ORDER BY seq\(locking ? " FOR UPDATE" : "")", [id], on: c, logger: logger)
        default:
            preconditionFailure("not a wallet request")
        }
    }

    static func fetchWallet(_ member: ResidentID, on c: PostgresConnection, logger: Logger) async throws -> Wallet? {
        guard let row = try await c.row("SELECT * FROM wallet WHERE member = \(member.value)", logger: logger) else { return nil }
        guard let province = RegionCode(Int(try row.int("province"))) else { throw StoreError(.database, "a wallet row does not decode") }
        return Wallet(member: member, province: province, openedAt: try row.int("opened_at"))
    }

    static func fetchHoldings(
        where condition: String, _ arguments: [any PostgresEncodable & Sendable], on c: PostgresConnection, logger: Logger
    ) async throws -> [WalletHolding] {
        return try await c.rows(
            PostgresQuery(
                unsafeSQL: "SELECT \(holdingColumns()) FROM wallet_holding WHERE \(condition)", binds: try PostgresBindings(arguments)),
            logger: logger
        ).compactMap { try decodeHolding($0) }
    }

    /// The columns `decodeHolding` reads, of the table or its alias `table`, each named with
    /// `prefix` (a query that joins the holding to a binding). Named, not `*`: see `bindingColumns`.
    static func holdingColumns(of table: String = "wallet_holding", prefix: String = "") -> String {
        ["member", "binding_id", "authorizer", "current_year_fen", "carry_over_fen", "from_province", "to_province"]
            .map { "\(table).\($0) AS \(prefix)\($0)" }.joined(separator: ", ")
    }

    /// The holding of `holdingColumns(…, prefix:)` in `row`, or nil when the join found none.
    static func decodeHolding(_ row: PostgresRandomAccessRow, prefix: String = "") throws -> WalletHolding? {
        guard let bindingID = try row.optionalString(prefix + "binding_id") else { return nil }
        return WalletHolding(
            member: try row.id(prefix + "member"), bindingID: bindingID, authorizer: try row.id(prefix + "authorizer"),
            currentYear: try row.money(prefix + "current_year_fen"), carryOver: try row.money(prefix + "carry_over_fen"),
            provinces: pair(try row.optionalInt(prefix + "from_province"), try row.optionalInt(prefix + "to_province")))
    }

    static func pair(_ from: Int64?, _ to: Int64?) -> ProvincePair? {
        guard let from = from.flatMap({ RegionCode(Int($0)) }), let to = to.flatMap({ RegionCode(Int($0)) }) else { return nil }
        return ProvincePair(from: from, to: to)
    }

    static func fetchTransfers(
        where condition: String, _ arguments: [any PostgresEncodable & Sendable], on c: PostgresConnection, logger: Logger
    ) async throws -> [WalletTransfer] {
        return try await c.rows(
            PostgresQuery(unsafeSQL: "SELECT * FROM wallet_transfer WHERE \(condition)", binds: try PostgresBindings(arguments)),
            logger: logger
        )
        .map { row in
            guard let status = WalletTransfer.Status(rawValue: try row.string("status")),
                let from = RegionCode(Int(try row.int("from_province"))), let to = RegionCode(Int(try row.int("to_province"))),
                let sentOn = CivilDate(iso: try row.string("sent_on"))
            else { throw StoreError(.database, "a wallet transfer row does not decode") }
            return WalletTransfer(
                id: try row.string("id"), seq: try row.int("seq"), bindingID: try row.string("binding_id"),
                authorizer: try row.id("authorizer"), member: try row.id("member"), memberName: try row.string("member_name"),
                currentYear: try row.money("current_year_fen"), carryOver: try row.money("carry_over_fen"),
                accountYear: Int(try row.int("account_year")), fromProvince: from, toProvince: to, storedStatus: status, sentOn: sentOn,
                sentAt: try row.int("sent_at"), returnDueAt: try row.int("return_due_at"),
                resolvedAt: try row.optionalInt("resolved_at"))
        }
    }
}
