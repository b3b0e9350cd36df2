import Foundation
import GRPCCore
import GongjiCore
import GongjiProto
import SwiftProtobuf

/// gongji.v1.BindingService (gateway, acting for the end user).
struct BindingHandler: Gongji_V1_BindingService.ServiceProtocol {
    let service: GongjiService

    func createBinding(
        request: ServerRequest<Gongji_V1_CreateBindingRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Gongji_V1_CreateBindingResponse> {
        let time = service.now()
        let user = try endUser(request.metadata, today: time.today)
        let caller = context.caller(service.state)
        let key = try idempotencyKey(
            request.message, requestID: request.message.requestID, method: context.descriptor, caller: caller, endUser: user)
        let record = try await service.createBinding(
            try request.message.domainRequest(), endUser: user, key: key,
            actor: ChangeActor(
                certificateIdentity: caller.identity, endUser: user,
                requestID: request.message.requestID), at: time)
        return ServerResponse(message: .with { $0.binding = Gongji_V1_Binding(record) })
    }

    func getBinding(
        request: ServerRequest<Gongji_V1_GetBindingRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Gongji_V1_GetBindingResponse> {
        let user = try endUser(request.metadata, today: service.now().today)
        let record = try await service.binding(id: request.message.bindingID, for: user)
        return ServerResponse(message: .with { $0.binding = Gongji_V1_Binding(record) })
    }

    func listBindings(
        request: ServerRequest<Gongji_V1_ListBindingsRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Gongji_V1_ListBindingsResponse> {
        let user = try endUser(request.metadata, today: service.now().today)
        let perspective: BindingPerspective
        switch request.message.perspective {
        case .authorizer: perspective = .authorizer
        case .member: perspective = .member
        default:
            throw requestError(
                .invalidArgument, reason: .invalidField, message: "perspective must be AUTHORIZER or MEMBER",
                zh: "请选择查询角度", field: "perspective")
        }
        let page = try await service.bindings(
            of: user, as: perspective,
            page: PageRequest(size: request.message.pageSize, token: request.message.pageToken))
        return ServerResponse(
            message: .with {
                $0.bindings = page.items.map(Gongji_V1_Binding.init)
                $0.nextPageToken = page.nextToken
            })
    }

    func revokeBinding(
        request: ServerRequest<Gongji_V1_RevokeBindingRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Gongji_V1_RevokeBindingResponse> {
        let time = service.now()
        let user = try endUser(request.metadata, today: time.today)
        let caller = context.caller(service.state)
        let key = try idempotencyKey(
            request.message, requestID: request.message.requestID, method: context.descriptor, caller: caller, endUser: user)
        let record = try await service.revokeBinding(
            id: request.message.bindingID, endUser: user, key: key,
            actor: ChangeActor(
                certificateIdentity: caller.identity, endUser: user,
                requestID: request.message.requestID), at: time)
        return ServerResponse(message: .with { $0.binding = Gongji_V1_Binding(record) })
    }

    func setFamilyUseLimits(
        request: ServerRequest<Gongji_V1_SetFamilyUseLimitsRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Gongji_V1_SetFamilyUseLimitsResponse> {
        let time = service.now()
        let user = try endUser(request.metadata, today: time.today)
        let caller = context.caller(service.state)
        let message = request.message
        let key = try idempotencyKey(message, requestID: message.requestID, method: context.descriptor, caller: caller, endUser: user)
        let record = try await service.setFamilyUseLimits(
            bindingID: message.bindingID,
            perSettlement: message.hasSettlementLimitFen ? Money(fen: message.settlementLimitFen) : nil,
            perDay: message.hasDailyLimitFen ? Money(fen: message.dailyLimitFen) : nil, endUser: user, key: key,
            actor: ChangeActor(certificateIdentity: caller.identity, endUser: user, requestID: message.requestID), at: time)
        return ServerResponse(message: .with { $0.binding = Gongji_V1_Binding(record) })
    }

    func freezeFamilyUse(
        request: ServerRequest<Gongji_V1_FreezeFamilyUseRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Gongji_V1_FreezeFamilyUseResponse> {
        let time = service.now()
        let user = try endUser(request.metadata, today: time.today)
        let caller = context.caller(service.state)
        let message = request.message
        let key = try idempotencyKey(message, requestID: message.requestID, method: context.descriptor, caller: caller, endUser: user)
        let records = try await service.freezeFamilyUse(
            bindingID: message.bindingID.isEmpty ? nil : message.bindingID, frozen: message.frozen, endUser: user, key: key,
            actor: ChangeActor(certificateIdentity: caller.identity, endUser: user, requestID: message.requestID), at: time)
        return ServerResponse(message: .with { $0.bindings = records.map(Gongji_V1_Binding.init) })
    }
}

extension BindingHandler {
    func setBindingMedicalLimit(
        request: ServerRequest<Gongji_V1_SetBindingMedicalLimitRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Gongji_V1_SetBindingMedicalLimitResponse> {
        let time = service.now()
        let user = try endUser(request.metadata, today: time.today)
        let caller = context.caller(service.state)
        let message = request.message
        let key = try idempotencyKey(message, requestID: message.requestID, method: context.descriptor, caller: caller, endUser: user)
        let record = try await service.setMedicalLimit(
            bindingID: message.bindingID, limit: message.hasAnnualLimitFen ? Money(fen: message.annualLimitFen) : nil, endUser: user,
            key: key,
            actor: ChangeActor(certificateIdentity: caller.identity, endUser: user, requestID: message.requestID), at: time)
        return ServerResponse(message: .with { $0.binding = Gongji_V1_Binding(record) })
    }
}
