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
