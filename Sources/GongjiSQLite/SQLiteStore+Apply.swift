import Foundation
import GRDB
import GongjiCore
import GongjiStorage

extension SQLiteStore {
    /// Writes `writes` in order within the caller's transaction; numbers the one numbered row.
    static func apply(_ writes: WriteSet, in db: Database) throws -> Applied {
        var applied = Applied()
        let now = writes.now
        for write in writes.writes {
            switch write {
            case .person(let person, let paidYears):
                try db.cachedStatement(
                    sql: """
                        INSERT INTO person (id_number, name, insurance_type, status, region_code, special_category, updated_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (id_number) DO UPDATE SET name = excluded.name, insurance_type = excluded.insurance_type,
                          status = excluded.status, region_code = excluded.region_code,
                          special_category = excluded.special_category, updated_at = excluded.updated_at
                        """
                ).execute(arguments: [
                    person.id.value, person.name, person.insuranceType.rawValue, person.status.rawValue,
                    person.region.value, person.specialCategory, now,
                ])
                try db.cachedStatement(sql: "DELETE FROM person_paid_year WHERE id_number = ?").execute(arguments: [person.id.value])
                for year in Set(paidYears) {
                    try db.cachedStatement(sql: "INSERT INTO person_paid_year (id_number, year) VALUES (?, ?)").execute(arguments: [
                        person.id.value, year,
                    ])
                }
            case .openAccount(let account):
                try db.cachedStatement(
                    sql: """
                        INSERT INTO account (id_number, year, current_year_fen, carry_over_fen) VALUES (?, ?, ?, ?) ON CONFLICT (id_number) DO NOTHING
                        """
                ).execute(arguments: [account.owner.value, account.year, account.currentYear.fen, account.carryOver.fen])
            case .account(let account):
                try db.cachedStatement(sql: "UPDATE account SET year = ?, current_year_fen = ?, carry_over_fen = ? WHERE id_number = ?")
                    .execute(
                        arguments: [account.year, account.currentYear.fen, account.carryOver.fen, account.owner.value])
            case .enrollment(let member):
                try db.cachedStatement(
                    sql: "UPDATE person SET insurance_type = ?, status = ?, region_code = ?, updated_at = ? WHERE id_number = ?"
                )
                .execute(arguments: [member.insuranceType.rawValue, member.status.rawValue, member.region.value, now, member.id.value])
            case .credit(let reference, let owner, let amount):
                try db.cachedStatement(sql: "INSERT INTO account_credit (reference, id_number, amount_fen, created_at) VALUES (?, ?, ?, ?)")
                    .execute(
                        arguments: [reference, owner.value, amount.fen, now])
            case .ledger(let movement):
                for entry in movement.entries {
                    try db.cachedStatement(sql: "INSERT INTO ledger_entry (movement, account, amount_fen, at) VALUES (?, ?, ?, ?)").execute(
                        arguments: [movement.name, entry.account, entry.amount.fen, now])
                }
            case .institution(let institution):
                try db.cachedStatement(
                    sql: """
                        INSERT INTO institution (code, name, kind, region_code, valid_from, valid_to, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, region_code = excluded.region_code,
                          valid_from = excluded.valid_from, valid_to = excluded.valid_to, updated_at = excluded.updated_at
                        """
                ).execute(arguments: [
                    institution.code.value, institution.name, institution.kind.rawValue, institution.region.value,
                    institution.validFrom.description, institution.validTo?.description, now,
                ])
            case .availability(let region, let suspended):
                try db.cachedStatement(
                    sql: """
                        INSERT INTO region_availability (region_code, suspended, updated_at) VALUES (?, ?, ?)
                        ON CONFLICT (region_code) DO UPDATE SET suspended = excluded.suspended, updated_at = excluded.updated_at
                        """
                ).execute(arguments: [region.value, suspended, now])
            case .rollover(let year, let accounts):
                try db.cachedStatement(sql: "INSERT INTO year_rollover (year, accounts, at) VALUES (?, ?, ?)").execute(arguments: [
                    year, accounts, now,
                ])
            case .newBinding(let binding):
                try db.cachedStatement(
                    sql: """
                        INSERT INTO binding (id, authorizer, member, member_name, relationship, region_code, start_date, status, newborn,
                          commitment_version, commitment_accepted_at, front_document, back_document, rejection_reason, medical_limit_fen,
                          settlement_limit_fen, daily_limit_fen, created_at, updated_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)
                        """
                ).execute(arguments: [
                    binding.id, binding.authorizer.value, binding.member.value, binding.memberName, binding.relationship.rawValue,
                    binding.region.value, binding.startDate.description, binding.status.rawValue, binding.isNewborn,
                    binding.commitment?.version, binding.commitment?.acceptedAtUnix, binding.frontDocument,
                    binding.backDocument, binding.medicalLimit?.fen, binding.settlementLimit?.fen, binding.dailyLimit?.fen, now, now,
                ])
                applied.sequence = db.lastInsertedRowID
            case .bindingState(let binding):
                try db.cachedStatement(
                    sql: """
                        UPDATE binding SET status = ?, rejection_reason = ?, medical_limit_fen = ?, ended_by = ?, end_reason = ?, frozen = ?,
                          settlement_limit_fen = ?, daily_limit_fen = ?, updated_at = ? WHERE id = ?
                        """
                ).execute(arguments: [
                    binding.status.rawValue, binding.rejectionReason, binding.medicalLimit?.fen, binding.endedBy?.rawValue,
                    binding.endReason, binding.isFrozen, binding.settlementLimit?.fen, binding.dailyLimit?.fen, now, binding.id,
                ])
            case .bindingEvent(let binding, let actor, let reason):
                try db.cachedStatement(
                    sql: """
                        INSERT INTO binding_event (binding_id, status, certificate_identity, end_user, request_id, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?)
                        """
                ).execute(arguments: [
                    binding.id, binding.status.rawValue, actor.certificateIdentity, actor.endUser?.value,
                    actor.requestID, reason, now,
                ])
            case .payment(let row):
                applied.sequence = try insert(row, now: now, in: db)
            case .settlement(let row):
                applied.sequence = try insert(row, in: db)
            case .settlementReversed(let seq, let day):
                try db.cachedStatement(sql: "UPDATE settlement SET status = 'reversed', reversed_at = ?, reversed_on = ? WHERE seq = ?")
                    .execute(
                        arguments: [now, day.description, seq])
            case .accountUse(let use):
                let settlementSeq: Int64? =
                    switch use.settlement {
                    case nil: nil
                    case .inserted?: applied.sequence
                    case .sequence(let seq)?: seq
                    }
                try db.cachedStatement(
                    sql: """
                        INSERT INTO account_use (kind, account_owner, member, member_name, amount_fen, payment_id, settlement_seq, at, reference)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """
                ).execute(arguments: [
                    use.kind.rawValue, use.owner.value, use.member.value, use.memberName, use.amount.fen, use.paymentID,
                    settlementSeq, now, use.reference,
                ])
            case .document(let document, let uploader):
                try db.cachedStatement(
                    sql: """
                        INSERT INTO document (id, side, media_type, size_bytes, uploaded_by, uploaded_at) VALUES (?, ?, ?, ?, ?, ?)
                        """
                ).execute(arguments: [document.id, document.side.rawValue, document.mediaType, document.size, uploader.value, now])
            case .documentHold(let id, let uploader):
                try db.cachedStatement(
                    sql: """
                        INSERT INTO document_uploader (document_id, uploader, uploaded_at) VALUES (?, ?, ?)
                        ON CONFLICT (document_id, uploader) DO UPDATE SET uploaded_at = excluded.uploaded_at
                        """
                ).execute(arguments: [id, uploader.value, now])
            case .releaseDocumentHold(let id, let uploader):
                try db.cachedStatement(sql: "DELETE FROM document_uploader WHERE document_id = ? AND uploader = ?").execute(arguments: [
                    id, uploader.value,
                ])
            case .wallet, .walletTransfer, .walletHolding, .walletMovement:
                try applyWallet(write, now: now, in: db)
            case .event(let event):
                try db.cachedStatement(
                    sql: """
                        INSERT INTO event (kind, at, authorizer, member, member_name_masked, binding_id, amount_fen, parts,
                          institution_code, institution_name, institution_kind, balance_after_fen, reference)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """
                ).execute(arguments: [
                    event.kind.rawValue, now, event.authorizer.value, event.member.value, event.memberNameMasked, event.bindingID,
                    event.amount?.fen, StoredEvent.parts(event), event.institution?.code.value,
                    event.institution?.name, event.institution?.kind.rawValue, event.balanceAfter?.fen, event.reference,
                ])
            case .removeEvents(let cutoff):
                let removed = try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM event WHERE at < ?", arguments: [cutoff])
                try db.execute(sql: "DELETE FROM event WHERE at < ?", arguments: [cutoff])
                applied.removedEvents += db.changesCount
                if let removed {
                    try db.execute(
                        sql: "UPDATE event_retention SET removed_through = MAX(removed_through, ?) WHERE id = 1", arguments: [removed])
                }
            case .removeUnheldDocuments:
                let orphans = try String.fetchAll(
                    db,
                    sql: """
                        SELECT d.id FROM document d
                        WHERE NOT EXISTS (SELECT 1 FROM document_uploader u WHERE u.document_id = d.id)
                          AND NOT EXISTS (SELECT 1 FROM binding b WHERE b.front_document = d.id OR b.back_document = d.id)
                        """)
                for id in orphans { try db.cachedStatement(sql: "DELETE FROM document WHERE id = ?").execute(arguments: [id]) }
                applied.removedDocuments += orphans
            }
        }
        return applied
    }

    /// A payment with its years and postings; its sequence number (and so its receipt number) is the next.
    static func insert(_ row: PaymentRow, now: Int64, in db: Database) throws -> Int64 {
        let seq = try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(seq), 0) + 1 FROM payment")) ?? 1
        let record = row.numbered(seq)
        // verification_code is computed on read (the column stays for databases written before).
        try db.cachedStatement(
            sql: """
                INSERT INTO payment (seq, id, binding_id, authorizer, member, member_name, authorizer_name, region_code, total_fen, account_fen,
                  external_fen, external_reference, receipt_number, verification_code, enrolled_member, created_at, from_wallet, kind)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?)
                """
        ).execute(arguments: [
            seq, record.id, record.bindingID, record.authorizer.value, record.member.value, record.memberName,
            record.authorizerName, record.region.value, record.total.fen, record.accountPart.fen,
            record.external?.amount.fen ?? 0, record.external?.reference, record.receiptNumber, row.enrollsMember, now, record.fromWallet,
            record.kind.rawValue,
        ])
        for line in record.lines {
            try db.cachedStatement(
                sql: """
                    INSERT INTO payment_year (payment_id, member, year, amount_fen, category, late, benefit_start, kind)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                record.id, record.member.value, line.year, line.amount.fen, line.category, line.isLate,
                line.benefitStart?.description, record.kind.rawValue,
            ])
        }
        for posting in record.postings {
            try db.cachedStatement(sql: "INSERT INTO payment_posting (payment_id, part, amount_fen) VALUES (?, ?, ?)").execute(
                arguments: [record.id, posting.part.rawValue, posting.amount.fen])
        }
        return seq
    }

    /// A settlement with its postings; SQLite numbers it.
    static func insert(_ row: SettlementRow, in db: Database) throws -> Int64 {
        let record = row.record
        let split = record.split
        let family = try StoredFamilyUse.encode(split.family)
        try db.cachedStatement(
            sql: """
                INSERT INTO settlement (institution_code, settlement_id, region_code, patient, patient_name, amount_fen, acct_pay_fen,
                  acct_mulaid_pay_fen, cash_fen, family, family_zero_note, status, settled_at, settled_on)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'settled', ?, ?)
                """
        ).execute(arguments: [
            record.institution.code.value, record.settlementID, record.institution.region.value, record.patient.value,
            record.patientName, split.amount.fen, split.acctPay.fen, split.acctMulaidPay.fen, split.cashPay.fen, family,
            split.familyZeroNote?.rawValue, record.settledAt, row.day.description,
        ])
        let seq = db.lastInsertedRowID
        for (position, posting) in split.postings.enumerated() {
            try db.cachedStatement(
                sql: """
                    INSERT INTO settlement_posting (settlement_seq, position, owner, part, amount_fen, binding_id, account_year, settled_year,
                      from_wallet)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                seq, position, posting.owner.value, posting.part.rawValue, posting.amount.fen, posting.bindingID,
                posting.accountYear, row.day.year, posting.fromWallet,
            ])
        }
        return seq
    }
}
