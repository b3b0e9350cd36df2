import GRPCCore
import GRPCProtobuf
import GongjiCore
import GongjiStorage

/// The ErrorInfo domain of every Gongji error.
public let errorDomain = "gongji.v1"

extension DomainError.Category {
    /// The gRPC status code of a domain failure category.
    var rpcCode: RPCError.Code {
        switch self {
        case .invalidArgument: .invalidArgument
        case .failedPrecondition: .failedPrecondition
        case .notFound: .notFound
        case .alreadyExists: .alreadyExists
        case .permissionDenied: .permissionDenied
        case .resourceExhausted: .resourceExhausted
        case .unavailable: .unavailable
        case .aborted: .aborted
        case .outOfRange: .outOfRange
        }
    }
}

extension DomainError {
    /// The status with google.rpc details: ErrorInfo (reason, domain, values), LocalizedMessage
    /// zh-CN, BadRequest for a named field, Help for alternative channels.
    public var rpcStatus: GoogleRPCStatus {
        var details: [ErrorDetails] = [
            .errorInfo(reason: reason.name, domain: errorDomain, metadata: self.details),
            .localizedMessage(locale: "zh-CN", message: messageZH),
        ]
        if category == .invalidArgument, let field = self.details["field"] {
            details.append(.badRequest(violations: [.init(field: field, description: self.details["problem"] ?? message)]))
        }
        if !alternatives.isEmpty {
            details.append(
                .help(
                    links: alternatives.map { alternative in
                        let hotline = alternative.split(separator: " ").last.map(String.init) ?? ""
                        let url = alternative.hasPrefix("热线") ? "tel:\(hotline)" : ""
                        return .init(url: url, description: alternative)
                    }))
        }
        return GoogleRPCStatus(code: category.rpcCode, message: "\(reason): \(message)", details: details)
    }
}

/// Turns any error thrown below the handlers into an `RPCError` with details: nothing reaches a
/// client as UNKNOWN, and storage internals never reach a client at all.
func rpcError(_ error: any Error) -> RPCError {
    switch error {
    case let error as RPCError:
        // The transport reports an oversized message as a decode failure caused by RESOURCE_EXHAUSTED.
        if error.code == .internalError, let cause = error.cause as? RPCError, cause.code == .resourceExhausted { return cause }
        return error
    case let error as DomainError:
        return RPCError(error.rpcStatus)
    case let refused as SettlementRefused:
        return RPCError(refused.error.rpcStatus)
    case let error as StoreError where error.code == .documentCorrupted:
        return RPCError(
            GoogleRPCStatus(
                code: .dataLoss, message: "DOCUMENT_CORRUPTED: the stored document failed its integrity check",
                details: [
                    .errorInfo(reason: DomainError.Reason.documentCorrupted.name, domain: errorDomain, metadata: [:]),
                    .localizedMessage(locale: "zh-CN", message: "证件照片数据损坏"),
                ]))
    case let error as StoreError where error.code == .storageFull:
        return RPCError(
            GoogleRPCStatus(
                code: .resourceExhausted, message: "STORAGE_FULL: the daemon's disk is full; nothing was written, retry later",
                details: [
                    .errorInfo(reason: DomainError.Reason.storageFull.name, domain: errorDomain, metadata: [:]),
                    .localizedMessage(locale: "zh-CN", message: "存储空间不足，未写入任何数据，请稍后重试"),
                ]))
    case let error as StoreError where error.code == .documentMissing:
        return RPCError(
            GoogleRPCStatus(
                code: .dataLoss, message: "DOCUMENT_MISSING: the stored document's file is missing",
                details: [
                    .errorInfo(reason: DomainError.Reason.documentMissing.name, domain: errorDomain, metadata: [:]),
                    .localizedMessage(locale: "zh-CN", message: "证件照片文件缺失"),
                ]))
    case let error as StoreError where error.code == .unavailable:
        return RPCError(
            GoogleRPCStatus(
                code: .unavailable,
                message: "DATABASE_UNAVAILABLE: the daemon cannot reach its database; retry with the same idempotency key "
                    + "or settlement id (a change written before the connection broke is returned, not made twice)",
                details: [
                    .errorInfo(reason: DomainError.Reason.databaseUnavailable.name, domain: errorDomain, metadata: [:]),
                    .localizedMessage(locale: "zh-CN", message: "数据库暂时不可用，请以相同的幂等键或结算流水号稍后重试（已写入的变更将返回原结果，不会重复）"),
                ]))
    case is CancellationError:
        return RPCError(code: .cancelled, message: "the call was cancelled")
    default:
        return RPCError(
            GoogleRPCStatus(
                code: .internalError, message: "INTERNAL: the daemon could not complete the call; see its log",
                details: [
                    .errorInfo(reason: DomainError.Reason.internal.name, domain: errorDomain, metadata: [:]),
                    .localizedMessage(locale: "zh-CN", message: "系统内部错误，请稍后重试"),
                ]))
    }
}

/// A request-level failure raised by the gRPC layer itself (bad field, missing end user).
func requestError(
    _ code: RPCError.Code, reason: DomainError.Reason, message: String, zh: String, field: String? = nil,
    metadata: [String: String] = [:]
) -> RPCError {
    var details: [ErrorDetails] = [
        .errorInfo(reason: reason.name, domain: errorDomain, metadata: metadata.merging(field.map { ["field": $0] } ?? [:]) { a, _ in a }),
        .localizedMessage(locale: "zh-CN", message: zh),
    ]
    if let field, code == .invalidArgument { details.append(.badRequest(violations: [.init(field: field, description: message)])) }
    return RPCError(GoogleRPCStatus(code: code, message: "\(reason): \(message)", details: details))
}
