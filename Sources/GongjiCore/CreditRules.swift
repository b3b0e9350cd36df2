/// Validation of a credit to a personal account, shared by the import and the single call.
public enum CreditRules {

    /// The trimmed reference, or INVALID_FIELD / AMOUNT_OUT_OF_RANGE naming the field.
    public static func validate(amount: Money, reference: String) throws(DomainError) -> String {
        guard amount > .zero, amount.isValidAmount else { throw .amountOutOfRange("amount_fen") }
        let trimmed = reference.trimmingWhitespace
        guard TextLimits.creditReference.admits(trimmed) else {
            throw .invalidField("reference", "is required, \(TextLimits.creditReference)", zh: "入账凭证号不能为空")
        }
        return trimmed
    }

    /// The part a credit adds to (R-ACCT-3), or INVALID_FIELD `part` when the request named one
    /// this version does not know (nil).
    public static func validate(part: BalancePart?) throws(DomainError) -> BalancePart {
        guard let part else {
            throw .invalidField("part", "must be BALANCE_PART_CURRENT_YEAR or BALANCE_PART_CARRY_OVER", zh: "余额部分无效")
        }
        return part
    }
}

extension CreditRules {
    /// What a credit does.
    public enum Plan: Hashable, Sendable {
        /// The reference was applied to this account before: nothing changes.
        case alreadyApplied
        /// Credit the account (now `account`) with this ledger movement.
        case apply(account: PersonalAccount, movement: LedgerMovement)
    }

    /// Plans crediting `amount` to `part` of the balance (R-ACCT-3) under `reference` (validated by
    /// `validate`) of the person `id`, found as `record`; `referenceOwner` is whose account the
    /// reference was applied to before.
    public static func plan(
        credit id: ResidentID, record: PersonRecord?, amount: Money, part: BalancePart, reference: String,
        referenceOwner: ResidentID?
    ) throws(DomainError) -> Plan {
        guard let record else { throw .personNotFound(id) }
        guard record.person.insuranceType == .employee, let account = record.account else {
            throw DomainError(
                reason: .notEmployeeInsured, category: .failedPrecondition,
                message: "only the employee-insured have a personal account", messageZH: "仅职工医保参保人有个人账户",
                details: ["id_number": id.masked])
        }
        if let referenceOwner {
            guard referenceOwner == id else {
                throw DomainError(
                    reason: .creditReferenceReused, category: .alreadyExists,
                    message: "credit reference \(reference) was applied to another account", messageZH: "入账凭证号已被使用",
                    details: ["reference": reference])
            }
            return .alreadyApplied
        }
        guard let balance = account.balance(of: part).adding(amount), balance.isValidAmount else {
            throw DomainError(
                reason: .amountOutOfRange, category: .invalidArgument, message: "the balance would exceed the limit",
                messageZH: "金额超出允许范围", details: ["max_fen": String(Money.max.fen)])
        }
        var credited = account
        switch part {
        case .currentYear: credited.currentYear = balance
        case .carryOver: credited.carryOver = balance
        }
        return .apply(
            account: credited,
            movement: LedgerMovement(
                "credit:\(reference)",
                [
                    LedgerEntry(LedgerAccount.person(id, part), amount),
                    LedgerEntry(LedgerAccount.platformFunding, Money(fen: -amount.fen)),
                ]))
    }
}
