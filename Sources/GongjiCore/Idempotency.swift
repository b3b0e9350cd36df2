import Foundation

/// R-PAY-9 and every other retried mutation: a request id names one request.
public enum Idempotency {
    /// An earlier request with the same key stored `fingerprint`: the same content is a retry
    /// (its stored result is returned); other content under the same request id is refused.
    public static func checkRetry(of key: IdempotencyKey, storedFingerprint: Data) throws(DomainError) {
        guard storedFingerprint == key.fingerprint else {
            if key.kind == .settlement { throw .settlementIDReused(key.requestID) }
            throw DomainError(
                reason: .requestIDReused, category: .alreadyExists,
                message: "request_id \(key.requestID) was used before for a different request",
                messageZH: "请求编号已被其他请求使用", details: ["request_id": key.requestID])
        }
    }
}
