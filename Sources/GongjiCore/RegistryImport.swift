import Foundation

/// One row of a registry import: a person to create or replace, or a credit to an account.
public enum RegistryRow: Hashable, Sendable {
    /// Create or replace a person, with the premium years paid outside Gongji.
    case person(Person, paidYears: [Int])
    /// Credit one part of an employee-insured person's balance (R-ACCT-3: the current year's, or
    /// the carry-over 历年结余 a new deployment starts with); `reference` applies once.
    case credit(ResidentID, amount: Money, part: BalancePart, reference: String)
    /// Create or replace a designated institution (R-SETL-1).
    case institution(Institution)
}

/// The formats of an import file.
public enum RegistryFormat: String, Sendable {
    /// One JSON object per line.
    case jsonLines
    /// CSV with the header line `RegistryImport.csvHeader`.
    case csv
}

/// Parses and validates registry import rows (pure: the caller supplies the lines and today).
public enum RegistryImport {
    /// The CSV header line, in this column order. Files written before R-ACCT-3 have no
    /// `balance_part` column (`csvColumnsBeforeBalancePart`): their credits go to the current year.
    public static let csvColumns = csvColumnsBeforeBalancePart + ["balance_part"]

    /// The CSV header of files written before credits named their part.
    public static let csvColumnsBeforeBalancePart = [
        "kind", "id_number", "name", "insurance_type", "status", "region_code",
        "special_category", "paid_premium_years", "amount_fen", "reference",
    ]

    /// The longest line accepted, in bytes.
    public static let lineBytesMax = 4096

    struct RawRow: Decodable {
        var kind: String?
        var id_number: String?
        var name: String?
        var insurance_type: String?
        var status: String?
        var region_code: String?
        var special_category: String?
        var paid_premium_years: [Int]?
        var amount_fen: Int64?
        var reference: String?
        var balance_part: String?
        var institution_code: String?
        var institution_kind: String?
        var valid_from_date: String?
        var valid_to_date: String?

        enum CodingKeys: String, CodingKey {
            case kind, id_number, name, insurance_type, status, region_code, special_category
            case paid_premium_years, amount_fen, reference, balance_part
            case institution_code, institution_kind, valid_from_date, valid_to_date
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            kind = try c.decodeIfPresent(String.self, forKey: .kind)
            id_number = try c.decodeIfPresent(String.self, forKey: .id_number)
            name = try c.decodeIfPresent(String.self, forKey: .name)
            insurance_type = try c.decodeIfPresent(String.self, forKey: .insurance_type)
            status = try c.decodeIfPresent(String.self, forKey: .status)
            // Region codes may be written as numbers or strings.
            if let number = try? c.decodeIfPresent(Int.self, forKey: .region_code) {
                region_code = String(number)
            } else {
                region_code = try c.decodeIfPresent(String.self, forKey: .region_code)
            }
            special_category = try c.decodeIfPresent(String.self, forKey: .special_category)
            paid_premium_years = try c.decodeIfPresent([Int].self, forKey: .paid_premium_years)
            amount_fen = try c.decodeIfPresent(Int64.self, forKey: .amount_fen)
            reference = try c.decodeIfPresent(String.self, forKey: .reference)
            balance_part = try c.decodeIfPresent(String.self, forKey: .balance_part)
            institution_code = try c.decodeIfPresent(String.self, forKey: .institution_code)
            institution_kind = try c.decodeIfPresent(String.self, forKey: .institution_kind)
            valid_from_date = try c.decodeIfPresent(String.self, forKey: .valid_from_date)
            valid_to_date = try c.decodeIfPresent(String.self, forKey: .valid_to_date)
        }

        init(csv fields: [String]) {
            func field(_ i: Int) -> String? {
                guard i < fields.count else { return nil }
                let value = fields[i].trimmingWhitespace
                return value.isEmpty ? nil : value
            }
            kind = field(0)
            id_number = field(1)
            name = field(2)
            insurance_type = field(3)
            status = field(4)
            region_code = field(5)
            special_category = field(6)
            paid_premium_years = field(7).map { $0.split(separator: ";").map { Int(String($0).trimmingWhitespace) ?? -1 } }
            amount_fen = field(8).map { Int64($0) ?? -1 }
            reference = field(9)
            balance_part = field(10)
        }
    }

    /// Validates a person sent field by field (the registry's UpsertPerson) by the rules of an
    /// import line; a bad field is INVALID_FIELD naming `person.<field>`.
    public static func person(
        idNumber: String, name: String, insuranceType: InsuranceType?, status: InsuranceStatus?,
        regionCode: String, specialCategory: String, paidYears: [Int],
        today: CivilDate
    ) throws(DomainError) -> (person: Person, paidYears: [Int]) {
        var raw = RawRow(csv: [])
        raw.kind = "person"
        raw.id_number = idNumber
        raw.name = name
        raw.insurance_type = insuranceType?.rawValue
        raw.status = status?.rawValue
        raw.region_code = regionCode
        raw.special_category = specialCategory.isEmpty ? nil : specialCategory
        raw.paid_premium_years = paidYears
        do {
            guard case .person(let person, let years) = try row(from: raw, line: 1, today: today) else {
                preconditionFailure("a person row")
            }
            return (person, years)
        } catch {
            throw DomainError(
                reason: .invalidField, category: .invalidArgument, message: "person.\(error.field): \(error.problem)",
                messageZH: "人员信息无效", details: ["field": "person.\(error.field)", "problem": error.problem])
        }
    }

    /// Parses one non-blank line. `line` is the 1-based line number used in errors; a CSV line has
    /// `csvColumnCount` fields (its header's: `csvColumns`, or the older file's 10).
    public static func parse(
        _ text: Substring, format: RegistryFormat, line: Int, today: CivilDate,
        csvColumnCount: Int = csvColumns.count
    ) throws(DomainError) -> RegistryRow {
        guard text.utf8.count <= lineBytesMax else {
            throw DomainError.importRowInvalid(line: line, field: "", problem: "longer than \(lineBytesMax) bytes")
        }
        let raw: RawRow
        switch format {
        case .jsonLines:
            do {
                raw = try JSONDecoder().decode(RawRow.self, from: Data(text.utf8))
            } catch {
                throw DomainError.importRowInvalid(line: line, field: "", problem: "not a JSON object with the documented fields")
            }
        case .csv:
            guard let fields = splitCSV(text) else {
                throw DomainError.importRowInvalid(line: line, field: "", problem: "unbalanced quotes")
            }
            guard fields.count == csvColumnCount else {
                throw DomainError.importRowInvalid(line: line, field: "", problem: "\(fields.count) columns, expected \(csvColumnCount)")
            }
            raw = RawRow(csv: fields)
            guard raw.kind != "institution" else {
                throw DomainError.importRowInvalid(line: line, field: "kind", problem: "institution rows are JSON lines only")
            }
        }
        return try row(from: raw, line: line, today: today)
    }

    static func row(from raw: RawRow, line: Int, today: CivilDate) throws(DomainError) -> RegistryRow {
        func fail(_ field: String, _ problem: String) -> DomainError {
            DomainError.importRowInvalid(line: line, field: field, problem: problem)
        }
        if raw.kind == "institution" {
            // R-SETL-1: a designated institution (JSON lines only: the CSV columns are a person's).
            do {
                return .institution(
                    try Institution.validated(
                        code: raw.institution_code ?? "", name: raw.name ?? "",
                        kind: raw.institution_kind.flatMap(InstitutionKind.init(rawValue:)),
                        regionCode: raw.region_code ?? "", validFrom: raw.valid_from_date ?? "", validTo: raw.valid_to_date ?? ""))
            } catch {
                throw fail(String(error.field.dropFirst("institution.".count)), error.problem)
            }
        }
        guard let idText = raw.id_number else { throw fail("id_number", "is required") }
        let id: ResidentID
        do { id = try ResidentID.parse(idText, today: today) } catch {
            throw fail("id_number", "\(error.reason): \(error.details["problem"] ?? "")")
        }
        switch raw.kind {
        case "person":
            guard let name = raw.name?.trimmingWhitespace, TextLimits.personName.admits(name) else {
                throw fail("name", "is required, \(TextLimits.personName)")
            }
            guard let type = raw.insurance_type.flatMap(InsuranceType.init(rawValue:)) else {
                throw fail("insurance_type", "must be one of employee, resident, none")
            }
            guard let status = raw.status.flatMap(InsuranceStatus.init(rawValue:)) else {
                throw fail("status", "must be one of normal, suspended, terminated")
            }
            guard let region = raw.region_code.flatMap(RegionCode.init) else {
                throw fail("region_code", "must be a six-digit GB/T 2260 code")
            }
            let category = raw.special_category.flatMap { $0.isEmpty ? nil : $0 }
            if let category, !isCategoryName(category) { throw fail("special_category", "must be lower_snake_case, at most 64 characters") }
            let years = raw.paid_premium_years ?? []
            guard years.allSatisfy({ (2000...2200).contains($0) }), Set(years).count == years.count else {
                throw fail("paid_premium_years", "must be distinct years 2000…2200")
            }
            let person = Person(id: id, name: name, insuranceType: type, status: status, region: region, specialCategory: category)
            return .person(person, paidYears: years.sorted())
        case "credit":
            guard let fen = raw.amount_fen else { throw fail("amount_fen", "must be a whole number of fen, 1…\(Money.max.fen)") }
            // R-ACCT-3: absent means the current year, as in files written before the column.
            guard let part = raw.balance_part.map(BalancePart.init(rawValue:)) ?? .currentYear else {
                throw fail("balance_part", "must be current_year or carry_over")
            }
            do {
                let reference = try CreditRules.validate(amount: Money(fen: fen), reference: raw.reference ?? "")
                return .credit(id, amount: Money(fen: fen), part: part, reference: reference)
            } catch {
                throw fail(error.details["field"] ?? "", error.details["problem"] ?? error.message)
            }
        default:
            throw fail("kind", "must be person, credit or institution (institution rows in JSON lines only)")
        }
    }

    /// Whether a special-category name is lower_snake_case and at most 64 characters.
    public static func isCategoryName(_ name: String) -> Bool {
        TextLimits.specialCategory.admits(name) && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || $0 == "_" }
    }

    /// Splits one CSV line (RFC 4180 quoting, no embedded newlines); nil when quotes do not balance.
    static func splitCSV(_ line: Substring) -> [String]? {
        var fields: [String] = []
        var current = ""
        var quoted = false
        var iterator = line.makeIterator()
        var pending: Character? = nil
        while let c = pending ?? iterator.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    if let next = iterator.next() {
                        if next == "\"" {
                            current.append("\"")
                        } else {
                            quoted = false
                            pending = next
                        }
                    } else {
                        quoted = false
                    }
                } else {
                    current.append(c)
                }
            } else if c == "\"" && current.isEmpty {
                quoted = true
            } else if c == "," {
                fields.append(current)
                current = ""
            } else if c != "\r" {
                current.append(c)
            }
        }
        guard !quoted else { return nil }
        fields.append(current)
        return fields
    }
}
