import GRPCCore
import GongjiProto

/// The error of an RPC whose issue has not landed: it says so instead of pretending.
func unimplemented(_ method: String) -> RPCError {
    RPCError(code: .unimplemented, message: "\(method) is part of the gongji.v1 contract but not implemented yet")
}

/// gongji.v1.PremiumService until the payment issue lands.
struct UnimplementedPremiumHandler: Gongji_V1_PremiumService.SimpleServiceProtocol {
    func quotePremium(request: Gongji_V1_QuotePremiumRequest, context: ServerContext) async throws -> Gongji_V1_QuotePremiumResponse { throw unimplemented("QuotePremium") }
    func payPremium(request: Gongji_V1_PayPremiumRequest, context: ServerContext) async throws -> Gongji_V1_PayPremiumResponse { throw unimplemented("PayPremium") }
    func getPayment(request: Gongji_V1_GetPaymentRequest, context: ServerContext) async throws -> Gongji_V1_GetPaymentResponse { throw unimplemented("GetPayment") }
    func listAccountDeductions(request: Gongji_V1_ListAccountDeductionsRequest, context: ServerContext) async throws -> Gongji_V1_ListAccountDeductionsResponse { throw unimplemented("ListAccountDeductions") }
    func listMemberPayments(request: Gongji_V1_ListMemberPaymentsRequest, context: ServerContext) async throws -> Gongji_V1_ListMemberPaymentsResponse { throw unimplemented("ListMemberPayments") }
    func getReceipt(request: Gongji_V1_GetReceiptRequest, context: ServerContext) async throws -> Gongji_V1_GetReceiptResponse { throw unimplemented("GetReceipt") }
    func verifyReceipt(request: Gongji_V1_VerifyReceiptRequest, context: ServerContext) async throws -> Gongji_V1_VerifyReceiptResponse { throw unimplemented("VerifyReceipt") }
}
