import Foundation
import GongjiCore
import GongjiStorage
import Logging
import PostgresNIO

// The reads of the money paths: payments, account uses, institutions, settlements (the mutations
// are the scripts of GongjiStorage/UseCases.swift; their facts and rows are PostgresStore+Facts/+Apply).

extension PostgresStore {
    // MARK: Premium payments

    /// Payments matching `condition` (`$1` binds `arguments`, a text array), with their years and
    /// postings: three queries for any number of payments.
    static func fetchPayments(
        where condition: String, _ arguments: [String], on c: PostgresConnection,
        logger: Logger
    ) async throws -> [PaymentRecord] {
        var binds = PostgresBindings()
        binds.append(arguments)
        let rows = try await c.rows(
            PostgresQuery(unsafeSQL: "SELECT * FROM payment WHERE \(condition) ORDER BY seq", binds: binds), logger: logger)
        guard !rows.isEmpty else { return [] }
        let ids = try rows.map { try $0.string("id") }
        var lines: [String: [PremiumLine]] = [:]
        for row in try await c.rows("SELECT * FROM payment_year WHERE payment_id = ANY(\(ids)) ORDER BY year", logger: logger) {
            lines[try row.string("payment_id"), default: []].append(
                PremiumLine(
                    year: Int(try row.int("year")), amount: try row.money("amount_fen"), category: try row.optionalString("category"),
                    isLate: try row.bool("late"), benefitStart: try row.optionalString("benefit_start").flatMap(CivilDate.init(iso:))))
        }
        var postings: [String: [Posting]] = [:]
        for row in try await c.rows("SELECT * FROM payment_posting WHERE payment_id = ANY(\(ids)) ORDER BY part DESC", logger: logger) {
            postings[try row.string("payment_id"), default: []].append(
                Posting(part: BalancePart(rawValue: try row.string("part")) ?? .currentYear, amount: try row.money("amount_fen")))
        }
        return try rows.map { row in
            let id = try row.string("id")
            let externalFen = try row.int("external_fen")
            guard let region = RegionCode(Int(try row.int("region_code"))) else {
                throw StoreError(.database, "payment row does not decode")
            }
            return PaymentRecord(
                id: id, bindingID: try row.string("binding_id"), authorizer: try row.id("authorizer"),
                authorizerName: try row.string("authorizer_name"),
                member: try row.id("member"), memberName: try row.string("member_name"), region: region, lines: lines[id] ?? [],
                total: try row.money("total_fen"), postings: postings[id] ?? [],
                external: externalFen > 0
                    ? ExternalPayment(amount: Money(fen: externalFen), reference: try row.optionalString("external_reference") ?? "") : nil,
                receiptNumber: try row.string("receipt_number"), createdAt: try row.int("created_at"), seq: try row.int("seq"),
                fromWallet: try row.bool("from_wallet"), kind: PremiumKind(rawValue: try row.string("kind")) ?? .resident)
        }
    }

    public func payment(id: String) async throws -> PaymentRecord? {
        let logger = self.logger
        return try await read { c in try await Self.fetchPayments(where: "id = ANY($1)", [id], on: c, logger: logger).first }
    }

    public func payment(receiptNumber: String) async throws -> PaymentRecord? {
        let logger = self.logger
        return try await read { c in
            try await Self.fetchPayments(where: "receipt_number = ANY($1)", [receiptNumber], on: c, logger: logger).first
        }
    }

    public func payments(ids: [String]) async throws -> [PaymentRecord] {
        guard !ids.isEmpty else { return [] }
        let logger = self.logger
        return try await read { c in try await Self.fetchPayments(where: "id = ANY($1)", ids, on: c, logger: logger) }
    }

    public func accountUses(
        of person: ResidentID, as perspective: BindingPerspective, before: Int64?, limit: Int
    ) async throws -> [AccountUseRecord] {
        let logger = self.logger
        let condition = perspective == .authorizer ? "u.account_owner = $1" : "u.member = $1 AND u.account_owner <> $1"
        var binds = PostgresBindings()
        binds.append(person.value)
        binds.append(before ?? Int64.max)
        binds.append(Int64(limit))
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT u.*, s.settlement_id, i.code, i.name AS institution_name, i.kind AS institution_kind, i.region_code AS institution_region,
                       i.valid_from, i.valid_to
                FROM account_use u LEFT JOIN settlement s ON s.seq = u.settlement_seq LEFT JOIN institution i ON i.code = s.institution_code
                WHERE \(condition) AND u.seq < $2 ORDER BY u.seq DESC LIMIT $3
                """, binds: binds)
        return try await read(snapshot: false) { c in
            try await c.rows(query, logger: logger).map { row in
                guard let kind = AccountUseRecord.Kind(rawValue: try row.string("kind")) else {
                    throw StoreError(.database, "account_use row does not decode")
                }
                let institution = try row.optionalString("code") == nil ? nil : try Self.decodeInstitution(row, aliased: true)
                return AccountUseRecord(
                    kind: kind, accountOwner: try row.id("account_owner"), member: try row.id("member"),
                    memberName: try row.string("member_name"), amount: try row.money("amount_fen"), at: try row.int("at"),
                    paymentID: try row.optionalString("payment_id"), settlementID: try row.optionalString("settlement_id"),
                    institution: institution, seq: try row.int("seq"), reference: try row.optionalString("reference"))
            }
        }
    }

    // MARK: Institutions and settlements

    static func decodeInstitution(_ row: PostgresRandomAccessRow, aliased: Bool) throws -> Institution {
        let (name, kind, region) =
            aliased ? ("institution_name", "institution_kind", "institution_region") : ("name", "kind", "region_code")
        guard let code = try? InstitutionCode.parse(try row.string("code")), let kind = InstitutionKind(rawValue: try row.string(kind)),
            let region = RegionCode(Int(try row.int(region))), let from = CivilDate(iso: try row.string("valid_from"))
        else { throw StoreError(.database, "institution row does not decode") }
        return Institution(
            code: code, name: try row.string(name), kind: kind, region: region, validFrom: from,
            validTo: try row.optionalString("valid_to").flatMap(CivilDate.init(iso:)))
    }

    static func fetchInstitution(_ code: InstitutionCode, on c: PostgresConnection, logger: Logger) async throws -> Institution? {
        try await c.row("SELECT * FROM institution WHERE code = \(code.value)", logger: logger).map {
            try decodeInstitution($0, aliased: false)
        }
    }

    public func institution(_ code: InstitutionCode) async throws -> Institution? {
        let logger = self.logger
        return try await read(snapshot: false) { c in try await Self.fetchInstitution(code, on: c, logger: logger) }
    }

    public func settlement(institution: InstitutionCode, settlementID: String) async throws -> SettlementRecord? {
        let logger = self.logger
        return try await read { c in
            try await Self.fetchSettlements(
                where: "s.institution_code = ($1)[1] AND s.settlement_id = ($1)[2]", [institution.value, settlementID],
                on: c, logger: logger
            ).first
        }
    }

    public func settlements(
        of institution: InstitutionCode, on day: CivilDate
    ) async throws -> (settled: [SettlementRecord], reversed: [SettlementRecord]) {
        let logger = self.logger
        return try await read { c in
            (
                try await Self.fetchSettlements(
                    where: "s.institution_code = ($1)[1] AND s.settled_on = ($1)[2]", [institution.value, day.description],
                    on: c, logger: logger),
                try await Self.fetchSettlements(
                    where: "s.institution_code = ($1)[1] AND s.reversed_on = ($1)[2]", [institution.value, day.description],
                    on: c, logger: logger)
            )
        }
    }

    public func settlementTotals(region: RegionCode, on day: CivilDate) async throws -> SettlementTotals {
        let logger = self.logger
        return try await read { c in
            var totals = SettlementTotals()
            let region = Int64(region.value)
            if let row = try await c.row(
                """
                SELECT COUNT(*)::bigint AS n, COALESCE(SUM(acct_pay_fen), 0)::bigint AS own, COALESCE(SUM(acct_mulaid_pay_fen), 0)::bigint AS family
                FROM settlement WHERE region_code = \(region) AND settled_on = \(day.description)
                """, logger: logger)
            {
                totals.settledCount = try row.int("n")
                totals.settledAcctPay = try row.money("own")
                totals.settledAcctMulaidPay = try row.money("family")
            }
            if let row = try await c.row(
                """
                SELECT COUNT(*)::bigint AS n, COALESCE(SUM(acct_pay_fen), 0)::bigint AS own, COALESCE(SUM(acct_mulaid_pay_fen), 0)::bigint AS family
                FROM settlement WHERE region_code = \(region) AND reversed_on = \(day.description)
                """, logger: logger)
            {
                totals.reversedCount = try row.int("n")
                totals.reversedAcctPay = try row.money("own")
                totals.reversedAcctMulaidPay = try row.money("family")
            }
            return totals
        }
    }

    /// Settlements matching `condition` (on `s`; `$1` binds `arguments`, a text array), with their
    /// institutions and postings: two queries.
    static func fetchSettlements(
        where condition: String, _ arguments: [String], on c: PostgresConnection, logger: Logger
    ) async throws -> [SettlementRecord] {
        var binds = PostgresBindings()
        binds.append(arguments)
        let rows = try await c.rows(
            PostgresQuery(
                unsafeSQL: """
                    SELECT s.*, i.code, i.name AS institution_name, i.kind AS institution_kind, i.region_code AS institution_region,
                           i.valid_from, i.valid_to
                    FROM settlement s JOIN institution i ON i.code = s.institution_code WHERE \(condition) ORDER BY s.seq
                    """, binds: binds), logger: logger)
        guard !rows.isEmpty else { return [] }
        let seqs = try rows.map { try $0.int("seq") }
        var postings: [Int64: [SettlementPosting]] = [:]
        for row in try await c.rows(
            "SELECT * FROM settlement_posting WHERE settlement_seq = ANY(\(seqs)) ORDER BY settlement_seq, position",
            logger: logger)
        {
            guard let part = BalancePart(rawValue: try row.string("part")) else {
                throw StoreError(.database, "settlement posting does not decode")
            }
            postings[try row.int("settlement_seq"), default: []].append(
                SettlementPosting(
                    owner: try row.id("owner"), part: part, amount: try row.money("amount_fen"),
                    bindingID: try row.optionalString("binding_id"),
                    accountYear: Int(try row.int("account_year")), fromWallet: try row.bool("from_wallet")))
        }
        return try rows.map { row in
            let seq = try row.int("seq")
            let family = try StoredFamilyUse.decode(try row.string("family"))
            let split = SettlementSplit(
                amount: try row.money("amount_fen"), acctPay: try row.money("acct_pay_fen"),
                acctMulaidPay: try row.money("acct_mulaid_pay_fen"),
                cashPay: try row.money("cash_fen"), postings: postings[seq] ?? [], family: family,
                familyZeroNote: try row.optionalString("family_zero_note").flatMap(FamilyFundNote.init(rawValue:)))
            guard let status = SettlementStatus(rawValue: try row.string("status")) else {
                throw StoreError(.database, "settlement row does not decode")
            }
            return SettlementRecord(
                settlementID: try row.string("settlement_id"), institution: try decodeInstitution(row, aliased: true),
                patient: try row.id("patient"), patientName: try row.string("patient_name"), split: split, status: status,
                settledAt: try row.int("settled_at"), reversedAt: try row.optionalInt("reversed_at"), seq: seq)
        }
    }
}
