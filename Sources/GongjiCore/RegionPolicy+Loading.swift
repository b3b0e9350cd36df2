import Foundation

extension DomainError {
    /// A policy file was refused (POLICY_INVALID): `source` (the file), `field` (a dotted path
    /// such as `premiums[1].window_end`, empty for the whole document) and what is wrong.
    public static func policyInvalid(source: String = "", field: String, problem: String) -> DomainError {
        let location = field.isEmpty ? source : source.isEmpty ? field : "\(source): \(field)"
        return DomainError(
            reason: .policyInvalid, category: .invalidArgument, message: location.isEmpty ? problem : "\(location): \(problem)",
            messageZH: "统筹区政策文件无效", details: ["source": source, "field": field, "problem": problem])
    }

    /// A registry import line was refused (IMPORT_ROW_INVALID): its 1-based line number, the
    /// field at fault (or empty) and what is wrong.
    public static func importRowInvalid(line: Int, field: String, problem: String) -> DomainError {
        DomainError(
            reason: .importRowInvalid, category: .invalidArgument,
            message: "line \(line): \(field.isEmpty ? "" : "\(field): ")\(problem)", messageZH: "导入文件第\(line)行有误",
            details: ["line": String(line), "field": field, "problem": problem])
    }

    /// The file a policy or import error is about (`source` detail), or empty.
    public var source: String { details["source"] ?? "" }
    /// The field an error names (`field` detail), or empty.
    public var field: String { details["field"] ?? "" }
    /// What is wrong (`problem` detail), or the message.
    public var problem: String { details["problem"] ?? message }
    /// The import line an error is about (`line` detail).
    public var line: Int? { details["line"].flatMap { Int($0) } }
}

extension RegionPolicy {
    /// Decodes and validates a policy from JSON5 text (JSON with comments and trailing commas).
    ///
    /// Pure: the caller reads the file and passes its bytes and its name.
    public static func decode(json5 data: Data, source: String) throws(DomainError) -> RegionPolicy {
        let policy: RegionPolicy
        do {
            policy = try JSON5.decode(RegionPolicy.self, from: data)
        } catch let error as DecodingError {
            throw .policyInvalid(source: source, field: error.fieldPath, problem: error.problem)
        } catch {
            throw .policyInvalid(source: source, field: "", problem: "\(error)")
        }
        do {
            try policy.validate()
        } catch {
            throw .policyInvalid(source: source, field: error.field, problem: error.problem)
        }
        return policy
    }

    /// Checks the policy for consistency: ranges, unique years, non-overlapping windows.
    public func validate() throws(DomainError) {
        func fail(_ field: String, _ problem: String) -> DomainError { .policyInvalid(field: field, problem: problem) }
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else { throw fail("name", "must not be empty") }
        guard !member.insuranceTypes.isEmpty else { throw fail("member.insurance_types", "must name at least one type") }
        guard !member.insuranceTypes.contains(.none) else {
            throw fail("member.insurance_types", "'none' is not an insurance type a member can have (see newborn_days)")
        }
        guard !member.relationships.isEmpty else { throw fail("member.relationships", "must name at least one relationship") }
        if let limit = member.limit, !(1...100).contains(limit) { throw fail("member.limit", "must be 1…100 or absent, got \(limit)") }
        if let days = member.newbornDays, !(1...366).contains(days) {
            throw fail("member.newborn_days", "must be 1…366 or absent, got \(days)")
        }
        for (i, version) in materials.commitmentVersions.enumerated() where version.isEmpty || version.count > 64 {
            throw fail("materials.commitment_versions[\(i)]", "must be 1…64 characters")
        }
        guard !payment.balanceParts.isEmpty else { throw fail("payment.balance_parts", "must name at least one part") }
        guard Set(payment.balanceParts).count == payment.balanceParts.count else {
            throw fail("payment.balance_parts", "names a part twice")
        }
        guard (0...366).contains(payment.waitingPeriodDays) else {
            throw fail("payment.waiting_period_days", "must be 0…366, got \(payment.waitingPeriodDays)")
        }
        guard (1...10).contains(payment.yearsPerPaymentMax) else {
            throw fail("payment.years_per_payment_max", "must be 1…10, got \(payment.yearsPerPaymentMax)")
        }
        try Self.validate(premiums, field: "premiums")
        if let longTermCare { try Self.validate(longTermCare, field: "long_term_care") }
        if let terms = settlement {
            guard (0...3650).contains(terms.reversalDays) else {
                throw fail("settlement.reversal_days", "must be 0…3650, got \(terms.reversalDays)")
            }
            for (key, value) in [
                ("medical_limit_default_fen", terms.medicalLimitDefault), ("medical_limit_max_fen", terms.medicalLimitMax),
                ("settlement_limit_default_fen", terms.settlementLimitDefault), ("settlement_limit_max_fen", terms.settlementLimitMax),
                ("daily_limit_default_fen", terms.dailyLimitDefault), ("daily_limit_max_fen", terms.dailyLimitMax),
            ] {
                if let value, !(value >= .zero && value.isValidAmount) { throw fail("settlement.\(key)", "must be 0…\(Money.max.fen)") }
            }
            for (name, preset, max) in [
                ("medical_limit", terms.medicalLimitDefault, terms.medicalLimitMax),
                ("settlement_limit", terms.settlementLimitDefault, terms.settlementLimitMax),
                ("daily_limit", terms.dailyLimitDefault, terms.dailyLimitMax),
            ] {
                if let preset, let max, preset > max { throw fail("settlement.\(name)_default_fen", "must not exceed \(name)_max_fen") }
            }
        }
        if let terms = crossProvince {
            guard terms.transferMax > .zero, terms.transferMax.isValidAmount else {
                throw fail("cross_province.transfer_max_fen", "must be 1…\(Money.max.fen)")
            }
            guard (1...100).contains(terms.transfersPerDay) else {
                throw fail("cross_province.transfers_per_day", "must be 1…100, got \(terms.transfersPerDay)")
            }
        }
        for (i, channel) in availability.alternativeChannels.enumerated() where channel.isEmpty {
            throw fail("availability.alternative_channels[\(i)]", "must not be empty")
        }
    }

    private static func validate(_ premiums: [PremiumYear], field: String) throws(DomainError) {
        var seen = Set<Int>()
        for (i, entry) in premiums.enumerated() {
            let path = "\(field)[\(i)]"
            guard (2000...2200).contains(entry.year) else {
                throw .policyInvalid(field: "\(path).year", problem: "must be 2000…2200, got \(entry.year)")
            }
            guard seen.insert(entry.year).inserted else {
                throw .policyInvalid(field: "\(path).year", problem: "year \(entry.year) appears twice")
            }
            if let amount = entry.amount, !amount.isValidAmount {
                throw .policyInvalid(field: "\(path).amount_fen", problem: "must be 0…\(Money.max.fen), got \(amount.fen)")
            }
            for (category, amount) in entry.categoryAmounts.sorted(by: { $0.key < $1.key }) {
                guard !category.isEmpty, category.allSatisfy({ ("a"..."z").contains($0) || $0 == "_" }) else {
                    throw .policyInvalid(field: "\(path).category_amounts_fen", problem: "category '\(category)' must be lower_snake_case")
                }
                guard amount.isValidAmount else {
                    throw .policyInvalid(
                        field: "\(path).category_amounts_fen.\(category)", problem: "must be 0…\(Money.max.fen), got \(amount.fen)")
                }
            }
            guard entry.windowStart <= entry.windowEnd else {
                throw .policyInvalid(field: "\(path).window_end", problem: "\(entry.windowEnd) is before window_start \(entry.windowStart)")
            }
            guard entry.windowEnd <= CivilDate.lastOfYear(entry.year) else {
                throw .policyInvalid(
                    field: "\(path).window_end", problem: "\(entry.windowEnd) is after the end of premium year \(entry.year)")
            }
        }
        let sorted = premiums.enumerated().sorted { $0.element.windowStart < $1.element.windowStart }
        for (earlier, later) in zip(sorted, sorted.dropFirst()) where later.element.windowStart <= earlier.element.windowEnd {
            throw .policyInvalid(
                field: "\(field)[\(later.offset)].window_start",
                problem:
                    "window of \(later.element.year) overlaps the window of \(earlier.element.year) (ends \(earlier.element.windowEnd))")
        }
    }

    /// The policy as canonical JSON (sorted keys), e.g. for the ReadPolicy RPC.
    public func canonicalJSON() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        // Encoding plain value types cannot fail.
        return (try? encoder.encode(self)) ?? Data()
    }
}

extension DecodingError {
    /// The dotted path of the field the error concerns, e.g. `premiums[0].amount_fen`.
    public var fieldPath: String {
        let (context, extraKey): (DecodingError.Context?, (any CodingKey)?) =
            switch self {
            case .keyNotFound(let key, let context): (context, key)
            case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context): (context, nil)
            @unknown default: (nil, nil)
            }
        var path = context?.codingPath ?? []
        if let extraKey { path.append(extraKey) }
        var text = ""
        for key in path {
            if let index = key.intValue { text += "[\(index)]" } else { text += text.isEmpty ? key.stringValue : ".\(key.stringValue)" }
        }
        return text
    }

    /// What is wrong, in words.
    public var problem: String {
        switch self {
        case .keyNotFound: "is required but missing"
        case .typeMismatch(let type, _): "has the wrong type (expected \(type))"
        case .valueNotFound(let type, _): "must not be null (expected \(type))"
        case .dataCorrupted(let context):
            (context.underlyingError.map { "\($0)" }).map { "\(context.debugDescription) \($0)" } ?? context.debugDescription
        @unknown default: "is invalid"
        }
    }
}
