import Foundation
import GongjiCore
import GongjiStorage
import Logging
import PostgresNIO

extension PostgresStore {
    /// Writes `writes` in order within the caller's transaction, as few statements as it can: the
    /// writes go into one statement of data-modifying `WITH` parts (`PostgresWrites`) until one
    /// touches a row an earlier part of the statement writes (its parts see one snapshot), the
    /// statement is full, or a write needs an answer (a settlement's or binding's sequence
    /// number, the removed documents).
    static func apply(_ writes: WriteSet, on c: PostgresConnection, logger: Logger) async throws -> Applied {
        var plan = Statements(now: writes.now)
        for write in writes.writes {
            switch write {
            case .payment(let row):
                // The sequence number first: the receipt number is made of it.
                guard
                    let seq = try await c.row(try Prepared<HotPath.NextPaymentNumber>(), logger: logger)?.int("seq")
                else { throw StoreError(.database, "no payment sequence") }
                plan.applied.sequence = seq
                plan.add(row.numbered(seq), enrollsMember: row.enrollsMember)
            case .settlement(let row):
                try await plan.flush(on: c, logger: logger)
                plan.addNumbered(row)
            case .newBinding(let binding):
                try await plan.flush(on: c, logger: logger)
                plan.addNumbered(binding)
            case .event(let event):
                // Last of all, under the journal's lock (`insertEvents`).
                plan.events.append(event)
            case .removeEvents(let cutoff):
                try await plan.flush(on: c, logger: logger)
                plan.applied.removedEvents += try await removeEvents(before: cutoff, on: c, logger: logger)
            case .removeUnheldDocuments:
                try await plan.flush(on: c, logger: logger)
                plan.applied.removedDocuments += try await c.rows(
                    """
                    DELETE FROM document d
                    WHERE NOT EXISTS (SELECT 1 FROM document_uploader u WHERE u.document_id = d.id)
                      AND NOT EXISTS (SELECT 1 FROM binding b WHERE b.front_document = d.id OR b.back_document = d.id)
                    RETURNING d.id
                    """, logger: logger
                ).map { try $0.string("id") }
            default:
                if let key = write.rowKey, plan.touched.contains(key) { try await plan.flush(on: c, logger: logger) }
                if plan.writes.isFull { try await plan.flush(on: c, logger: logger) }
                plan.add(write)
            }
        }
        try await plan.flush(on: c, logger: logger)
        if !plan.events.isEmpty { try await insertEvents(plan.events, key: nil, now: writes.now, on: c, logger: logger) }
        return plan.applied
    }

    /// R-EVT-1 with several daemons: the events are positioned under `AdvisoryLock.events`,
    /// taken by this statement and held until the transaction ends, so that no transaction
    /// positions events while another that positioned earlier ones has yet to commit — positions
    /// are commit order, and a follower reading past position N never misses one below it (without
    /// the lock followers were measured skipping events: bench/notes.md). One statement takes the
    /// lock (a materialized part every inserted row joins, so no position is drawn before it is
    /// held), records the request's key (`key`, the use case's last write) and inserts the events;
    /// then the transaction commits: the lock covers this statement and the commit only, and
    /// commits with events do not overlap. The commit notifies the daemons' followers.
    static func insertEvents(
        _ events: [AccountEvent], key: (key: IdempotencyKey, result: String)?, now: Int64, on c: PostgresConnection,
        logger: Logger
    ) async throws {
        var b = PostgresBindings()
        let values = events.map { event in
            """
            (\(b.placeholder(event.kind.rawValue))::text, \(b.placeholder(now))::bigint, \(b.placeholder(event.authorizer.value))::text,
              \(b.placeholder(event.member.value))::text, \(b.placeholder(event.memberNameMasked))::text, \(b.placeholder(event.bindingID))::text,
              \(b.placeholder(event.amount?.fen))::bigint, \(b.placeholder(StoredEvent.parts(event)))::text,
              \(b.placeholder(event.institution?.code.value))::text, \(b.placeholder(event.institution?.name))::text,
              \(b.placeholder(event.institution?.kind.rawValue))::text, \(b.placeholder(event.balanceAfter?.fen))::bigint,
              \(b.placeholder(event.reference))::text)
            """
        }
        var recorded = ""
        if let key {
            try b.append(key.key.fingerprint)
            let fingerprint = "$\(b.count)"
            recorded = """
                recorded AS (
                  INSERT INTO idempotency (scope, request_id, fingerprint, result, created_at)
                  VALUES (\(b.placeholder(key.key.scope)), \(b.placeholder(key.key.requestID)), \(fingerprint),
                    \(b.placeholder(key.result)), \(b.placeholder(now)))),
                """
        }
        // Data-modifying WITH parts always run; the notification is sent when the transaction commits.
        let columns =
            "kind, at, authorizer, member, member_name_masked, binding_id, amount_fen, parts, institution_code, "
            + "institution_name, institution_kind, balance_after_fen, reference"
        let sql = """
            WITH held AS MATERIALIZED (SELECT pg_advisory_xact_lock(\(AdvisoryLock.events.arguments)) AS locked),
            \(recorded)
            inserted AS (
              INSERT INTO event (\(columns))
              SELECT v.* FROM (VALUES \(values.joined(separator: ", "))) AS v(\(columns)) CROSS JOIN held
              RETURNING seq)
            SELECT pg_notify('\(PostgresSchema.eventChannel)', '') FROM (SELECT COUNT(*) FROM inserted) AS written
            """
        try await c.run(PostgresQuery(unsafeSQL: sql, binds: b), logger: logger)
    }

    /// Removes the events written before `cutoff` and remembers the newest position removed.
    static func removeEvents(before cutoff: Int64, on c: PostgresConnection, logger: Logger) async throws -> Int {
        let row = try await c.row(
            """
            WITH removed AS (DELETE FROM event WHERE at < \(cutoff) RETURNING seq),
            horizon AS (
              INSERT INTO event_retention (id, removed_through) SELECT 1, MAX(seq) FROM removed HAVING COUNT(*) > 0
              ON CONFLICT (id) DO UPDATE SET removed_through = GREATEST(event_retention.removed_through, excluded.removed_through)
            )
            SELECT COUNT(*)::bigint AS n FROM removed
            """, logger: logger)
        return Int(try row?.int("n") ?? 0)
    }

    /// The statement being built and what the earlier ones assigned.
    struct Statements {
        let now: Int64
        var writes = PostgresWrites()
        var touched = Set<String>()
        var applied = Applied()
        /// Whether the statement being built inserts the numbered row (later parts read it as `first`).
        var numberedInStatement = false
        /// The write-set's events, inserted after everything else.
        var events: [AccountEvent] = []

        init(now: Int64) { self.now = now }

        /// Sends the statement built so far.
        mutating func flush(on c: PostgresConnection, logger: Logger) async throws {
            guard !writes.isEmpty else { return }
            let rows = try await writes.run(on: c, logger: logger)
            if numberedInStatement {
                guard let seq = try rows.first?.int("seq") else { throw StoreError(.database, "a numbered insert returned nothing") }
                applied.sequence = seq
            }
            writes = PostgresWrites()
            touched = []
            numberedInStatement = false
        }

        /// The settlement that later uses refer to: `first` in this statement, or its number.
        var insertedSettlement: String {
            numberedInStatement ? "(SELECT seq FROM first)" : applied.sequence.map { "\($0)::bigint" } ?? "NULL::bigint"
        }

        mutating func addNumbered(_ row: SettlementRow) {
            let record = row.record
            let split = record.split
            let family = (try? StoredFamilyUse.encode(split.family)) ?? "[]"
            numberedInStatement = true
            writes.addReturning { b in
                """
                INSERT INTO settlement (institution_code, settlement_id, region_code, patient, patient_name, amount_fen, acct_pay_fen,
                  acct_mulaid_pay_fen, cash_fen, family, family_zero_note, status, settled_at, settled_on)
                VALUES (\(b.placeholder(record.institution.code.value)), \(b.placeholder(record.settlementID)),
                  \(b.placeholder(Int64(record.institution.region.value))), \(b.placeholder(record.patient.value)), \(b.placeholder(record.patientName)),
                  \(b.placeholder(split.amount.fen)), \(b.placeholder(split.acctPay.fen)), \(b.placeholder(split.acctMulaidPay.fen)),
                  \(b.placeholder(split.cashPay.fen)), \(b.placeholder(family)), \(b.placeholder(split.familyZeroNote?.rawValue)), 'settled',
                  \(b.placeholder(record.settledAt)), \(b.placeholder(row.day.description)))
                RETURNING seq
                """
            }
            guard !split.postings.isEmpty else { return }
            let seq = insertedSettlement
            writes.add { b in
                "INSERT INTO settlement_posting (settlement_seq, position, owner, part, amount_fen, binding_id, account_year, settled_year, from_wallet) VALUES "
                    + split.postings.enumerated().map { position, posting in
                        "(\(seq), \(b.placeholder(Int64(position))), \(b.placeholder(posting.owner.value)), \(b.placeholder(posting.part.rawValue)), "
                            + "\(b.placeholder(posting.amount.fen)), \(b.placeholder(posting.bindingID)), \(b.placeholder(Int64(posting.accountYear))), "
                            + "\(b.placeholder(Int64(row.day.year))), \(b.placeholder(posting.fromWallet)))"
                    }.joined(separator: ", ")
            }
        }

        mutating func addNumbered(_ binding: Binding) {
            let now = self.now
            numberedInStatement = true
            writes.addReturning { b in
                """
                INSERT INTO binding (id, authorizer, member, member_name, relationship, region_code, start_date, status, newborn,
                  commitment_version, commitment_accepted_at, front_document, back_document, medical_limit_fen, settlement_limit_fen,
                  daily_limit_fen, created_at, updated_at)
                VALUES (\(b.placeholder(binding.id)), \(b.placeholder(binding.authorizer.value)), \(b.placeholder(binding.member.value)),
                  \(b.placeholder(binding.memberName)), \(b.placeholder(binding.relationship.rawValue)), \(b.placeholder(Int64(binding.region.value))),
                  \(b.placeholder(binding.startDate.description)), \(b.placeholder(binding.status.rawValue)), \(b.placeholder(binding.isNewborn)),
                  \(b.placeholder(binding.commitment?.version)), \(b.placeholder(binding.commitment?.acceptedAtUnix)),
                  \(b.placeholder(binding.frontDocument)), \(b.placeholder(binding.backDocument)), \(b.placeholder(binding.medicalLimit?.fen)),
                  \(b.placeholder(binding.settlementLimit?.fen)), \(b.placeholder(binding.dailyLimit?.fen)),
                  \(b.placeholder(now)), \(b.placeholder(now)))
                RETURNING seq
                """
            }
            touched.insert("binding:\(binding.id)")
        }

        /// A numbered payment with its years and postings.
        mutating func add(_ record: PaymentRecord, enrollsMember: Bool) {
            let now = self.now
            writes.add { b in
                """
                INSERT INTO payment (seq, id, binding_id, authorizer, member, member_name, authorizer_name, region_code, total_fen, account_fen,
                  external_fen, external_reference, receipt_number, enrolled_member, created_at, from_wallet, kind)
                VALUES (\(b.placeholder(record.seq)), \(b.placeholder(record.id)), \(b.placeholder(record.bindingID)),
                  \(b.placeholder(record.authorizer.value)), \(b.placeholder(record.member.value)), \(b.placeholder(record.memberName)),
                  \(b.placeholder(record.authorizerName)), \(b.placeholder(Int64(record.region.value))), \(b.placeholder(record.total.fen)),
                  \(b.placeholder(record.accountPart.fen)), \(b.placeholder(record.external?.amount.fen ?? 0)),
                  \(b.placeholder(record.external?.reference)), \(b.placeholder(record.receiptNumber)), \(b.placeholder(enrollsMember)),
                  \(b.placeholder(now)), \(b.placeholder(record.fromWallet)), \(b.placeholder(record.kind.rawValue)))
                """
            }
            if !record.lines.isEmpty {
                writes.add { b in
                    "INSERT INTO payment_year (payment_id, member, year, amount_fen, category, late, benefit_start, kind) VALUES "
                        + record.lines.map { line in
                            "(\(b.placeholder(record.id)), \(b.placeholder(record.member.value)), \(b.placeholder(Int64(line.year))), "
                                + "\(b.placeholder(line.amount.fen)), \(b.placeholder(line.category)), \(b.placeholder(line.isLate)), "
                                + "\(b.placeholder(line.benefitStart?.description)), \(b.placeholder(record.kind.rawValue)))"
                        }.joined(separator: ", ")
                }
            }
            if !record.postings.isEmpty {
                writes.add { b in
                    "INSERT INTO payment_posting (payment_id, part, amount_fen) VALUES "
                        + record.postings.map { posting in
                            "(\(b.placeholder(record.id)), \(b.placeholder(posting.part.rawValue)), \(b.placeholder(posting.amount.fen)))"
                        }.joined(separator: ", ")
                }
            }
        }

        /// Any other write, as one or more parts of the statement.
        mutating func add(_ write: Write) {
            let now = self.now
            if let key = write.rowKey { touched.insert(key) }
            switch write {
            case .person(let person, let paidYears):
                let years = Array(Set(paidYears)).sorted().map(Int64.init)
                writes.add { b in
                    """
                    INSERT INTO person (id_number, name, insurance_type, status, region_code, special_category, updated_at)
                    VALUES (\(b.placeholder(person.id.value)), \(b.placeholder(person.name)), \(b.placeholder(person.insuranceType.rawValue)),
                      \(b.placeholder(person.status.rawValue)), \(b.placeholder(Int64(person.region.value))), \(b.placeholder(person.specialCategory)),
                      \(b.placeholder(now)))
                    ON CONFLICT (id_number) DO UPDATE SET name = excluded.name, insurance_type = excluded.insurance_type, status = excluded.status,
                      region_code = excluded.region_code, special_category = excluded.special_category, updated_at = excluded.updated_at
                    """
                }
                // The years no longer named go; the new ones come (disjoint rows: one statement may do both).
                writes.add { b in
                    "DELETE FROM person_paid_year WHERE id_number = \(b.placeholder(person.id.value)) AND year <> ALL(\(b.placeholder(years)))"
                }
                if !years.isEmpty {
                    writes.add { b in
                        "INSERT INTO person_paid_year (id_number, year) SELECT \(b.placeholder(person.id.value)), unnest(\(b.placeholder(years))) "
                            + "ON CONFLICT DO NOTHING"
                    }
                }
            case .openAccount(let account):
                writes.add { b in
                    """
                    INSERT INTO account (id_number, year, current_year_fen, carry_over_fen)
                    VALUES (\(b.placeholder(account.owner.value)), \(b.placeholder(Int64(account.year))), \(b.placeholder(account.currentYear.fen)),
                      \(b.placeholder(account.carryOver.fen)))
                    ON CONFLICT (id_number) DO NOTHING
                    """
                }
            case .account(let account):
                writes.add { b in
                    """
                    UPDATE account SET year = \(b.placeholder(Int64(account.year))), current_year_fen = \(b.placeholder(account.currentYear.fen)),
                      carry_over_fen = \(b.placeholder(account.carryOver.fen)) WHERE id_number = \(b.placeholder(account.owner.value))
                    """
                }
            case .enrollment(let member):
                writes.add { b in
                    """
                    UPDATE person SET insurance_type = \(b.placeholder(member.insuranceType.rawValue)), status = \(b.placeholder(member.status.rawValue)),
                      region_code = \(b.placeholder(Int64(member.region.value))), updated_at = \(b.placeholder(now))
                    WHERE id_number = \(b.placeholder(member.id.value))
                    """
                }
            case .credit(let reference, let owner, let amount):
                writes.add { b in
                    """
                    INSERT INTO account_credit (reference, id_number, amount_fen, created_at)
                    VALUES (\(b.placeholder(reference)), \(b.placeholder(owner.value)), \(b.placeholder(amount.fen)), \(b.placeholder(now)))
                    """
                }
            case .ledger(let movement):
                guard !movement.entries.isEmpty else { return }
                writes.add { b in
                    "INSERT INTO ledger_entry (movement, account, amount_fen, at) VALUES "
                        + movement.entries.map { entry in
                            "(\(b.placeholder(movement.name)), \(b.placeholder(entry.account)), \(b.placeholder(entry.amount.fen)), \(b.placeholder(now)))"
                        }.joined(separator: ", ")
                }
            case .institution(let institution):
                writes.add { b in
                    """
                    INSERT INTO institution (code, name, kind, region_code, valid_from, valid_to, updated_at)
                    VALUES (\(b.placeholder(institution.code.value)), \(b.placeholder(institution.name)), \(b.placeholder(institution.kind.rawValue)),
                      \(b.placeholder(Int64(institution.region.value))), \(b.placeholder(institution.validFrom.description)),
                      \(b.placeholder(institution.validTo?.description)), \(b.placeholder(now)))
                    ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, region_code = excluded.region_code,
                      valid_from = excluded.valid_from, valid_to = excluded.valid_to, updated_at = excluded.updated_at
                    """
                }
            case .availability(let region, let suspended):
                writes.add { b in
                    """
                    INSERT INTO region_availability (region_code, suspended, updated_at)
                    VALUES (\(b.placeholder(Int64(region.value))), \(b.placeholder(suspended)), \(b.placeholder(now)))
                    ON CONFLICT (region_code) DO UPDATE SET suspended = excluded.suspended, updated_at = excluded.updated_at
                    """
                }
            case .rollover(let year, let accounts):
                writes.add { b in
                    "INSERT INTO year_rollover (year, accounts, at) VALUES (\(b.placeholder(Int64(year))), \(b.placeholder(Int64(accounts))), \(b.placeholder(now)))"
                }
            case .bindingState(let binding):
                writes.add { b in
                    """
                    UPDATE binding SET status = \(b.placeholder(binding.status.rawValue)), rejection_reason = \(b.placeholder(binding.rejectionReason)),
                      medical_limit_fen = \(b.placeholder(binding.medicalLimit?.fen)), ended_by = \(b.placeholder(binding.endedBy?.rawValue)),
                      end_reason = \(b.placeholder(binding.endReason)), frozen = \(b.placeholder(binding.isFrozen)),
                      settlement_limit_fen = \(b.placeholder(binding.settlementLimit?.fen)), daily_limit_fen = \(b.placeholder(binding.dailyLimit?.fen)),
                      updated_at = \(b.placeholder(now)) WHERE id = \(b.placeholder(binding.id))
                    """
                }
            case .bindingEvent(let binding, let actor, let reason):
                writes.add { b in
                    """
                    INSERT INTO binding_event (binding_id, status, certificate_identity, end_user, request_id, reason, at)
                    VALUES (\(b.placeholder(binding.id)), \(b.placeholder(binding.status.rawValue)), \(b.placeholder(actor.certificateIdentity)),
                      \(b.placeholder(actor.endUser?.value)), \(b.placeholder(actor.requestID)), \(b.placeholder(reason)), \(b.placeholder(now)))
                    """
                }
            case .settlementReversed(let seq, let day):
                writes.add { b in
                    """
                    UPDATE settlement SET status = 'reversed', reversed_at = \(b.placeholder(now)), reversed_on = \(b.placeholder(day.description))
                    WHERE seq = \(b.placeholder(seq))
                    """
                }
            case .accountUse(let use):
                let settlement: String =
                    switch use.settlement {
                    case nil: "NULL::bigint"
                    case .inserted?: insertedSettlement
                    case .sequence(let seq)?: "\(seq)::bigint"
                    }
                writes.add { b in
                    """
                    INSERT INTO account_use (kind, account_owner, member, member_name, amount_fen, payment_id, settlement_seq, at, reference)
                    VALUES (\(b.placeholder(use.kind.rawValue)), \(b.placeholder(use.owner.value)), \(b.placeholder(use.member.value)),
                      \(b.placeholder(use.memberName)), \(b.placeholder(use.amount.fen)), \(b.placeholder(use.paymentID)), \(settlement), \(b.placeholder(now)),
                      \(b.placeholder(use.reference)))
                    """
                }
            case .document(let document, _):
                writes.add { b in
                    """
                    INSERT INTO document (id, side, media_type, size_bytes, uploaded_at)
                    VALUES (\(b.placeholder(document.id)), \(b.placeholder(document.side.rawValue)), \(b.placeholder(document.mediaType)),
                      \(b.placeholder(Int64(document.size))), \(b.placeholder(now)))
                    """
                }
            case .documentHold(let id, let uploader):
                writes.add { b in
                    """
                    INSERT INTO document_uploader (document_id, uploader, uploaded_at)
                    VALUES (\(b.placeholder(id)), \(b.placeholder(uploader.value)), \(b.placeholder(now)))
                    ON CONFLICT (document_id, uploader) DO UPDATE SET uploaded_at = excluded.uploaded_at
                    """
                }
            case .releaseDocumentHold(let id, let uploader):
                writes.add { b in
                    "DELETE FROM document_uploader WHERE document_id = \(b.placeholder(id)) AND uploader = \(b.placeholder(uploader.value))"
                }
            case .wallet(let wallet):
                writes.add { b in
                    """
                    INSERT INTO wallet (member, province, opened_at)
                    VALUES (\(b.placeholder(wallet.member.value)), \(b.placeholder(Int64(wallet.province.value))), \(b.placeholder(wallet.openedAt)))
                    ON CONFLICT (member) DO NOTHING
                    """
                }
            case .walletTransfer(let t):
                writes.add { b in
                    """
                    INSERT INTO wallet_transfer (id, binding_id, authorizer, member, member_name, current_year_fen, carry_over_fen, account_year,
                      from_province, to_province, status, sent_on, sent_at, return_due_at, resolved_at)
                    VALUES (\(b.placeholder(t.id)), \(b.placeholder(t.bindingID)), \(b.placeholder(t.authorizer.value)), \(b.placeholder(t.member.value)),
                      \(b.placeholder(t.memberName)), \(b.placeholder(t.currentYear.fen)), \(b.placeholder(t.carryOver.fen)),
                      \(b.placeholder(Int64(t.accountYear))), \(b.placeholder(Int64(t.fromProvince.value))), \(b.placeholder(Int64(t.toProvince.value))),
                      \(b.placeholder(t.storedStatus.rawValue)), \(b.placeholder(t.sentOn.description)), \(b.placeholder(t.sentAt)),
                      \(b.placeholder(t.returnDueAt)), \(b.placeholder(t.resolvedAt)))
                    ON CONFLICT (id) DO UPDATE SET status = excluded.status, resolved_at = excluded.resolved_at
                    """
                }
            case .walletHolding(let h):
                writes.add { b in
                    """
                    INSERT INTO wallet_holding (binding_id, member, authorizer, current_year_fen, carry_over_fen, updated_at, from_province,
                      to_province)
                    VALUES (\(b.placeholder(h.bindingID)), \(b.placeholder(h.member.value)), \(b.placeholder(h.authorizer.value)),
                      \(b.placeholder(h.currentYear.fen)), \(b.placeholder(h.carryOver.fen)), \(b.placeholder(now)),
                      \(b.placeholder(h.provinces.map { Int64($0.from.value) }))::bigint, \(b.placeholder(h.provinces.map { Int64($0.to.value) }))::bigint)
                    ON CONFLICT (binding_id) DO UPDATE SET current_year_fen = excluded.current_year_fen,
                      carry_over_fen = excluded.carry_over_fen, updated_at = excluded.updated_at,
                      from_province = COALESCE(excluded.from_province, wallet_holding.from_province),
                      to_province = COALESCE(excluded.to_province, wallet_holding.to_province)
                    """
                }
            case .walletMovement(let m):
                writes.add { b in
                    """
                    INSERT INTO wallet_movement (kind, from_province, to_province, amount_fen, binding_id, reference, at)
                    VALUES (\(b.placeholder(m.kind.rawValue)), \(b.placeholder(Int64(m.provinces.from.value))), \(b.placeholder(Int64(m.provinces.to.value))),
                      \(b.placeholder(m.amount.fen)), \(b.placeholder(m.bindingID)), \(b.placeholder(m.reference)), \(b.placeholder(now)))
                    """
                }
            case .payment, .settlement, .newBinding, .removeUnheldDocuments, .event, .removeEvents:
                preconditionFailure("numbered, answering and journal writes are added by apply")
            }
        }
    }
}

extension Write {
    /// The row a write changes that a later write of the same write-set may change again (so
    /// that they go into different statements), or nil.
    var rowKey: String? {
        switch self {
        case .person(let person, _): "person:\(person.id.value)"
        case .enrollment(let person): "person:\(person.id.value)"
        case .openAccount(let account), .account(let account): "account:\(account.owner.value)"
        case .bindingState(let binding): "binding:\(binding.id)"
        case .documentHold(let id, _), .releaseDocumentHold(let id, _): "hold:\(id)"
        case .institution(let institution): "institution:\(institution.code.value)"
        case .availability(let region, _): "region:\(region)"
        case .wallet(let wallet): "wallet:\(wallet.member.value)"
        case .walletTransfer(let transfer): "transfer:\(transfer.id)"
        case .walletHolding(let holding): "holding:\(holding.bindingID)"
        default: nil
        }
    }
}
