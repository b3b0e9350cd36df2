import Crypto
import Foundation
import GRPCCore
import GongjiCore
import SwiftProtobuf

/// The idempotency key of a mutation (R-PAY-9), the one place keys are made: scoped to the
/// generated method descriptor's method and to whose id it is — the calling system's identity,
/// or for Settle the institution (R-SETL-4: `Settle:<institution code>`, the settlement id as the
/// request id, which the core validates) — with the request's `fingerprint`.
func idempotencyKey<M: SwiftProtobuf.Message>(
    _ message: M, requestID: String, method: MethodDescriptor, caller: Caller,
    endUser: ResidentID? = nil
) throws -> IdempotencyKey {
    guard TextLimits.requestID.admits(requestID) else {
        throw requestError(
            .invalidArgument, reason: .requestIDRequired, message: "request_id must be \(TextLimits.requestID)",
            zh: "请求编号不能为空", field: "request_id")
    }
    return IdempotencyKey(
        scope: "\(method.method):\(caller.identity)", requestID: requestID, fingerprint: try fingerprint(message, endUser: endUser))
}

/// The key of a settlement: its institution's settlement id (see `idempotencyKey`).
func settlementKey<M: SwiftProtobuf.Message>(
    _ message: M, settlementID: String, institutionCode: String,
    method: MethodDescriptor
) throws -> IdempotencyKey {
    IdempotencyKey(
        scope: "\(method.method):\(institutionCode)", requestID: settlementID, fingerprint: try fingerprint(message), kind: .settlement)
}

/// What a retry must repeat: SHA-256 of the whole message in deterministic binary encoding — its
/// request id (or settlement id) included, which changes nothing, as the key is that id — then,
/// for a gateway call, the end user's ID number (the same request for another person is other
/// content).
func fingerprint<M: SwiftProtobuf.Message>(_ message: M, endUser: ResidentID? = nil) throws -> Data {
    var options = BinaryEncodingOptions()
    options.useDeterministicOrdering = true
    var content = Data(try message.serializedBytes(options: options) as [UInt8])
    content.append(contentsOf: Array((endUser?.value ?? "").utf8))
    return Data(SHA256.hash(data: content))
}

/// The end user a gateway call acts for, from the `x-gongji-end-user` header.
func endUser(_ metadata: Metadata, today: CivilDate) throws -> ResidentID {
    guard let text = metadata[stringValues: WireNames.endUserHeader].first(where: { _ in true }), !text.isEmpty else {
        throw requestError(
            .unauthenticated, reason: .endUserRequired,
            message: "gateway calls must name the end user in the \(WireNames.endUserHeader) header", zh: "缺少办理人身份信息")
    }
    do {
        return try ResidentID.parse(text, today: today)
    } catch {
        throw requestError(
            .unauthenticated, reason: .endUserInvalid,
            message: "the \(WireNames.endUserHeader) header is not a valid ID number (\(error.reason))", zh: "办理人身份信息无效")
    }
}

/// Validates a field-level condition of a request.
func require(_ condition: Bool, field: String, _ message: String, zh: String) throws {
    guard condition else {
        throw requestError(.invalidArgument, reason: .invalidField, message: "\(field): \(message)", zh: zh, field: field)
    }
}
