import GRPCCore
import GongjiCore
import GongjiProto

/// gongji.v1.PremiumService (gateway, acting for the end user; VerifyReceipt for every role).
struct PremiumHandler: Gongji_V1_PremiumService.ServiceProtocol {
    let service: GongjiService
    let metrics: DaemonMetrics

    func quotePremium(
        request: ServerRequest<Gongji_V1_QuotePremiumRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Gongji_V1_QuotePremiumResponse> {
        let time = service.now()
        let user = try endUser(request.metadata, today: time.today)
        let quote = try await service.quote(
            bindingID: request.message.bindingID, years: request.message.years.map(Int.init), kind: PremiumKind(request.message.kind),
            endUser: user, at: time)
        return ServerResponse(
            message: .with {
                $0.lines = quote.lines.map(Gongji_V1_PremiumLine.init)
                $0.totalFen = quote.total.fen
                $0.availableFen = quote.available.fen
                $0.accountPartFen = quote.accountPart.fen
                $0.shortfallFen = quote.shortfall.fen
                $0.externalShortfallAllowed = quote.externalShortfallAllowed
                if let suspension = quote.paymentSuspension {
                    $0.paymentSuspended = true
                    $0.alternativeChannels = suspension.alternativeChannels
                    $0.hotline = suspension.hotline ?? ""
                }
            })
    }

    func payPremium(
        request: ServerRequest<Gongji_V1_PayPremiumRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Gongji_V1_PayPremiumResponse> {
        let time = service.now()
        let user = try endUser(request.metadata, today: time.today)
        let message = request.message
        let key = try idempotencyKey(
            message, requestID: message.requestID, method: context.descriptor, caller: context.caller(service.state),
            endUser: user)
        let external =
            message.hasExternal
            ? ExternalPayment(amount: Money(fen: message.external.amountFen), reference: message.external.reference) : nil
        let order = PaymentOrder(
            bindingID: message.bindingID, years: message.years.map(Int.init),
            expectedTotal: Money(fen: message.expectedTotalFen), external: external, kind: PremiumKind(message.kind))
        let started = ContinuousClock.now
        let paid: Answered<PaymentRecord>
        do {
            paid = try await service.pay(order, endUser: user, key: key, at: time)
        } catch {
            metrics.recordMoneyCall("payment", result: error is DomainError ? "refused" : "failed", duration: ContinuousClock.now - started)
            throw error
        }
        metrics.recordMoneyCall("payment", result: paid.isReplay ? "replayed" : "paid", duration: ContinuousClock.now - started)
        let record = paid.record
        // Money that moved: a retry answered with the original is a call, not a payment.
        if !paid.isReplay { metrics.recordPayment(fen: record.total.fen) }
        return ServerResponse(
            message: .with {
                $0.payment = Gongji_V1_Payment(record)
                $0.receipt = Gongji_V1_Receipt(record)
            })
    }

    func getPayment(
        request: ServerRequest<Gongji_V1_GetPaymentRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Gongji_V1_GetPaymentResponse> {
        let user = try endUser(request.metadata, today: service.now().today)
        let record = try await service.payment(id: request.message.paymentID, for: user)
        return ServerResponse(message: .with { $0.payment = Gongji_V1_Payment(record) })
    }

    func listAccountDeductions(
        request: ServerRequest<Gongji_V1_ListAccountDeductionsRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Gongji_V1_ListAccountDeductionsResponse> {
        let user = try endUser(request.metadata, today: service.now().today)
        let (uses, payments) = try await service.accountUses(
            of: user, as: .authorizer,
            page: PageRequest(size: request.message.pageSize, token: request.message.pageToken))
        return ServerResponse(
            message: .with {
                $0.uses = uses.items.map(Gongji_V1_AccountUse.init)
                $0.payments = payments.map(Gongji_V1_Payment.init)
                $0.nextPageToken = uses.nextToken
            })
    }

    func listMemberPayments(
        request: ServerRequest<Gongji_V1_ListMemberPaymentsRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Gongji_V1_ListMemberPaymentsResponse> {
        let user = try endUser(request.metadata, today: service.now().today)
        let (uses, payments) = try await service.accountUses(
            of: user, as: .member,
            page: PageRequest(size: request.message.pageSize, token: request.message.pageToken))
        return ServerResponse(
            message: .with {
                $0.uses = uses.items.map(Gongji_V1_AccountUse.init)
                $0.payments = payments.map(Gongji_V1_Payment.init)
                $0.nextPageToken = uses.nextToken
            })
    }

    func getReceipt(
        request: ServerRequest<Gongji_V1_GetReceiptRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Gongji_V1_GetReceiptResponse> {
        let user = try endUser(request.metadata, today: service.now().today)
        let record = try await service.receipt(number: request.message.receiptNumber, for: user)
        return ServerResponse(message: .with { $0.receipt = Gongji_V1_Receipt(record) })
    }

    func verifyReceipt(
        request: ServerRequest<Gongji_V1_VerifyReceiptRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Gongji_V1_VerifyReceiptResponse> {
        let record = try await service.verifyReceipt(number: request.message.receiptNumber, code: request.message.verificationCode)
        return ServerResponse(
            message: .with {
                $0.genuine = record != nil
                if let record { $0.receipt = Gongji_V1_Receipt(record) }
            })
    }
}

extension PremiumKind {
    /// The kind a request names (unset: the resident premium).
    init(_ kind: Gongji_V1_PremiumKind) { self = kind == .longTermCare ? .longTermCare : .resident }

    /// As an answer says it: unset for the resident premium (the wire of answers from before kinds
    /// existed stays the same), LONG_TERM_CARE otherwise.
    var proto: Gongji_V1_PremiumKind { self == .resident ? .unspecified : .longTermCare }
}
