import GRPCCore
import GongjiProto

/// The error of an RPC whose issue has not landed: it says so instead of pretending.
func unimplemented(_ method: String) -> RPCError {
    RPCError(code: .unimplemented, message: "\(method) is part of the gongji.v1 contract but not implemented yet")
}

/// gongji.v1.BindingService until the binding issue lands.
struct UnimplementedBindingHandler: Gongji_V1_BindingService.SimpleServiceProtocol {
    func createBinding(request: Gongji_V1_CreateBindingRequest, context: ServerContext) async throws -> Gongji_V1_CreateBindingResponse { throw unimplemented("CreateBinding") }
    func getBinding(request: Gongji_V1_GetBindingRequest, context: ServerContext) async throws -> Gongji_V1_GetBindingResponse { throw unimplemented("GetBinding") }
    func listBindings(request: Gongji_V1_ListBindingsRequest, context: ServerContext) async throws -> Gongji_V1_ListBindingsResponse { throw unimplemented("ListBindings") }
    func revokeBinding(request: Gongji_V1_RevokeBindingRequest, context: ServerContext) async throws -> Gongji_V1_RevokeBindingResponse { throw unimplemented("RevokeBinding") }
}

/// gongji.v1.DocumentService until the binding issue lands.
struct UnimplementedDocumentHandler: Gongji_V1_DocumentService.SimpleServiceProtocol {
    func uploadIdentityDocument(request: RPCAsyncSequence<Gongji_V1_UploadIdentityDocumentRequest, any Error>,
                                context: ServerContext) async throws -> Gongji_V1_UploadIdentityDocumentResponse {
        throw unimplemented("UploadIdentityDocument")
    }
}

/// gongji.v1.ReviewService until the binding issue lands.
struct UnimplementedReviewHandler: Gongji_V1_ReviewService.SimpleServiceProtocol {
    func listPendingBindings(request: Gongji_V1_ListPendingBindingsRequest, context: ServerContext) async throws -> Gongji_V1_ListPendingBindingsResponse { throw unimplemented("ListPendingBindings") }
    func approveBinding(request: Gongji_V1_ApproveBindingRequest, context: ServerContext) async throws -> Gongji_V1_ApproveBindingResponse { throw unimplemented("ApproveBinding") }
    func rejectBinding(request: Gongji_V1_RejectBindingRequest, context: ServerContext) async throws -> Gongji_V1_RejectBindingResponse { throw unimplemented("RejectBinding") }
    func readIdentityDocument(request: Gongji_V1_ReadIdentityDocumentRequest, response: RPCWriter<Gongji_V1_ReadIdentityDocumentResponse>,
                              context: ServerContext) async throws { throw unimplemented("ReadIdentityDocument") }
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
