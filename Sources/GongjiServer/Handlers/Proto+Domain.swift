import Foundation
import GongjiCore
import GongjiProto
import GongjiStore

extension InsuranceType {
    init?(_ proto: Gongji_V1_InsuranceType) {
        switch proto {
        case .employee: self = .employee
        case .resident: self = .resident
        case .none: self = .none
        default: return nil
        }
    }

    var proto: Gongji_V1_InsuranceType {
        switch self {
        case .employee: .employee
        case .resident: .resident
        case .none: .none
        }
    }
}

extension InsuranceStatus {
    init?(_ proto: Gongji_V1_InsuranceStatus) {
        switch proto {
        case .normal: self = .normal
        case .suspended: self = .suspended
        case .terminated: self = .terminated
        default: return nil
        }
    }

    var proto: Gongji_V1_InsuranceStatus {
        switch self {
        case .normal: .normal
        case .suspended: .suspended
        case .terminated: .terminated
        }
    }
}

extension Gongji_V1_Person {
    init(_ record: PersonRecord) {
        self.init()
        idNumber = record.person.id.value
        name = record.person.name
        insuranceType = record.person.insuranceType.proto
        status = record.person.status.proto
        regionCode = record.person.region.description
        specialCategory = record.person.specialCategory ?? ""
        paidPremiumYears = record.paidYears.map(Int32.init)
    }

    /// Validates the message as a registry row (the same rules as an import line).
    func registryRow(today: CivilDate) throws -> RegistryRow {
        var fields: [String: Any] = ["kind": "person", "id_number": idNumber, "name": name, "region_code": regionCode]
        if let type = InsuranceType(insuranceType) { fields["insurance_type"] = type.rawValue }
        if let status = InsuranceStatus(status) { fields["status"] = status.rawValue }
        if !specialCategory.isEmpty { fields["special_category"] = specialCategory }
        fields["paid_premium_years"] = paidPremiumYears.map(Int.init)
        let json = try JSONSerialization.data(withJSONObject: fields)
        do {
            return try RegistryImport.parse(Substring(String(decoding: json, as: UTF8.self)), format: .jsonLines, line: 1, today: today)
        } catch {
            throw requestError(.invalidArgument, reason: "INVALID_FIELD", message: "person.\(error.field): \(error.problem)",
                               zh: "人员信息无效", field: "person.\(error.field)")
        }
    }
}

extension Gongji_V1_Account {
    init(_ account: PersonalAccount) {
        self.init()
        idNumber = account.owner.value
        year = Int32(account.year)
        currentYearFen = account.currentYear.fen
        carryOverFen = account.carryOver.fen
    }
}

extension Gongji_V1_Region {
    init(_ policy: RegionPolicy) {
        self.init()
        regionCode = policy.region.description
        name = policy.name
        suspended = policy.availability.suspended
        alternativeChannels = policy.availability.alternativeChannels
        hotline = policy.availability.hotline ?? ""
    }
}
