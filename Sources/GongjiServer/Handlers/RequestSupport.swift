import Crypto
import Foundation
import GRPCCore
import GongjiCore
import SwiftProtobuf

/// Builds the idempotency key of a mutation: scoped to the method and the calling system, with a
/// fingerprint of the request's content (the message with its request_id cleared).
func idempotencyKey<M: SwiftProtobuf.Message>(_ message: M, requestID: String, method: MethodDescriptor, caller: Caller,
                                              endUser: ResidentID? = nil) throws -> IdempotencyKey {
    guard TextLimits.requestID.admits(requestID) else {
        throw requestError(.invalidArgument, reason: .requestIDRequired, message: "request_id must be \(TextLimits.requestID)",
                           zh: "请求编号不能为空", field: "request_id")
    }
    var options = BinaryEncodingOptions()
    options.useDeterministicOrdering = true
    var content = Data(try message.serializedBytes(options: options) as [UInt8])
    content.append(contentsOf: Array((endUser?.value ?? "").utf8))
    return IdempotencyKey(scope: "\(method.method):\(caller.identity)", requestID: requestID, fingerprint: Data(SHA256.hash(data: content)))
}

/// The end user a gateway call acts for, from the `x-gongji-end-user` header.
func endUser(_ metadata: Metadata, today: CivilDate) throws -> ResidentID {
    guard let text = metadata[stringValues: WireNames.endUserHeader].first(where: { _ in true }), !text.isEmpty else {
        throw requestError(.unauthenticated, reason: .endUserRequired,
                           message: "gateway calls must name the end user in the \(WireNames.endUserHeader) header", zh: "缺少办理人身份信息")
    }
    do {
        return try ResidentID.parse(text, today: today)
    } catch {
        throw requestError(.unauthenticated, reason: .endUserInvalid,
                           message: "the \(WireNames.endUserHeader) header is not a valid ID number (\(error.reason))", zh: "办理人身份信息无效")
    }
}

/// Validates a field-level condition of a request.
func require(_ condition: Bool, field: String, _ message: String, zh: String) throws {
    guard condition else {
        throw requestError(.invalidArgument, reason: .invalidField, message: "\(field): \(message)", zh: zh, field: field)
    }
}
