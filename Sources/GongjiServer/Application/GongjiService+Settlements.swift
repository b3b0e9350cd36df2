import Foundation
import GongjiCore

extension GongjiService {
    // MARK: Institutions (operators)

    /// R-SETL-1: loads one designated institution.
    public func upsertInstitution(
        _ institution: Institution, key: IdempotencyKey?, at time: ClockReading
    ) async throws -> (institution: Institution, created: Bool) {
        let result = try await store.upsertInstitution(institution, key: key, now: time.now)
        logger.info("institution upserted", metadata: ["institution.code": "\(institution.code)", "created": "\(result.created)"])
        return result
    }

    /// A designated institution, or INSTITUTION_NOT_FOUND.
    public func institution(code: String) async throws -> Institution {
        let code = try InstitutionCode.parse(code)
        guard let institution = try await store.institution(code) else { throw DomainError.institutionNotFound(code) }
        return institution
    }

    /// R-SETL-7: the totals of a region's institutions on a day.
    public func settlementTotals(regionCode: String, date: String) async throws -> SettlementTotals {
        try await store.settlementTotals(region: try RegionCode.parse(regionCode), on: try SettlementRules.day(date))
    }

    // MARK: Settlement (the settlement role)

    /// R-SETL-3: the split of an amount, moving nothing.
    public func preSettle(_ order: SettlementOrder, caller: Caller, at time: ClockReading) async throws -> SettlementSplit {
        _ = try SettlementRules.access(caller.institutions, institution: order.institution)
        return try await logRefusal(order, caller: caller) {
            try await store.preSettle(order, scope: caller.institutions, policies: state.policies, today: time.today)
        }
    }

    /// R-SETL-4: settles exactly once per `key` (the institution and its settlement id). A
    /// refusal of the rules is thrown as `SettlementRefused` (the error, and the institution's
    /// region for metrics).
    public func settle(
        _ order: SettlementOrder, key: IdempotencyKey, caller: Caller, at time: ClockReading
    ) async throws -> Answered<SettlementRecord> {
        // Permission before replay: the settlement id's record is scoped to the institution, not
        // to the caller, so a caller that does not act for it must not reach the replay.
        _ = try SettlementRules.access(caller.institutions, institution: order.institution)
        let settled = try await logRefusal(order, caller: caller) {
            try await store.settle(order, scope: caller.institutions, key: key, policies: state.policies, today: time.today, now: time.now)
        }
        let record = settled.record
        logger.info(
            settled.isReplay ? "settlement retried: the original answered" : "settled",
            metadata: [
                "institution.code": "\(record.institution.code)", "settlement.id": "\(record.settlementID)",
                "patient": "\(record.patient.masked)",
                "acct_pay_fen": "\(record.split.acctPay.fen)", "acct_mulaid_pay_fen": "\(record.split.acctMulaidPay.fen)",
                "psn_cash_pay_fen": "\(record.split.cashPay.fen)", "peer.identity": "\(caller.identity)",
            ])
        return settled
    }

    /// R-SETL-2: a credential that is not the patient's own is refused and logged as such, masked.
    func logRefusal<T>(_ order: SettlementOrder, caller: Caller, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            let refusal = (error as? SettlementRefused)?.error ?? error as? DomainError
            guard refusal?.reason == .credentialNotPatientsOwn else { throw error }
            logger.warning(
                "settlement refused: the credential is not the patient's own (冒用)",
                metadata: [
                    "institution.code": "\(order.institutionCode)", "settlement.id": "\(order.settlementID)",
                    "patient": "\(ResidentID.mask(order.patientIDNumber))",
                    "credential.holder": "\(ResidentID.mask(order.credential.holderIDNumber))",
                    "credential.type": "\(order.credential.kind?.rawValue ?? "")", "peer.identity": "\(caller.identity)",
                ])
            throw error
        }
    }

    /// R-SETL-5: reverses a settlement of an institution the caller acts for.
    public func reverseSettlement(
        institutionCode: String, settlementID: String, caller: Caller, at time: ClockReading
    ) async throws -> SettlementRecord {
        let code = try SettlementRules.access(caller.institutions, institutionCode: institutionCode)
        let settlementID = try SettlementRules.settlementID(settlementID)
        let record = try await store.reverseSettlement(
            institution: code, settlementID: settlementID, policies: state.policies,
            today: time.today, now: time.now)
        logger.info(
            "settlement reversed",
            metadata: [
                "institution.code": "\(code)", "settlement.id": "\(settlementID)",
                "peer.identity": "\(caller.identity)",
            ])
        return record
    }

    /// One settlement of an institution the caller acts for.
    public func settlement(institutionCode: String, settlementID: String, caller: Caller) async throws -> SettlementRecord {
        let code = try SettlementRules.access(caller.institutions, institutionCode: institutionCode)
        let settlementID = try SettlementRules.settlementID(settlementID)
        guard let record = try await store.settlement(institution: code, settlementID: settlementID) else {
            throw SettlementRules.notFound(code.value, settlementID)
        }
        return record
    }

    /// Runs one reconciliation of an institution the caller acts for (checked first, before any
    /// entry is read): at most `SettlementRules.reconciliationsConcurrentMax` at once, else
    /// RECONCILIATION_BUSY.
    public func reconciling<T>(institutionCode: String, caller: Caller, _ body: () async throws -> T) async throws -> T {
        _ = try SettlementRules.access(caller.institutions, institutionCode: institutionCode)
        let admitted = reconciliationsRunning.withLock { running in
            guard running < SettlementRules.reconciliationsConcurrentMax else { return false }
            running += 1
            return true
        }
        guard admitted else { throw DomainError.reconciliationBusy() }
        defer { reconciliationsRunning.withLock { $0 -= 1 } }
        return try await body()
    }

    /// R-SETL-7: compares an institution's day with Gongji's.
    public func reconcile(
        institutionCode: String, date: String, claim: ReconciliationClaim, caller: Caller
    ) async throws -> ReconciliationReport {
        let code = try SettlementRules.access(caller.institutions, institutionCode: institutionCode)
        let day = try SettlementRules.day(date, field: "header.date")
        let (settled, reversed) = try await store.settlements(of: code, on: day)
        return SettlementRules.reconcile(claim, settled: settled, reversedThatDay: reversed)
    }

    // MARK: The gateway

    /// R-SETL-8: the authorizer sets or clears a binding's annual limit for medical use.
    public func setMedicalLimit(
        bindingID: String, limit: Money?, endUser: ResidentID, key: IdempotencyKey?, actor: ChangeActor,
        at time: ClockReading
    ) async throws -> BindingRecord {
        let record = try await store.changeBinding(
            id: bindingID, .setMedicalLimit(by: endUser, limit: limit, policies: state.policies),
            key: key, actor: actor, now: time.now)
        logger.info(
            "binding medical limit set",
            metadata: [
                "binding.id": "\(bindingID)",
                "medical_limit_fen": "\(record.binding.medicalLimit.map { String($0.fen) } ?? "none")",
            ])
        return record
    }

    /// R-SETL-9: uses of the end user's account (`.authorizer`) or by others for the end user
    /// (`.member`), newest first, with the premium payments among them.
    public func accountUses(
        of endUser: ResidentID, as perspective: BindingPerspective,
        page: PageRequest
    ) async throws -> (page: Page<AccountUseRecord>, payments: [PaymentRecord]) {
        let uses = try await pageTokens.page(page, list: "uses-\(perspective.rawValue)-\(endUser.value)", cursorOf: \.seq) {
            cursor, limit in
            try await store.accountUses(of: endUser, as: perspective, before: cursor, limit: limit)
        }
        let ids = uses.items.compactMap(\.paymentID)
        let byID = Dictionary(try await store.payments(ids: ids).map { ($0.id, signed($0)) }, uniquingKeysWith: { first, _ in first })
        return (uses, ids.compactMap { byID[$0] })
    }
}
