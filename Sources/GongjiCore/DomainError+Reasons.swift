/// The catalogue of domain failures. Each reason is stable: clients switch on it.
extension DomainError {
    /// The parts of an ID number that can be wrong (R-ID-1).
    public enum IDNumberDefect: Sendable {
        /// Not 18 characters.
        case length
        /// Characters other than digits (and a final X).
        case format
        /// The administrative code names no province.
        case region
        /// The birth date is not a calendar date.
        case birthDate
        /// The birth date lies in the future.
        case birthDateInFuture
        /// The check character does not match.
        case check
    }

    static func idNumber(_ defect: IDNumberDefect, text: String, detail: String) -> DomainError {
        let (reason, en, zh): (Reason, String, String) =
            switch defect {
            case .length: (.idNumberLengthInvalid, "the ID number must have 18 characters", "身份证号码应为18位")
            case .format: (.idNumberFormatInvalid, "the ID number may hold only digits and a final X", "身份证号码只能包含数字，末位可为X")
            case .region: (.idNumberRegionInvalid, "the ID number's administrative code is not valid", "身份证号码的行政区划代码无效")
            case .birthDate: (.idNumberBirthDateInvalid, "the ID number's birth date is not a real date", "身份证号码中的出生日期无效")
            case .birthDateInFuture: (.idNumberBirthDateInFuture, "the ID number's birth date is in the future", "身份证号码中的出生日期晚于今天")
            case .check: (.idNumberCheckFailed, "the ID number's check character is wrong", "身份证号码校验位错误")
            }
        return DomainError(
            reason: reason, category: .invalidArgument, message: "\(en): \(detail)", messageZH: zh,
            details: ["id_number": ResidentID.mask(text), "problem": detail])
    }

    static func invalidField(_ field: String, _ problem: String, zh: String) -> DomainError {
        DomainError(
            reason: .invalidField, category: .invalidArgument, message: "\(field): \(problem)",
            messageZH: zh, details: ["field": field, "problem": problem])
    }

    static func amountOutOfRange(_ field: String) -> DomainError {
        DomainError(
            reason: .amountOutOfRange, category: .invalidArgument,
            message: "\(field) is outside 0…\(Money.max.fen) fen", messageZH: "金额超出允许范围",
            details: ["field": field, "max_fen": String(Money.max.fen)])
    }

    static func rolloverBackwards(accountYear: Int, requested: Int) -> DomainError {
        DomainError(
            reason: .rolloverBackwards, category: .failedPrecondition,
            message: "the account is already in year \(accountYear); cannot roll over into \(requested)",
            messageZH: "账户已结转至\(accountYear)年，不能结转至更早年度",
            details: ["account_year": String(accountYear), "requested_year": String(requested)])
    }

    static func rolloverYearInvalid(requested: Int, valid: Int) -> DomainError {
        DomainError(
            reason: .rolloverYearInvalid, category: .failedPrecondition,
            message: "the year-end rollover runs once per year, in order: the next valid year is \(valid), not \(requested)",
            messageZH: "年度结转须逐年进行，下一个可结转年度为\(valid)年",
            details: ["requested_year": String(requested), "valid_year": String(valid)])
    }

    static func rolloverYearNotBegun(requested: Int, today: CivilDate) -> DomainError {
        DomainError(
            reason: .rolloverYearNotBegun, category: .failedPrecondition,
            message: "year \(requested) has not begun (today is \(today), China time); it can be rolled into from 1 January",
            messageZH: "\(requested)年尚未开始，不能结转",
            details: ["requested_year": String(requested), "today": "\(today)"])
    }

    /// The binding's rules come from the authorizer's region (R-BIND-1); no policy is loaded for it.
    static func authorizerRegionNotSupported(_ region: RegionCode) -> DomainError {
        DomainError(
            reason: .authorizerRegionNotSupported, category: .failedPrecondition,
            message: "no family mutual-aid policy is loaded for the authorizer's region \(region)",
            messageZH: "授权人所在统筹区暂未开通家庭共济", details: ["region": region.description, "party": "authorizer"])
    }

    /// R-PAY-2a: the member is insured in a region whose policy (premium standard) is not loaded.
    static func memberRegionNotSupported(_ region: RegionCode) -> DomainError {
        DomainError(
            reason: .memberRegionNotSupported, category: .failedPrecondition,
            message: "no policy is loaded for the member's insured region \(region): its premium standard is unknown",
            messageZH: "被共济人参保地暂未开通家庭共济缴费", details: ["region": region.description, "party": "member"])
    }

    static func suspended(_ policy: RegionPolicy) -> DomainError {
        var details = ["region": policy.region.description]
        if let hotline = policy.availability.hotline { details["hotline"] = hotline }
        if !policy.availability.alternativeChannels.isEmpty {
            details["alternative_channels"] = policy.availability.alternativeChannels.joined(separator: "; ")
        }
        let channels = policy.availability.alternativeChannels.joined(separator: "、")
        let hotline = policy.availability.hotline.map { "，咨询电话\($0)" } ?? ""
        return DomainError(
            reason: .familyPaymentSuspended, category: .unavailable,
            message:
                "family binding and payment are suspended in \(policy.name) during a platform upgrade; use \(policy.availability.alternativeChannels.joined(separator: ", "))\(policy.availability.hotline.map { " or call \($0)" } ?? "")",
            messageZH: "系统升级期间\(policy.name)家庭共济绑定和缴费暂停，请通过\(channels)办理\(hotline)",
            details: details,
            alternatives: policy.availability.alternativeChannels + (policy.availability.hotline.map { ["热线 \($0)"] } ?? []))
    }

    static func personNotFound(role: String, id: ResidentID) -> DomainError {
        DomainError(
            reason: role == "authorizer" ? .authorizerNotFound : .memberNotFound, category: .notFound,
            message: "the \(role) \(id.masked) is not in the insurance registry",
            messageZH: role == "authorizer" ? "未找到授权人参保信息" : "未找到被共济人参保信息",
            details: ["id_number": id.masked])
    }

    static func authorizer(_ reason: Reason, _ en: String, _ zh: String, _ details: [String: String] = [:]) -> DomainError {
        DomainError(reason: reason, category: .failedPrecondition, message: en, messageZH: zh, details: details)
    }

    static func member(
        _ reason: Reason, _ en: String, _ zh: String, _ details: [String: String] = [:],
        category: Category = .failedPrecondition
    ) -> DomainError {
        DomainError(reason: reason, category: category, message: en, messageZH: zh, details: details)
    }

    static func memberLimitReached(limit: Int) -> DomainError {
        DomainError(
            reason: .memberLimitReached, category: .resourceExhausted,
            message: "an authorizer may have at most \(limit) bound members", messageZH: "每位授权人最多可绑定\(limit)名家庭成员",
            details: ["limit": String(limit)])
    }

    /// R-CTL-1: the authorizer froze family use through `binding`.
    static func familyUseFrozen(_ binding: Binding) -> DomainError {
        .payment(
            .familyUseFrozen, "the authorizer froze family use through this binding; only the authorizer can lift it",
            "授权人已冻结共济使用", ["binding_id": binding.id])
    }

    static func notAuthorizer() -> DomainError {
        DomainError(
            reason: .notAuthorizer, category: .permissionDenied,
            message: "only the authorizer of the binding may do this", messageZH: "仅授权人本人可以办理")
    }

    static func bindingState(_ binding: Binding, expected: String) -> DomainError {
        let reason: Reason =
            switch binding.status {
            case .pending: .bindingPendingReview
            case .rejected: .bindingRejected
            case .revoked: .bindingRevoked
            case .active: .bindingActive
            }
        var details = ["binding_id": binding.id, "status": binding.status.rawValue]
        if let party = binding.endedBy { details["ended_by"] = party.rawValue }
        if let why = binding.endReason { details["end_reason"] = why }
        return DomainError(
            reason: reason, category: .failedPrecondition,
            message: "the binding is \(binding.status.rawValue)\(binding.endReason.map { " (\($0))" } ?? ""); it must be \(expected)",
            messageZH: "共济关系状态为\(binding.status.chinese)，无法办理", details: details)
    }

    static func payment(
        _ reason: Reason, _ en: String, _ zh: String, _ details: [String: String] = [:],
        category: Category = .failedPrecondition
    ) -> DomainError {
        DomainError(reason: reason, category: category, message: en, messageZH: zh, details: details)
    }

    static func balanceInsufficient(shortfall: Money, available: Money, total: Money) -> DomainError {
        DomainError(
            reason: .balanceInsufficient, category: .failedPrecondition,
            message: "the account balance that may be used is short by \(shortfall.yuanString) yuan; top up and retry",
            messageZH: "个人账户可用余额不足，还差\(shortfall.yuanString)元，请充值后重试",
            details: [
                "shortfall_fen": String(shortfall.fen), "available_fen": String(available.fen),
                "total_fen": String(total.fen),
            ])
    }
}

extension DomainError {
    /// The end user is neither the authorizer nor the member of `thing` (a binding, a payment, a
    /// receipt) — or it does not exist: both look the same, so existence does not leak.
    public static func notParty(_ thing: String) -> DomainError {
        DomainError(
            reason: .notParty, category: .permissionDenied,
            message: "the end user is neither the authorizer nor the member of this \(thing)",
            messageZH: "无权查看或办理该业务")
    }

    /// A person the registry does not hold.
    public static func personNotFound(_ id: ResidentID) -> DomainError {
        DomainError(
            reason: .personNotFound, category: .notFound, message: "\(id.masked) is not in the registry",
            messageZH: "未找到该人员参保信息", details: ["id_number": id.masked])
    }

    /// The end user acting as authorizer is not in the registry.
    public static func authorizerNotFound(_ id: ResidentID) -> DomainError { personNotFound(role: "authorizer", id: id) }

    /// The authorizer is not (or no longer) insured under the employee scheme (R-BIND-1).
    static func authorizerNotEmployeeInsured() -> DomainError {
        .authorizer(
            .authorizerNotEmployeeInsured, "the authorizer must be insured under the employee scheme",
            "授权人须参加职工基本医疗保险")
    }
}

extension DomainError {
    static func bindingNotFound(_ id: String) -> DomainError {
        DomainError(
            reason: .bindingNotFound, category: .notFound, message: "binding \(TextLimits.echo(id)) does not exist",
            messageZH: "未找到该共济关系", details: ["binding_id": id])
    }
}

extension PolicyBook {
    /// The policy of the region named by `regionCode`, or REGION_NOT_FOUND.
    public func policy(regionCode: String) throws(DomainError) -> RegionPolicy {
        guard let region = RegionCode(regionCode), let policy = policy(of: region) else {
            throw DomainError(
                reason: .regionNotFound, category: .notFound, message: "no policy is loaded for region '\(regionCode)'",
                messageZH: "未找到该统筹区", details: ["region_code": regionCode])
        }
        return policy
    }
}
