import GRPCCore
import GRPCProtobuf
import GongjiClient
import GongjiCore
import GongjiDev
import GongjiSQLite
import GongjiStorage

@testable import GongjiServer

extension RPCError {
    /// The ErrorInfo reason from the status details, if any.
    var reason: String? { (try? unpackGoogleRPCStatus())??.details.lazy.compactMap(\.errorInfo).first?.reason }
    /// The ErrorInfo metadata.
    var reasonMetadata: [String: String] { (try? unpackGoogleRPCStatus())??.details.lazy.compactMap(\.errorInfo).first?.metadata ?? [:] }
    /// The BadRequest field violations as (field, description).
    var violations: [(String, String)] {
        ((try? unpackGoogleRPCStatus())??.details.lazy.compactMap(\.badRequest).first?.violations ?? [])
            .map { ($0.field, $0.violationDescription) }
    }
    /// The zh-CN localized message.
    var localized: String? { (try? unpackGoogleRPCStatus())??.details.lazy.compactMap(\.localizedMessage).first?.message }
    /// The Help links' descriptions.
    var helpDescriptions: [String] {
        ((try? unpackGoogleRPCStatus())??.details.lazy.compactMap(\.help).first?.links ?? []).map(\.linkDescription)
    }
}

// Shorthands for tests that set up state through the service or the store directly: one clock
// reading now, no idempotency key.
extension GongjiService {
    func importRows(_ rows: [RegistryRow]) async throws -> ImportSummary { try await importRows(rows, at: now()) }
    func person(idNumber: String) async throws -> PersonRecord { try await person(idNumber: idNumber, at: now()) }
    func reviewBinding(
        id: String, decision: BindingRules.ReviewDecision, key: IdempotencyKey?, actor: ChangeActor
    ) async throws -> BindingRecord {
        try await reviewBinding(id: id, decision: decision, key: key, actor: actor, at: now())
    }
}

extension FamilyAccountStore {
    func rollOver(into year: Int, today: CivilDate, now: Int64) async throws -> Int {
        try await rollOver(into: year, key: nil, today: today, now: now)
    }
    func credit(
        _ id: ResidentID, amount: Money, part: BalancePart, reference: String, now: Int64
    ) async throws -> (account: PersonalAccount, applied: Bool) {
        try await credit(id, amount: amount, part: part, reference: reference, key: nil, now: now)
    }
}
