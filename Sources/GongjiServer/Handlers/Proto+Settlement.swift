import Foundation
import GongjiCore
import GongjiProto
import SwiftProtobuf

extension InstitutionKind {
    init?(_ proto: Gongji_V1_InstitutionKind) {
        switch proto {
        case .hospital: self = .hospital
        case .pharmacy: self = .pharmacy
        default: return nil
        }
    }

    var proto: Gongji_V1_InstitutionKind { self == .hospital ? .hospital : .pharmacy }
}

extension Gongji_V1_Institution {
    init(_ institution: Institution) {
        self.init()
        institutionCode = institution.code.value
        name = institution.name
        kind = institution.kind.proto
        regionCode = institution.region.description
        validFromDate = institution.validFrom.description
        validToDate = institution.validTo?.description ?? ""
    }

    /// The domain institution; field problems are INVALID_FIELD naming `institution.<field>`.
    func domain() throws -> Institution {
        try Institution.validated(
            code: institutionCode, name: name, kind: InstitutionKind(kind), regionCode: regionCode,
            validFrom: validFromDate, validTo: validToDate)
    }
}

extension Credential {
    init(_ proto: Gongji_V1_Credential) {
        let kind: Credential.Kind? =
            switch proto.type {
            case .electronicVoucher: .electronicVoucher
            case .idCard: .idCard
            case .socialSecurityCard: .socialSecurityCard
            default: nil
            }
        self.init(kind: kind, holderIDNumber: proto.holderIDNumber)
    }
}

extension FamilyFundNote {
    var proto: Gongji_V1_FamilyFundNote {
        switch self {
        case .noBinding: .noBinding
        case .bindingNotActive: .bindingNotActive
        case .bindingNotStarted: .bindingNotStarted
        case .regionSuspended: .regionSuspended
        case .limitReached: .limitReached
        case .balanceEmpty: .balanceEmpty
        case .notNeeded: .notNeeded
        case .regionNotSupported: .regionNotSupported
        case .frozen: .frozen
        case .crossProvinceWallet: .crossProvinceWallet
        }
    }
}

extension Gongji_V1_SettlementSplit {
    init(_ split: SettlementSplit) {
        self.init()
        amountFen = split.amount.fen
        acctPay = split.acctPay.fen
        acctMulaidPay = split.acctMulaidPay.fen
        psnCashPay = split.cashPay.fen
        postings = split.postings.map { posting in
            .with {
                $0.accountIDNumber = posting.owner.value
                $0.part = posting.part.proto
                $0.amountFen = posting.amount.fen
                $0.bindingID = posting.bindingID ?? ""
                $0.fromWallet = posting.fromWallet
            }
        }
        family = split.family.map { use in
            .with {
                $0.bindingID = use.bindingID
                $0.authorizerIDNumber = use.authorizer.value
                $0.amountFen = use.amount.fen
                $0.note = use.note?.proto ?? .unspecified
            }
        }
        familyZeroNote = split.familyZeroNote?.proto ?? .unspecified
    }
}

extension Gongji_V1_Settlement {
    init(_ record: SettlementRecord) {
        self.init()
        settlementID = record.settlementID
        institution = Gongji_V1_Institution(record.institution)
        patientIDNumber = record.patient.value
        patientName = record.patientName
        split = Gongji_V1_SettlementSplit(record.split)
        status = record.status == .settled ? .settled : .reversed
        settleTime = Google_Protobuf_Timestamp(unix: record.settledAt)
        if let reversedAt = record.reversedAt { reverseTime = Google_Protobuf_Timestamp(unix: reversedAt) }
    }
}

extension Gongji_V1_SettlementTotals {
    init(_ totals: SettlementTotals) {
        self.init()
        settledCount = totals.settledCount
        settledAcctPay = totals.settledAcctPay.fen
        settledAcctMulaidPay = totals.settledAcctMulaidPay.fen
        reversedCount = totals.reversedCount
        reversedAcctPay = totals.reversedAcctPay.fen
        reversedAcctMulaidPay = totals.reversedAcctMulaidPay.fen
    }
}

extension ReconciliationEntry {
    init(_ proto: Gongji_V1_ReconciliationEntry) {
        self.init(
            settlementID: proto.settlementID, acctPay: Money(fen: proto.acctPay), acctMulaidPay: Money(fen: proto.acctMulaidPay),
            reversed: proto.reversed)
    }

    var proto: Gongji_V1_ReconciliationEntry {
        .with {
            $0.settlementID = settlementID
            $0.acctPay = acctPay.fen
            $0.acctMulaidPay = acctMulaidPay.fen
            $0.reversed = reversed
        }
    }
}

extension Gongji_V1_AccountUse {
    init(_ use: AccountUseRecord) {
        self.init()
        kind =
            switch use.kind {
            case .premium: .premium
            case .settlement: .settlement
            case .reversal: .reversal
            case .walletTransfer: .walletTransfer
            case .walletTransferAccepted: .walletTransferAccepted
            case .walletTransferDeclined: .walletTransferDeclined
            case .walletReturned: .walletReturned
            }
        transferID = use.reference ?? ""
        accountIDNumber = use.accountOwner.value
        memberIDNumber = use.member.value
        memberName = use.memberName
        amountFen = use.amount.fen
        time = Google_Protobuf_Timestamp(unix: use.at)
        paymentID = use.paymentID ?? ""
        settlementID = use.settlementID ?? ""
        if let institution = use.institution {
            institutionCode = institution.code.value
            institutionName = institution.name
            institutionKind = institution.kind.proto
        }
    }
}
