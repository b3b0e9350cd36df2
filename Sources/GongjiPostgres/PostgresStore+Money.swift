import Foundation
import GongjiCore
import GongjiStore
import Logging
import PostgresNIO

// The two money paths, premium payment and settlement, of one shape: gather, plan, apply, once.

extension PostgresStore {
    // MARK: Premium payments

    /// The facts of a payment in one query (one snapshot): the binding, both people with their
    /// paid years and accounts, and the years paid for the member through Gongji.
    static func premiumFacts(bindingID: String, endUser: ResidentID, policies: PolicyBook, today: CivilDate, on c: PostgresConnection,
                             logger: Logger) async throws -> PremiumFacts {
        let row = try await c.row("""
            SELECT b.*, ARRAY(SELECT y.year FROM payment_year y WHERE y.member = b.member) AS member_payment_years,
                   \(unescaped: personColumns(person: "pa", account: "aa", prefix: "a_")),
                   \(unescaped: personColumns(person: "pm", account: "am", prefix: "m_"))
            FROM binding b
              LEFT JOIN person pa ON pa.id_number = b.authorizer LEFT JOIN account aa ON aa.id_number = b.authorizer
              LEFT JOIN person pm ON pm.id_number = b.member LEFT JOIN account am ON am.id_number = b.member
            WHERE b.id = \(bindingID)
            """, logger: logger)
        let binding = try PartyRules.visible(try row.map(decodeBinding)?.binding, to: endUser)
        guard let row, let authorizer = try decodePerson(row, prefix: "a_", id: binding.authorizer),
              let member = try decodePerson(row, prefix: "m_", id: binding.member)
        else { throw StoreError(.database, "a bound person is missing from the registry") }
        let paid = Set(try row["member_payment_years"].decode([Int64].self).map { Int($0) })
        return PremiumFacts(binding: binding, actor: endUser, authorizer: authorizer, member: member, paidYears: paid, policies: policies, today: today)
    }

    public func premiumFacts(bindingID: String, endUser: ResidentID, policies: PolicyBook, today: CivilDate) async throws -> PremiumFacts {
        let logger = self.logger
        return try await read(snapshot: false) { c in
            try await Self.premiumFacts(bindingID: bindingID, endUser: endUser, policies: policies, today: today, on: c, logger: logger)
        }
    }

    public func pay(_ order: PaymentOrder, endUser: ResidentID, paymentID: String, key: IdempotencyKey?, policies: PolicyBook,
                    today: CivilDate, now: Int64) async throws -> PaymentRecord {
        let logger = self.logger
        return try await once(key, now: now, replay: { previous, c in
            guard let record = try await Self.fetchPayments(where: "id = ANY($1)", [previous], on: c, logger: logger).first else {
                throw StoreError(.database, "idempotent result vanished")
            }
            return record
        }, { c in
            // The binding (its state) and the authorizer's account (its balance) stay as read until commit.
            if let row = try await c.row("SELECT authorizer FROM binding WHERE id = \(order.bindingID) FOR NO KEY UPDATE", logger: logger) {
                try await Self.lockAccounts([try row.id("authorizer")], on: c, logger: logger)
            }
            let facts = try await Self.premiumFacts(bindingID: order.bindingID, endUser: endUser, policies: policies, today: today, on: c, logger: logger)
            let plan = try PremiumRules.pay(order, paymentID: paymentID, facts: facts)
            return (try await Self.apply(plan, now: now, on: c, logger: logger), paymentID)
        })
    }

    /// Writes what `plan` says: the payment's sequence number (and so its receipt number), then
    /// every row of the payment in one statement.
    static func apply(_ plan: PaymentPlan, now: Int64, on c: PostgresConnection, logger: Logger) async throws -> PaymentRecord {
        let binding = plan.binding
        guard let seq = try await c.row("SELECT nextval(pg_get_serial_sequence('payment', 'seq')) AS seq", logger: logger)?.int("seq") else {
            throw StoreError(.database, "no payment sequence")
        }
        let record = PaymentRecord(
            id: plan.paymentID, bindingID: binding.id, authorizer: binding.authorizer, authorizerName: plan.authorizerName,
            member: binding.member, memberName: binding.memberName, region: binding.region, lines: plan.quote.lines,
            total: plan.quote.total, postings: plan.postings, external: plan.external,
            receiptNumber: plan.receiptNumber(sequence: seq), createdAt: now, seq: seq)
        var writes = PostgresWrites()
        writes.updateAccount(plan.authorizerAccount)
        writes.add { b in
            """
            INSERT INTO payment (seq, id, binding_id, authorizer, member, member_name, authorizer_name, region_code, total_fen, account_fen,
              external_fen, external_reference, receipt_number, enrolled_member, created_at)
            VALUES (\(b.placeholder(seq)), \(b.placeholder(record.id)), \(b.placeholder(binding.id)), \(b.placeholder(binding.authorizer.value)),
              \(b.placeholder(binding.member.value)), \(b.placeholder(binding.memberName)), \(b.placeholder(plan.authorizerName)),
              \(b.placeholder(Int64(binding.region.value))), \(b.placeholder(plan.quote.total.fen)), \(b.placeholder(plan.quote.accountPart.fen)),
              \(b.placeholder(plan.external?.amount.fen ?? 0)), \(b.placeholder(plan.external?.reference)), \(b.placeholder(record.receiptNumber)),
              \(b.placeholder(plan.enrollsMember)), \(b.placeholder(now)))
            """
        }
        if !plan.quote.lines.isEmpty {
            writes.add { b in
                "INSERT INTO payment_year (payment_id, member, year, amount_fen, category, late, benefit_start) VALUES " + plan.quote.lines.map { line in
                    "(\(b.placeholder(record.id)), \(b.placeholder(binding.member.value)), \(b.placeholder(Int64(line.year))), "
                        + "\(b.placeholder(line.amount.fen)), \(b.placeholder(line.category)), \(b.placeholder(line.isLate)), "
                        + "\(b.placeholder(line.benefitStart?.description)))"
                }.joined(separator: ", ")
            }
        }
        if !plan.postings.isEmpty {
            writes.add { b in
                "INSERT INTO payment_posting (payment_id, part, amount_fen) VALUES " + plan.postings.map { posting in
                    "(\(b.placeholder(record.id)), \(b.placeholder(posting.part.rawValue)), \(b.placeholder(posting.amount.fen)))"
                }.joined(separator: ", ")
            }
        }
        writes.post(plan.movement, now: now)
        writes.recordUses(.premium, [(binding.authorizer, plan.quote.accountPart)], member: binding.member, memberName: binding.memberName,
                          paymentID: record.id, settlementSeq: nil, now: now)
        if let member = plan.enrolledMember {
            writes.add { b in
                """
                UPDATE person SET insurance_type = \(b.placeholder(member.insuranceType.rawValue)), status = \(b.placeholder(member.status.rawValue)),
                  region_code = \(b.placeholder(Int64(member.region.value))), updated_at = \(b.placeholder(now))
                WHERE id_number = \(b.placeholder(member.id.value))
                """
            }
        }
        _ = try await writes.run(on: c, logger: logger)
        return record
    }

    /// Payments matching `condition` (`$1` binds `arguments`, a text array), with their years and
    /// postings: three queries for any number of payments.
    static func fetchPayments(where condition: String, _ arguments: [String], on c: PostgresConnection,
                              logger: Logger) async throws -> [PaymentRecord] {
        var binds = PostgresBindings()
        binds.append(arguments)
        let rows = try await c.rows(PostgresQuery(unsafeSQL: "SELECT * FROM payment WHERE \(condition) ORDER BY seq", binds: binds), logger: logger)
        guard !rows.isEmpty else { return [] }
        let ids = try rows.map { try $0.string("id") }
        var lines: [String: [PremiumLine]] = [:]
        for row in try await c.rows("SELECT * FROM payment_year WHERE payment_id = ANY(\(ids)) ORDER BY year", logger: logger) {
            lines[try row.string("payment_id"), default: []].append(PremiumLine(
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
            guard let region = RegionCode(Int(try row.int("region_code"))) else { throw StoreError(.database, "payment row does not decode") }
            return PaymentRecord(
                id: id, bindingID: try row.string("binding_id"), authorizer: try row.id("authorizer"), authorizerName: try row.string("authorizer_name"),
                member: try row.id("member"), memberName: try row.string("member_name"), region: region, lines: lines[id] ?? [],
                total: try row.money("total_fen"), postings: postings[id] ?? [],
                external: externalFen > 0 ? ExternalPayment(amount: Money(fen: externalFen), reference: try row.optionalString("external_reference") ?? "") : nil,
                receiptNumber: try row.string("receipt_number"), createdAt: try row.int("created_at"), seq: try row.int("seq"))
        }
    }

    public func payment(id: String) async throws -> PaymentRecord? {
        let logger = self.logger
        return try await read { c in try await Self.fetchPayments(where: "id = ANY($1)", [id], on: c, logger: logger).first }
    }

    public func payment(receiptNumber: String) async throws -> PaymentRecord? {
        let logger = self.logger
        return try await read { c in try await Self.fetchPayments(where: "receipt_number = ANY($1)", [receiptNumber], on: c, logger: logger).first }
    }

    public func payments(ids: [String]) async throws -> [PaymentRecord] {
        guard !ids.isEmpty else { return [] }
        let logger = self.logger
        return try await read { c in try await Self.fetchPayments(where: "id = ANY($1)", ids, on: c, logger: logger) }
    }

    public func accountUses(of person: ResidentID, as perspective: BindingPerspective, before: Int64?, limit: Int) async throws -> [AccountUseRecord] {
        let logger = self.logger
        let condition = perspective == .authorizer ? "u.account_owner = $1" : "u.member = $1 AND u.account_owner <> $1"
        var binds = PostgresBindings()
        binds.append(person.value)
        binds.append(before ?? Int64.max)
        binds.append(Int64(limit))
        let query = PostgresQuery(unsafeSQL: """
            SELECT u.*, s.settlement_id, i.code, i.name AS institution_name, i.kind AS institution_kind, i.region_code AS institution_region,
                   i.valid_from, i.valid_to
            FROM account_use u LEFT JOIN settlement s ON s.seq = u.settlement_seq LEFT JOIN institution i ON i.code = s.institution_code
            WHERE \(condition) AND u.seq < $2 ORDER BY u.seq DESC LIMIT $3
            """, binds: binds)
        return try await read(snapshot: false) { c in
            try await c.rows(query, logger: logger).map { row in
                guard let kind = AccountUseRecord.Kind(rawValue: try row.string("kind")) else { throw StoreError(.database, "account_use row does not decode") }
                let institution = try row.optionalString("code") == nil ? nil : try Self.decodeInstitution(row, aliased: true)
                return AccountUseRecord(kind: kind, accountOwner: try row.id("account_owner"), member: try row.id("member"),
                                        memberName: try row.string("member_name"), amount: try row.money("amount_fen"), at: try row.int("at"),
                                        paymentID: try row.optionalString("payment_id"), settlementID: try row.optionalString("settlement_id"),
                                        institution: institution, seq: try row.int("seq"))
            }
        }
    }

    // MARK: Institutions and settlements

    static func upsert(_ institution: Institution, now: Int64, on c: PostgresConnection, logger: Logger) async throws -> Bool {
        let existed = try await c.row("SELECT 1 AS one FROM institution WHERE code = \(institution.code.value)", logger: logger) != nil
        try await c.run("""
            INSERT INTO institution (code, name, kind, region_code, valid_from, valid_to, updated_at)
            VALUES (\(institution.code.value), \(institution.name), \(institution.kind.rawValue), \(Int64(institution.region.value)),
                    \(institution.validFrom.description), \(institution.validTo?.description), \(now))
            ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, region_code = excluded.region_code,
              valid_from = excluded.valid_from, valid_to = excluded.valid_to, updated_at = excluded.updated_at
            """, logger: logger)
        return !existed
    }

    static func decodeInstitution(_ row: PostgresRandomAccessRow, aliased: Bool) throws -> Institution {
        let (name, kind, region) = aliased ? ("institution_name", "institution_kind", "institution_region") : ("name", "kind", "region_code")
        guard let code = try? InstitutionCode.parse(try row.string("code")), let kind = InstitutionKind(rawValue: try row.string(kind)),
              let region = RegionCode(Int(try row.int(region))), let from = CivilDate(iso: try row.string("valid_from"))
        else { throw StoreError(.database, "institution row does not decode") }
        return Institution(code: code, name: try row.string(name), kind: kind, region: region, validFrom: from,
                           validTo: try row.optionalString("valid_to").flatMap(CivilDate.init(iso:)))
    }

    static func fetchInstitution(_ code: InstitutionCode, on c: PostgresConnection, logger: Logger) async throws -> Institution? {
        try await c.row("SELECT * FROM institution WHERE code = \(code.value)", logger: logger).map { try decodeInstitution($0, aliased: false) }
    }

    public func upsertInstitution(_ institution: Institution, key: IdempotencyKey?, now: Int64) async throws -> (institution: Institution, created: Bool) {
        let logger = self.logger
        return try await once(key, now: now, replay: { previous, c in
            guard let stored = try await Self.fetchInstitution(institution.code, on: c, logger: logger) else {
                throw StoreError(.database, "idempotent result vanished")
            }
            return (stored, previous == "created")
        }, { c in
            let created = try await Self.upsert(institution, now: now, on: c, logger: logger)
            return ((institution, created), created ? "created" : "replaced")
        })
    }

    public func institution(_ code: InstitutionCode) async throws -> Institution? {
        let logger = self.logger
        return try await read(snapshot: false) { c in try await Self.fetchInstitution(code, on: c, logger: logger) }
    }

    /// The facts of a settlement in two queries: the institution with the patient (and his or
    /// her account), then the patient's bindings, each with its authorizer's account and this
    /// year's medical use.
    static func settlementFacts(_ order: SettlementOrder, scope: InstitutionScope, policies: PolicyBook, today: CivilDate,
                                on c: PostgresConnection, logger: Logger) async throws -> SettlementFacts {
        let code = try? InstitutionCode.parse(order.institutionCode)
        let patientID = try? ResidentID.parse(order.patientIDNumber, today: today)
        let patientNumber = patientID?.value ?? ""
        let row = try await c.row("""
            SELECT i.code, i.name AS institution_name, i.kind AS institution_kind, i.region_code AS institution_region, i.valid_from, i.valid_to,
                   \(unescaped: personColumns(person: "p", account: "a", prefix: "patient_"))
            FROM (SELECT 1) AS one
              LEFT JOIN institution i ON i.code = \(code?.value ?? "")
              LEFT JOIN person p ON p.id_number = \(patientNumber) LEFT JOIN account a ON a.id_number = \(patientNumber)
            """, logger: logger)
        let institution = try row.flatMap { try $0.optionalString("code") == nil ? nil : try decodeInstitution($0, aliased: true) }
        let patient = try patientID.flatMap { id in try row.flatMap { try decodePerson($0, prefix: "patient_", id: id) } }
        var bindings: [FamilyBinding] = []
        if let patientID {
            for row in try await c.rows("""
                SELECT b.*, a.year AS account_year, a.current_year_fen, a.carry_over_fen,
                       (SELECT COALESCE(SUM(p.amount_fen), 0) FROM settlement_posting p JOIN settlement s ON s.seq = p.settlement_seq
                        WHERE p.binding_id = b.id AND p.settled_year = \(Int64(today.year)) AND s.status = 'settled')::bigint AS used_this_year
                FROM binding b LEFT JOIN account a ON a.id_number = b.authorizer
                WHERE b.member = \(patientID.value) ORDER BY b.seq
                """, logger: logger) {
                let binding = try decodeBinding(row).binding
                bindings.append(FamilyBinding(binding: binding, authorizerAccount: try decodeAccount(row, prefix: "", owner: binding.authorizer),
                                              policy: policies.policy(of: binding.region), usedThisYear: try row.money("used_this_year")))
            }
        }
        return SettlementFacts(scope: scope, institution: institution, patient: patient,
                               patientPolicy: patient.flatMap { policies.policy(of: $0.person.region) }, bindings: bindings, today: today)
    }

    public func preSettle(_ order: SettlementOrder, scope: InstitutionScope, policies: PolicyBook, today: CivilDate) async throws -> SettlementSplit {
        let logger = self.logger
        return try await read { c in
            try SettlementRules.preSettle(order, facts: try await Self.settlementFacts(order, scope: scope, policies: policies, today: today,
                                                                                        on: c, logger: logger))
        }
    }

    public func settle(_ order: SettlementOrder, scope: InstitutionScope, key: IdempotencyKey, policies: PolicyBook, today: CivilDate,
                       now: Int64) async throws -> SettlementRecord {
        let logger = self.logger
        return try await once(key, now: now, replay: { previous, c in
            guard let record = try await Self.fetchSettlements(where: "s.seq = ($1)[1]::bigint", [previous], on: c, logger: logger).first else {
                throw StoreError(.database, "idempotent result vanished")
            }
            return record
        }, { c in
            // Every account the split may debit (the patient's and each authorizer's), so that the
            // balances and this year's use of each binding stay as read until commit.
            // In ID order, so that transactions locking several never deadlock each other.
            if let patient = try? ResidentID.parse(order.patientIDNumber, today: today) {
                try await c.run("""
                    SELECT id_number FROM account
                    WHERE id_number = \(patient.value) OR id_number IN (SELECT authorizer FROM binding WHERE member = \(patient.value))
                    ORDER BY id_number FOR NO KEY UPDATE
                    """, logger: logger)
            }
            let facts = try await Self.settlementFacts(order, scope: scope, policies: policies, today: today, on: c, logger: logger)
            let record = try await Self.apply(try SettlementRules.settle(order, facts: facts), today: today, now: now, on: c, logger: logger)
            return (record, String(record.seq))
        })
    }

    /// Writes what `plan` says in one statement: the settlement (which numbers it), its postings,
    /// the debited accounts, the ledger and the deduction lists.
    static func apply(_ plan: SettlementPlan, today: CivilDate, now: Int64, on c: PostgresConnection, logger: Logger) async throws -> SettlementRecord {
        let split = plan.split
        let family = String(decoding: try JSONEncoder().encode(split.family.map(PostgresFamilyUse.init)), as: UTF8.self)
        var writes = PostgresWrites()
        writes.addReturning { b in
            """
            INSERT INTO settlement (institution_code, settlement_id, region_code, patient, patient_name, amount_fen, acct_pay_fen,
              acct_mulaid_pay_fen, cash_fen, family, family_zero_note, status, settled_at, settled_on)
            VALUES (\(b.placeholder(plan.institution.code.value)), \(b.placeholder(plan.settlementID)),
              \(b.placeholder(Int64(plan.institution.region.value))), \(b.placeholder(plan.patient.id.value)), \(b.placeholder(plan.patient.name)),
              \(b.placeholder(split.amount.fen)), \(b.placeholder(split.acctPay.fen)), \(b.placeholder(split.acctMulaidPay.fen)),
              \(b.placeholder(split.cashPay.fen)), \(b.placeholder(family)), \(b.placeholder(split.familyZeroNote?.rawValue)), 'settled',
              \(b.placeholder(now)), \(b.placeholder(today.description)))
            RETURNING seq
            """
        }
        let seqSQL = "(SELECT seq FROM first)"
        for account in plan.accounts { writes.updateAccount(account) }
        if !split.postings.isEmpty {
            writes.add { b in
                "INSERT INTO settlement_posting (settlement_seq, position, owner, part, amount_fen, binding_id, account_year, settled_year) VALUES "
                    + split.postings.enumerated().map { position, posting in
                        "(\(seqSQL), \(b.placeholder(Int64(position))), \(b.placeholder(posting.owner.value)), \(b.placeholder(posting.part.rawValue)), "
                            + "\(b.placeholder(posting.amount.fen)), \(b.placeholder(posting.bindingID)), \(b.placeholder(Int64(posting.accountYear))), "
                            + "\(b.placeholder(Int64(today.year))))"
                    }.joined(separator: ", ")
            }
        }
        writes.post(plan.movement, now: now)
        writes.recordUses(.settlement, usesByOwner(split.postings), member: plan.patient.id, memberName: plan.patient.name, paymentID: nil,
                          settlementSeq: seqSQL, now: now)
        guard let seq = try await writes.run(on: c, logger: logger).first?.int("seq") else {
            throw StoreError(.database, "settlement insert returned nothing")
        }
        return SettlementRecord(settlementID: plan.settlementID, institution: plan.institution, patient: plan.patient.id,
                                patientName: plan.patient.name, split: split, status: .settled, settledAt: now, reversedAt: nil, seq: seq)
    }

    /// What each owner's account gave (or got back), in the order of the postings.
    static func usesByOwner(_ postings: [SettlementPosting]) -> [(owner: ResidentID, amount: Money)] {
        var amounts: [(owner: ResidentID, amount: Money)] = []
        for posting in postings {
            if let index = amounts.firstIndex(where: { $0.owner == posting.owner }) {
                amounts[index].amount = amounts[index].amount.adding(posting.amount)!
            } else {
                amounts.append((posting.owner, posting.amount))
            }
        }
        return amounts
    }

    public func reverseSettlement(institution: InstitutionCode, settlementID: String, policies: PolicyBook, today: CivilDate,
                                  now: Int64) async throws -> SettlementRecord {
        let logger = self.logger
        return try await transaction { c in
            try await c.run("""
                SELECT seq FROM settlement WHERE institution_code = \(institution.value) AND settlement_id = \(settlementID) FOR NO KEY UPDATE
                """, logger: logger)
            guard let record = try await Self.fetchSettlements(where: "s.institution_code = ($1)[1] AND s.settlement_id = ($1)[2]",
                                                               [institution.value, settlementID], on: c, logger: logger).first
            else { throw SettlementRules.notFound(institution.value, settlementID) }
            try await Self.lockAccounts(record.split.postings.map(\.owner), on: c, logger: logger)
            var accounts: [PersonalAccount] = []
            for owner in Set(record.split.postings.map(\.owner)) {
                guard let account = try await Self.fetchAccount(owner, on: c, logger: logger) else { throw StoreError(.database, "a debited account is missing") }
                accounts.append(account)
            }
            let terms = policies.policy(of: record.institution.region)?.settlementTerms ?? .defaults
            guard let plan = try SettlementRules.reverse(record, accounts: accounts, terms: terms, today: today) else { return record }
            var writes = PostgresWrites()
            for account in plan.accounts { writes.updateAccount(account) }
            writes.add { b in
                """
                UPDATE settlement SET status = 'reversed', reversed_at = \(b.placeholder(now)), reversed_on = \(b.placeholder(today.description))
                WHERE seq = \(b.placeholder(record.seq))
                """
            }
            writes.post(plan.movement, now: now)
            writes.recordUses(.reversal, Self.usesByOwner(plan.credits), member: record.patient, memberName: record.patientName, paymentID: nil,
                              settlementSeq: "\(record.seq)::bigint", now: now)
            _ = try await writes.run(on: c, logger: logger)
            var reversed = record
            reversed.status = .reversed
            reversed.reversedAt = now
            return reversed
        }
    }

    public func settlement(institution: InstitutionCode, settlementID: String) async throws -> SettlementRecord? {
        let logger = self.logger
        return try await read { c in
            try await Self.fetchSettlements(where: "s.institution_code = ($1)[1] AND s.settlement_id = ($1)[2]", [institution.value, settlementID],
                                            on: c, logger: logger).first
        }
    }

    public func settlements(of institution: InstitutionCode, on day: CivilDate) async throws -> (settled: [SettlementRecord], reversed: [SettlementRecord]) {
        let logger = self.logger
        return try await read { c in
            (try await Self.fetchSettlements(where: "s.institution_code = ($1)[1] AND s.settled_on = ($1)[2]", [institution.value, day.description],
                                             on: c, logger: logger),
             try await Self.fetchSettlements(where: "s.institution_code = ($1)[1] AND s.reversed_on = ($1)[2]", [institution.value, day.description],
                                             on: c, logger: logger))
        }
    }

    public func settlementTotals(region: RegionCode, on day: CivilDate) async throws -> SettlementTotals {
        let logger = self.logger
        return try await read { c in
            var totals = SettlementTotals()
            let region = Int64(region.value)
            if let row = try await c.row("""
                SELECT COUNT(*)::bigint AS n, COALESCE(SUM(acct_pay_fen), 0)::bigint AS own, COALESCE(SUM(acct_mulaid_pay_fen), 0)::bigint AS family
                FROM settlement WHERE region_code = \(region) AND settled_on = \(day.description)
                """, logger: logger) {
                totals.settledCount = try row.int("n")
                totals.settledAcctPay = try row.money("own")
                totals.settledAcctMulaidPay = try row.money("family")
            }
            if let row = try await c.row("""
                SELECT COUNT(*)::bigint AS n, COALESCE(SUM(acct_pay_fen), 0)::bigint AS own, COALESCE(SUM(acct_mulaid_pay_fen), 0)::bigint AS family
                FROM settlement WHERE region_code = \(region) AND reversed_on = \(day.description)
                """, logger: logger) {
                totals.reversedCount = try row.int("n")
                totals.reversedAcctPay = try row.money("own")
                totals.reversedAcctMulaidPay = try row.money("family")
            }
            return totals
        }
    }

    /// Settlements matching `condition` (on `s`; `$1` binds `arguments`, a text array), with their
    /// institutions and postings: two queries.
    static func fetchSettlements(where condition: String, _ arguments: [String], on c: PostgresConnection, logger: Logger) async throws -> [SettlementRecord] {
        var binds = PostgresBindings()
        binds.append(arguments)
        let rows = try await c.rows(PostgresQuery(unsafeSQL: """
            SELECT s.*, i.code, i.name AS institution_name, i.kind AS institution_kind, i.region_code AS institution_region,
                   i.valid_from, i.valid_to
            FROM settlement s JOIN institution i ON i.code = s.institution_code WHERE \(condition) ORDER BY s.seq
            """, binds: binds), logger: logger)
        guard !rows.isEmpty else { return [] }
        let seqs = try rows.map { try $0.int("seq") }
        var postings: [Int64: [SettlementPosting]] = [:]
        for row in try await c.rows("SELECT * FROM settlement_posting WHERE settlement_seq = ANY(\(seqs)) ORDER BY settlement_seq, position",
                                    logger: logger) {
            guard let part = BalancePart(rawValue: try row.string("part")) else { throw StoreError(.database, "settlement posting does not decode") }
            postings[try row.int("settlement_seq"), default: []].append(SettlementPosting(
                owner: try row.id("owner"), part: part, amount: try row.money("amount_fen"), bindingID: try row.optionalString("binding_id"),
                accountYear: Int(try row.int("account_year"))))
        }
        return try rows.map { row in
            let seq = try row.int("seq")
            let family = try JSONDecoder().decode([PostgresFamilyUse].self, from: Data(try row.string("family").utf8)).map { try $0.use() }
            let split = SettlementSplit(
                amount: try row.money("amount_fen"), acctPay: try row.money("acct_pay_fen"), acctMulaidPay: try row.money("acct_mulaid_pay_fen"),
                cashPay: try row.money("cash_fen"), postings: postings[seq] ?? [], family: family,
                familyZeroNote: try row.optionalString("family_zero_note").flatMap(FamilyFundNote.init(rawValue:)))
            guard let status = SettlementStatus(rawValue: try row.string("status")) else { throw StoreError(.database, "settlement row does not decode") }
            return SettlementRecord(settlementID: try row.string("settlement_id"), institution: try decodeInstitution(row, aliased: true),
                                    patient: try row.id("patient"), patientName: try row.string("patient_name"), split: split, status: status,
                                    settledAt: try row.int("settled_at"), reversedAt: try row.optionalInt("reversed_at"), seq: seq)
        }
    }
}

/// How a settlement's per-binding uses are kept (JSON in `settlement.family`, as in SQLite).
struct PostgresFamilyUse: Codable {
    var binding: String
    var authorizer: String
    var fen: Int64
    var note: String?

    init(_ use: FamilyFundUse) {
        binding = use.bindingID
        authorizer = use.authorizer.value
        fen = use.amount.fen
        note = use.note?.rawValue
    }

    func use() throws -> FamilyFundUse {
        FamilyFundUse(bindingID: binding, authorizer: try PostgresStore.storedID(authorizer), amount: Money(fen: fen),
                      note: note.flatMap(FamilyFundNote.init(rawValue:)))
    }
}
