import Foundation
import GongjiCore
import GongjiProto
import SwiftProtobuf

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

extension Relationship {
    init?(_ proto: Gongji_V1_Relationship) {
        switch proto {
        case .spouse: self = .spouse
        case .parent: self = .parent
        case .child: self = .child
        case .grandparent: self = .grandparent
        case .grandchild: self = .grandchild
        case .sibling: self = .sibling
        default: return nil
        }
    }

    var proto: Gongji_V1_Relationship {
        switch self {
        case .spouse: .spouse
        case .parent: .parent
        case .child: .child
        case .grandparent: .grandparent
        case .grandchild: .grandchild
        case .sibling: .sibling
        }
    }
}

extension BindingStatus {
    var proto: Gongji_V1_BindingStatus {
        switch self {
        case .pending: .pending
        case .active: .active
        case .rejected: .rejected
        case .revoked: .revoked
        }
    }
}

extension DocumentSide {
    init?(_ proto: Gongji_V1_DocumentSide) {
        switch proto {
        case .front: self = .front
        case .back: self = .back
        default: return nil
        }
    }

    var proto: Gongji_V1_DocumentSide { self == .front ? .front : .back }
}

extension Google_Protobuf_Timestamp {
    init(unix: Int64) {
        self.init()
        seconds = unix
    }
}

extension Gongji_V1_Binding {
    init(_ record: BindingRecord) {
        self.init()
        let b = record.binding
        bindingID = b.id
        authorizerIDNumber = b.authorizer.value
        memberIDNumber = b.member.value
        memberName = b.memberName
        relationship = b.relationship.proto
        regionCode = b.region.description
        startDate = b.startDate.description
        status = b.status.proto
        newborn = b.isNewborn
        if let commitment = b.commitment {
            self.commitment = .with {
                $0.version = commitment.version
                $0.acceptTime = Google_Protobuf_Timestamp(unix: commitment.acceptedAtUnix)
            }
        }
        frontDocumentID = b.frontDocument ?? ""
        backDocumentID = b.backDocument ?? ""
        rejectionReason = b.rejectionReason ?? ""
        createTime = Google_Protobuf_Timestamp(unix: record.createdAt)
        updateTime = Google_Protobuf_Timestamp(unix: record.updatedAt)
        if let limit = b.medicalLimit { medicalLimitFen = limit.fen }
        endedBy =
            switch b.endedBy {
            case .authorizer?: .authorizer
            case .member?: .member
            case .registry?: .registry
            case nil: .unspecified
            }
        endReason = b.endReason ?? ""
        familyUseFrozen = b.isFrozen
        if let limit = b.settlementLimit { settlementLimitFen = limit.fen }
        if let limit = b.dailyLimit { dailyLimitFen = limit.fen }
    }
}

extension Gongji_V1_CreateBindingRequest {
    /// The domain request; field-level problems are INVALID_ARGUMENT naming the field.
    func domainRequest() throws -> BindingRequest {
        guard let relationship = Relationship(relationship) else {
            throw requestError(
                .invalidArgument, reason: .invalidField, message: "relationship must be SPOUSE, PARENT or CHILD",
                zh: "请选择与授权人的关系", field: "relationship")
        }
        guard let start = CivilDate(iso: startDate) else {
            throw requestError(
                .invalidArgument, reason: .invalidField, message: "start_date must be a date YYYY-MM-DD",
                zh: "授权开始日期无效", field: "start_date")
        }
        return BindingRequest(
            memberIDNumber: memberIDNumber, memberName: memberName, relationship: relationship, startDate: start,
            commitment: hasCommitment
                ? CommitmentAcceptance(version: commitment.version, acceptedAtUnix: commitment.acceptTime.seconds) : nil,
            frontDocument: frontDocumentID.isEmpty ? nil : frontDocumentID,
            backDocument: backDocumentID.isEmpty ? nil : backDocumentID)
    }
}

extension Gongji_V1_PremiumLine {
    init(_ line: PremiumLine) {
        self.init()
        year = Int32(line.year)
        amountFen = line.amount.fen
        category = line.category ?? ""
        late = line.isLate
        benefitStartDate = line.benefitStart?.description ?? ""
        enrollmentOnly = line.isEnrollmentOnly
    }
}

extension BalancePart {
    var proto: Gongji_V1_BalancePart { self == .currentYear ? .currentYear : .carryOver }

    /// A request's part; unspecified is the current year (R-ACCT-3: requests written before the
    /// field existed meant it), nil for a value this version does not know.
    init?(_ proto: Gongji_V1_BalancePart) {
        switch proto {
        case .unspecified, .currentYear: self = .currentYear
        case .carryOver: self = .carryOver
        case .UNRECOGNIZED: return nil
        }
    }
}

extension Gongji_V1_Payment {
    init(_ record: PaymentRecord) {
        self.init()
        fromWallet = record.fromWallet
        kind = record.kind.proto
        paymentID = record.id
        bindingID = record.bindingID
        authorizerIDNumber = record.authorizer.value
        memberIDNumber = record.member.value
        memberName = record.memberName
        lines = record.lines.map(Gongji_V1_PremiumLine.init)
        totalFen = record.total.fen
        postings = record.postings.map { posting in
            .with {
                $0.part = posting.part.proto
                $0.amountFen = posting.amount.fen
            }
        }
        if let external = record.external {
            self.external = .with {
                $0.amountFen = external.amount.fen
                $0.reference = external.reference
            }
        }
        receiptNumber = record.receiptNumber
        createTime = Google_Protobuf_Timestamp(unix: record.createdAt)
        regionCode = record.region.description
    }
}

extension Gongji_V1_Receipt {
    init(_ record: PaymentRecord) {
        self.init()
        receiptNumber = record.receiptNumber
        kind = record.kind.proto
        paymentID = record.id
        payerIDNumberMasked = record.authorizer.masked
        payerNameMasked = maskName(record.authorizerName)
        memberIDNumberMasked = record.member.masked
        memberNameMasked = maskName(record.memberName)
        years = record.lines.map { Int32($0.year) }
        totalFen = record.total.fen
        accountFen = record.accountPart.fen
        externalFen = record.external?.amount.fen ?? 0
        externalReference = record.external?.reference ?? ""
        regionCode = record.region.description
        issueTime = Google_Protobuf_Timestamp(unix: record.createdAt)
        verificationCode = record.verificationCode
    }
}

extension Gongji_V1_RegionPolicy {
    init(_ policy: RegionPolicy) {
        self.init()
        regionCode = policy.region.description
        name = policy.name
        authorizer = .with {
            $0.scope = policy.authorizer.scope.rawValue
            $0.requirePositiveBalance = policy.authorizer.requirePositiveBalance
        }
        member = .with {
            $0.insuranceTypes = policy.member.insuranceTypes.map(\.proto)
            $0.relationships = policy.member.relationships.map(\.proto)
            if let limit = policy.member.limit { $0.limit = Int32(limit) }
            if let days = policy.member.newbornDays { $0.newbornDays = Int32(days) }
        }
        materials = .with {
            $0.commitmentVersions = policy.materials.commitmentVersions
            $0.idImages = policy.materials.idImages
        }
        reviewed = policy.review == .reviewer
        payment = .with {
            $0.balanceParts = policy.payment.balanceParts.map(\.proto)
            $0.externalShortfall = policy.payment.externalShortfall
            $0.memberBalanceMustBeZero = policy.payment.memberBalanceMustBeZero
            $0.waitingPeriodDays = Int32(policy.payment.waitingPeriodDays)
            $0.yearsPerPaymentMax = Int32(policy.payment.yearsPerPaymentMax)
        }
        premiums = policy.premiums.map { year in
            .with {
                $0.year = Int32(year.year)
                if let amount = year.amount { $0.amountFen = amount.fen }
                $0.categoryAmountsFen = year.categoryAmounts.mapValues(\.fen)
                $0.windowStartDate = year.windowStart.description
                $0.windowEndDate = year.windowEnd.description
                $0.note = year.note ?? ""
            }
        }
        longTermCare = (policy.longTermCare ?? []).map { year in
            .with {
                $0.year = Int32(year.year)
                if let amount = year.amount { $0.amountFen = amount.fen }
                $0.categoryAmountsFen = year.categoryAmounts.mapValues(\.fen)
                $0.windowStartDate = year.windowStart.description
                $0.windowEndDate = year.windowEnd.description
                $0.note = year.note ?? ""
            }
        }
        availability = Gongji_V1_Region(policy)
        let terms = policy.settlementTerms
        settlement = .with {
            $0.reversalDays = Int32(terms.reversalDays)
            if let preset = terms.medicalLimitDefault { $0.medicalLimitDefaultFen = preset.fen }
            if let max = terms.medicalLimitMax { $0.medicalLimitMaxFen = max.fen }
            if let preset = terms.settlementLimitDefault { $0.settlementLimitDefaultFen = preset.fen }
            if let max = terms.settlementLimitMax { $0.settlementLimitMaxFen = max.fen }
            if let preset = terms.dailyLimitDefault { $0.dailyLimitDefaultFen = preset.fen }
            if let max = terms.dailyLimitMax { $0.dailyLimitMaxFen = max.fen }
        }
        if let terms = policy.crossProvince {
            crossProvince = .with {
                $0.enabled = terms.enabled
                $0.transferMaxFen = terms.transferMax.fen
                $0.transfersPerDay = Int32(terms.transfersPerDay)
                $0.quietFrom = terms.quietFrom.description
                $0.quietUntil = terms.quietUntil.description
                $0.returnAt = terms.returnAt.description
            }
        }
    }
}
