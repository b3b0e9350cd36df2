import Foundation
import GRDB
import GongjiCore
import GongjiStorage

// R-XP-*: the wallet's facts and writes (SQLite has one writer: nothing to lock).
extension SQLiteStore {
    /// The facts of the wallet's requests.
    static func walletFacts(_ request: FactsRequest, into facts: inout StoredFacts, in db: Database) throws {
        switch request {
        case .wallet(let member):
            facts.person = try fetchPerson(member, in: db)
            facts.wallet = try fetchWallet(member, in: db)
            facts.holdings = try fetchHoldings(where: "member = ? ORDER BY binding_id", [member.value], in: db)
        case .walletTransfer(let bindingID, let day):
            guard let record = try fetchBinding(id: bindingID, in: db) else { return }
            facts.binding = record
            facts.person = try fetchPerson(record.binding.authorizer, in: db)
            facts.member = try fetchPerson(record.binding.member, in: db)
            facts.wallet = try fetchWallet(record.binding.member, in: db)
            facts.transfersSentToday =
                try Int.fetchOne(
                    db.cachedStatement(sql: "SELECT COUNT(*) FROM wallet_transfer WHERE authorizer = ? AND sent_on = ?"),
                    arguments: [record.binding.authorizer.value, day.description]) ?? 0
            facts.transfers = try fetchTransfers(where: "binding_id = ? AND status = 'pending' ORDER BY seq", [bindingID], in: db)
        case .transfer(let id):
            facts.transfers = try fetchTransfers(where: "id = ?", [id], in: db)
            guard let transfer = facts.transfers.first else { return }
            facts.binding = try fetchBinding(id: transfer.bindingID, in: db)
            facts.person = try fetchPerson(transfer.authorizer, in: db)
            facts.holdings = try fetchHoldings(where: "binding_id = ?", [transfer.bindingID], in: db)
        case .dueTransfers(let at, let limit):
            facts.transfers = try fetchTransfers(
                where: "status = 'pending' AND return_due_at <= ? ORDER BY return_due_at, seq LIMIT ?", [at, limit], in: db)
            for owner in Set(facts.transfers.map(\.authorizer)).sorted(by: { $0.value < $1.value }) {
                if let account = try fetchAccount(owner, in: db) { facts.accounts.append(account) }
            }
        case .walletTransfers(let person, let perspective, let before, let limit):
            let column = perspective == .authorizer ? "authorizer" : "member"
            facts.transfers = try fetchTransfers(
                where: "\(column) = ? AND seq < ? ORDER BY seq DESC LIMIT ?", [person.value, before ?? Int64.max, limit], in: db)
        case .holdingsFrom(let authorizer):
            facts.holdings = try fetchHoldings(
                where: "authorizer = ? AND current_year_fen + carry_over_fen > 0 ORDER BY binding_id", [authorizer.value], in: db)
        case .walletMovements(let from, let until):
            facts.walletMovements = try Row.fetchAll(
                db.cachedStatement(sql: "SELECT * FROM wallet_movement WHERE at >= ? AND at < ? ORDER BY seq"), arguments: [from, until]
            ).map { row in
                guard let kind = WalletMovement.Kind(rawValue: row["kind"]), let from = RegionCode(row["from_province"] as Int),
                    let to = RegionCode(row["to_province"] as Int)
                else { throw StoreError(.database, "a wallet movement row does not decode") }
                return WalletMovement(
                    kind: kind, provinces: ProvincePair(from: from, to: to), amount: Money(fen: row["amount_fen"]),
                    bindingID: row["binding_id"],
                    reference: row["reference"])
            }
        case .endingBinding(let id):
            guard let record = try fetchBinding(id: id, in: db) else { return }
            facts.binding = record
            facts.person = try fetchPerson(record.binding.authorizer, in: db)
            facts.holdings = try fetchHoldings(where: "binding_id = ?", [id], in: db)
            facts.transfers = try fetchTransfers(where: "binding_id = ? AND status = 'pending' ORDER BY seq", [id], in: db)
        default:
            preconditionFailure("not a wallet request")
        }
    }

    /// Applies one of the wallet's writes.
    static func applyWallet(_ write: Write, now: Int64, in db: Database) throws {
        switch write {
        case .wallet(let wallet):
            try db.cachedStatement(sql: "INSERT INTO wallet (member, province, opened_at) VALUES (?, ?, ?) ON CONFLICT (member) DO NOTHING")
                .execute(arguments: [wallet.member.value, wallet.province.value, wallet.openedAt])
        case .walletTransfer(let t):
            try db.cachedStatement(
                sql: """
                    INSERT INTO wallet_transfer (id, binding_id, authorizer, member, member_name, current_year_fen, carry_over_fen, account_year,
                      from_province, to_province, status, sent_on, sent_at, return_due_at, resolved_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET status = excluded.status, resolved_at = excluded.resolved_at
                    """
            ).execute(arguments: [
                t.id, t.bindingID, t.authorizer.value, t.member.value, t.memberName, t.currentYear.fen, t.carryOver.fen, t.accountYear,
                t.fromProvince.value, t.toProvince.value, t.storedStatus.rawValue, t.sentOn.description, t.sentAt, t.returnDueAt,
                t.resolvedAt,
            ])
        case .walletHolding(let h):
            try db.cachedStatement(
                sql: """
                    INSERT INTO wallet_holding (binding_id, member, authorizer, current_year_fen, carry_over_fen, updated_at, from_province,
                      to_province)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (binding_id) DO UPDATE SET current_year_fen = excluded.current_year_fen,
                      carry_over_fen = excluded.carry_over_fen, updated_at = excluded.updated_at,
                      from_province = COALESCE(excluded.from_province, wallet_holding.from_province),
                      to_province = COALESCE(excluded.to_province, wallet_holding.to_province)
                    """
            ).execute(arguments: [
                h.bindingID, h.member.value, h.authorizer.value, h.currentYear.fen, h.carryOver.fen, now, h.provinces?.from.value,
                h.provinces?.to.value,
            ])
        case .walletMovement(let m):
            try db.cachedStatement(
                sql: """
                    INSERT INTO wallet_movement (kind, from_province, to_province, amount_fen, binding_id, reference, at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                m.kind.rawValue, m.provinces.from.value, m.provinces.to.value, m.amount.fen, m.bindingID, m.reference, now,
            ])
        default:
            preconditionFailure("not a wallet write")
        }
    }

    static func fetchWallet(_ member: ResidentID, in db: Database) throws -> Wallet? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM wallet WHERE member = ?"), arguments: [member.value]).map { row in
            guard let province = RegionCode(row["province"] as Int) else { throw StoreError(.database, "a wallet row does not decode") }
            return Wallet(member: member, province: province, openedAt: row["opened_at"])
        }
    }

    static func fetchHoldings(where condition: String, _ arguments: StatementArguments, in db: Database) throws -> [WalletHolding] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM wallet_holding WHERE \(condition)"), arguments: arguments).map { row in
            WalletHolding(
                member: try ResidentID.stored(row["member"]), bindingID: row["binding_id"],
                authorizer: try ResidentID.stored(row["authorizer"]),
                currentYear: Money(fen: row["current_year_fen"]), carryOver: Money(fen: row["carry_over_fen"]),
                provinces: pair(row["from_province"], row["to_province"]))
        }
    }

    static func pair(_ from: Int?, _ to: Int?) -> ProvincePair? {
        guard let from = from.flatMap(RegionCode.init), let to = to.flatMap(RegionCode.init) else { return nil }
        return ProvincePair(from: from, to: to)
    }

    static func fetchTransfers(where condition: String, _ arguments: StatementArguments, in db: Database) throws -> [WalletTransfer] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM wallet_transfer WHERE \(condition)"), arguments: arguments).map { row in
            guard let status = WalletTransfer.Status(rawValue: row["status"]), let from = RegionCode(row["from_province"] as Int),
                let to = RegionCode(row["to_province"] as Int), let sentOn = CivilDate(iso: row["sent_on"])
            else { throw StoreError(.database, "a wallet transfer row does not decode") }
            return WalletTransfer(
                id: row["id"], seq: row["seq"], bindingID: row["binding_id"], authorizer: try ResidentID.stored(row["authorizer"]),
                member: try ResidentID.stored(row["member"]), memberName: row["member_name"],
                currentYear: Money(fen: row["current_year_fen"]),
                carryOver: Money(fen: row["carry_over_fen"]), accountYear: row["account_year"], fromProvince: from, toProvince: to,
                storedStatus: status, sentOn: sentOn, sentAt: row["sent_at"], returnDueAt: row["return_due_at"],
                resolvedAt: row["resolved_at"])
        }
    }
}
