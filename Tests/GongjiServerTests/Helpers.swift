import GRPCCore
import GRPCProtobuf

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
