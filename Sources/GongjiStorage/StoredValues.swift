import Foundation
import GongjiCore

extension ResidentID {
    /// An ID number read back from a database (validated when it was written).
    public static func stored(_ text: String) throws -> ResidentID {
        do { return try ResidentID.parse(text, today: CivilDate.lastOfYear(9999)) } catch {
            throw StoreError(.database, "a stored ID number does not decode (\(error.reason))")
        }
    }
}

/// How every backend keeps a settlement's per-binding uses: a JSON array in `settlement.family`.
public struct StoredFamilyUse: Codable, Sendable {
    var binding: String
    var authorizer: String
    var fen: Int64
    var note: String?

    /// The stored form of `use`.
    public init(_ use: FamilyFundUse) {
        binding = use.bindingID
        authorizer = use.authorizer.value
        fen = use.amount.fen
        note = use.note?.rawValue
    }

    /// The use it stores.
    public func use() throws -> FamilyFundUse {
        FamilyFundUse(
            bindingID: binding, authorizer: try ResidentID.stored(authorizer), amount: Money(fen: fen),
            note: note.flatMap(FamilyFundNote.init(rawValue:)))
    }

    /// The JSON text of a settlement's uses.
    public static func encode(_ uses: [FamilyFundUse]) throws -> String {
        String(decoding: try JSONEncoder().encode(uses.map(StoredFamilyUse.init)), as: UTF8.self)
    }

    /// The uses of a settlement from their JSON text.
    public static func decode(_ text: String) throws -> [FamilyFundUse] {
        try JSONDecoder().decode([StoredFamilyUse].self, from: Data(text.utf8)).map { try $0.use() }
    }
}

/// An `event` row as every backend keeps it (the columns of R-EVT-1's journal).
public struct StoredEvent: Sendable {
    /// The columns, in the order both schemas declare them.
    public static let columns =
        "seq, kind, at, authorizer, member, member_name_masked, binding_id, amount_fen, parts, institution_code, institution_name, institution_kind, balance_after_fen, reference"

    /// The event of a row's values.
    public static func event(
        position: Int64, kind: String, at: Int64, authorizer: String, member: String, memberNameMasked: String, bindingID: String?,
        amountFen: Int64?, parts: String, institutionCode: String?, institutionName: String?, institutionKind: String?,
        balanceAfterFen: Int64?, reference: String?
    ) throws -> AccountEvent {
        guard let kind = AccountEvent.Kind(rawValue: kind) else { throw StoreError(.database, "an event's kind does not decode") }
        var institution: AccountEvent.InstitutionRef?
        if let institutionCode, let institutionName, let institutionKind {
            guard let code = try? InstitutionCode.parse(institutionCode), let kind = InstitutionKind(rawValue: institutionKind) else {
                throw StoreError(.database, "an event's institution does not decode")
            }
            institution = AccountEvent.InstitutionRef(code: code, name: institutionName, kind: kind)
        }
        let parsedParts = try parts.split(separator: ",").map { part in
            guard let parsed = BalancePart(rawValue: String(part)) else { throw StoreError(.database, "an event's part does not decode") }
            return parsed
        }
        return AccountEvent(
            position: position, kind: kind, at: at, authorizer: try ResidentID.stored(authorizer), member: try ResidentID.stored(member),
            memberName: memberNameMasked, bindingID: bindingID, amount: amountFen.map(Money.init(fen:)), parts: parsedParts,
            institution: institution, balanceAfter: balanceAfterFen.map(Money.init(fen:)), reference: reference)
    }

    /// The `parts` column of `event`.
    public static func parts(_ event: AccountEvent) -> String { event.parts.map(\.rawValue).joined(separator: ",") }
}
