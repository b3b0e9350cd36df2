import Foundation
import GRPCCore
import GongjiCore
import GongjiProto
import SwiftProtobuf

/// gongji.v1.WalletService (gateway, acting for the end user): R-XP-2 … R-XP-4.
struct WalletHandler: Gongji_V1_WalletService.ServiceProtocol {
    let service: GongjiService

    func openWallet(
        request: ServerRequest<Gongji_V1_OpenWalletRequest>, context: ServerContext
    ) async throws -> ServerResponse<Gongji_V1_OpenWalletResponse> {
        let time = service.now()
        let user = try endUser(request.metadata, today: time.today)
        let key = try idempotencyKey(
            request.message, requestID: request.message.requestID, method: context.descriptor, caller: context.caller(service.state),
            endUser: user)
        let (view, opened) = try await service.openWallet(for: user, key: key, at: time)
        return ServerResponse(
            message: .with {
                if let wallet = Gongji_V1_Wallet(view) { $0.wallet = wallet }
                $0.opened = opened
            })
    }

    func transferToWallet(
        request: ServerRequest<Gongji_V1_TransferToWalletRequest>, context: ServerContext
    ) async throws -> ServerResponse<Gongji_V1_TransferToWalletResponse> {
        let time = service.now()
        let user = try endUser(request.metadata, today: time.today)
        let message = request.message
        let key = try idempotencyKey(
            message, requestID: message.requestID, method: context.descriptor, caller: context.caller(service.state), endUser: user)
        let (transfer, balance) = try await service.transferToWallet(
            bindingID: message.bindingID, amount: Money(fen: message.amountFen), endUser: user, key: key, at: time)
        return ServerResponse(
            message: .with {
                $0.transfer = Gongji_V1_WalletTransfer(transfer, now: time.now)
                $0.balanceAfterFen = balance.fen
            })
    }

    func answerTransfer(
        request: ServerRequest<Gongji_V1_AnswerTransferRequest>, context: ServerContext
    ) async throws -> ServerResponse<Gongji_V1_AnswerTransferResponse> {
        let time = service.now()
        let user = try endUser(request.metadata, today: time.today)
        let message = request.message
        let key = try idempotencyKey(
            message, requestID: message.requestID, method: context.descriptor, caller: context.caller(service.state), endUser: user)
        let transfer = try await service.answerTransfer(
            id: message.transferID, message.accept ? .accept : .decline, endUser: user, key: key, at: time)
        return ServerResponse(message: .with { $0.transfer = Gongji_V1_WalletTransfer(transfer, now: time.now) })
    }

    func getWallet(
        request: ServerRequest<Gongji_V1_GetWalletRequest>, context: ServerContext
    ) async throws -> ServerResponse<Gongji_V1_GetWalletResponse> {
        let user = try endUser(request.metadata, today: service.now().today)
        let view = try await service.wallet(of: user)
        return ServerResponse(message: .with { if let wallet = Gongji_V1_Wallet(view) { $0.wallet = wallet } })
    }

    func listGrantedHoldings(
        request: ServerRequest<Gongji_V1_ListGrantedHoldingsRequest>, context: ServerContext
    ) async throws -> ServerResponse<Gongji_V1_ListGrantedHoldingsResponse> {
        let user = try endUser(request.metadata, today: service.now().today)
        let holdings = try await service.holdings(grantedBy: user)
        return ServerResponse(
            message: .with {
                $0.holdings = holdings.map(Gongji_V1_WalletHolding.init)
                $0.totalFen = (Money.sum(holdings.map(\.total)) ?? .zero).fen
            })
    }

    func listWalletTransfers(
        request: ServerRequest<Gongji_V1_ListWalletTransfersRequest>, context: ServerContext
    ) async throws -> ServerResponse<Gongji_V1_ListWalletTransfersResponse> {
        let time = service.now()
        let user = try endUser(request.metadata, today: time.today)
        let perspective: BindingPerspective
        switch request.message.perspective {
        case .authorizer: perspective = .authorizer
        case .member: perspective = .member
        default:
            throw requestError(
                .invalidArgument, reason: .invalidField, message: "perspective must be AUTHORIZER or MEMBER", zh: "请选择查询角度",
                field: "perspective")
        }
        let page = try await service.walletTransfers(
            of: user, as: perspective, page: PageRequest(size: request.message.pageSize, token: request.message.pageToken))
        return ServerResponse(
            message: .with {
                $0.transfers = page.items.map { Gongji_V1_WalletTransfer($0, now: time.now) }
                $0.nextPageToken = page.nextToken
            })
    }
}

extension Gongji_V1_Wallet {
    /// The wallet of `view`, or nil when it is not open.
    init?(_ view: WalletView) {
        guard let wallet = view.wallet else { return nil }
        self.init()
        memberIDNumberMasked = wallet.member.masked
        provinceCode = wallet.province.description
        openedAt = Google_Protobuf_Timestamp(unix: wallet.openedAt)
        holdings = view.holdings.filter { $0.total > .zero }.map(Gongji_V1_WalletHolding.init)
        balanceFen = view.balance.fen
    }
}

extension Gongji_V1_WalletTransfer {
    /// `transfer` as read at `now` (R-XP-4: past its return time a pending transfer reads RETURNED).
    init(_ transfer: WalletTransfer, now: Int64) {
        self.init()
        transferID = transfer.id
        bindingID = transfer.bindingID
        authorizerIDNumberMasked = transfer.authorizer.masked
        memberIDNumberMasked = transfer.member.masked
        memberNameMasked = maskName(transfer.memberName)
        amountFen = transfer.amount.fen
        currentYearFen = transfer.currentYear.fen
        carryOverFen = transfer.carryOver.fen
        status =
            switch transfer.status(at: now) {
            case .pending: .pending
            case .accepted: .accepted
            case .declined: .declined
            case .returned: .returned
            }
        sentAt = Google_Protobuf_Timestamp(unix: transfer.sentAt)
        returnDueAt = Google_Protobuf_Timestamp(unix: transfer.returnDueAt)
        if let resolved = transfer.resolved(at: now) { resolvedAt = Google_Protobuf_Timestamp(unix: resolved) }
        fromProvinceCode = transfer.fromProvince.description
        toProvinceCode = transfer.toProvince.description
    }
}

extension Gongji_V1_WalletHolding {
    init(_ holding: WalletHolding) {
        self.init()
        bindingID = holding.bindingID
        authorizerIDNumberMasked = holding.authorizer.masked
        memberIDNumberMasked = holding.member.masked
        amountFen = holding.total.fen
        currentYearFen = holding.currentYear.fen
        carryOverFen = holding.carryOver.fen
    }
}
