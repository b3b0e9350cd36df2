import Foundation
import GRPCCore
import GongjiCore
import GongjiProto
import SwiftProtobuf

/// gongji.v1.EventService: the gateway follows its end user's events, a notifier every event.
struct EventHandler: Gongji_V1_EventService.ServiceProtocol {
    let service: GongjiService

    func followEvents(
        request: ServerRequest<Gongji_V1_FollowEventsRequest>, context: ServerContext
    ) async throws -> StreamingServerResponse<Gongji_V1_FollowEventsResponse> {
        let caller = context.caller(service.state)
        let person: ResidentID?
        if request.message.all {
            guard caller.roles.contains(.notifier) else {
                throw requestError(
                    .permissionDenied, reason: .roleNotAllowed,
                    message: "\(caller.identity) may not follow every event: that needs the notifier role", zh: "调用方无权订阅全部事件",
                    metadata: ["identity": caller.identity])
            }
            person = nil
        } else {
            person = try endUser(request.metadata, today: service.now().today)
        }
        // Checked before the stream starts, so that a refusal is the call's status.
        let after =
            request.message.fromNow ? try await service.newestEventPosition() : request.message.afterPosition
        try await service.checkFollowing(after: after)
        return StreamingServerResponse(of: Gongji_V1_FollowEventsResponse.self) { writer in
            try await service.followEvents(after: after, of: person) { event in
                do {
                    try await writer.write(.with { $0.event = Gongji_V1_Event(event, followedBy: person) })
                } catch {
                    // The follower went away (the stream's usual end): a cancelled call, not the server's error.
                    throw CancellationError()
                }
            }
            return [:]
        }
    }
}

extension Gongji_V1_Event {
    /// An event as a follower sees it: ID numbers masked; the authorizer's balance only for the
    /// authorizer and for a notifier.
    init(_ event: AccountEvent, followedBy person: ResidentID?) {
        self.init()
        position = event.position
        kind = event.kind.proto
        time = Google_Protobuf_Timestamp(unix: event.at)
        authorizerIDNumberMasked = event.authorizer.masked
        memberIDNumberMasked = event.member.masked
        memberNameMasked = event.memberNameMasked
        bindingID = event.bindingID ?? ""
        if let amount = event.amount { amountFen = amount.fen }
        parts = event.parts.map(\.proto)
        if let institution = event.institution {
            institutionCode = institution.code.value
            institutionName = institution.name
            institutionKind = institution.kind.proto
        }
        reference = event.reference ?? ""
        party =
            switch person {
            case nil: .unspecified
            case event.authorizer?: .authorizer
            default: .member
            }
        if let balance = event.balanceAfter, person == nil || person == event.authorizer { balanceAfterFen = balance.fen }
    }
}

extension AccountEvent.Kind {
    var proto: Gongji_V1_EventKind {
        switch self {
        case .premiumPaid: .premiumPaid
        case .settled: .settled
        case .settlementReversed: .settlementReversed
        case .bindingCreated: .bindingCreated
        case .bindingApproved: .bindingApproved
        case .bindingRejected: .bindingRejected
        case .bindingEnded: .bindingEnded
        case .limitChanged: .limitChanged
        case .familyUseFrozen: .familyUseFrozen
        case .familyUseUnfrozen: .familyUseUnfrozen
        case .walletTransferSent: .walletTransferSent
        case .walletTransferAccepted: .walletTransferAccepted
        case .walletTransferDeclined: .walletTransferDeclined
        case .walletTransferReturned: .walletTransferReturned
        case .walletReturned: .walletReturned
        }
    }
}
