import Foundation
import GRPCCore
import GongjiCore
import GongjiProto

/// gongji.v1.SettlementService (settlement role): thin translation to `GongjiService`.
struct SettlementHandler: Gongji_V1_SettlementService.SimpleServiceProtocol {
    let service: GongjiService
    let metrics: DaemonMetrics

    func preSettle(request: Gongji_V1_PreSettleRequest, context: ServerContext) async throws -> Gongji_V1_PreSettleResponse {
        let time = service.now()
        let order = SettlementOrder(
            institutionCode: request.institutionCode, settlementID: "", patientIDNumber: request.patientIDNumber,
            credential: Credential(request.credential), amount: Money(fen: request.amountFen), today: time.today)
        let split = try await service.preSettle(order, caller: context.caller(service.state), at: time)
        return .with { $0.split = Gongji_V1_SettlementSplit(split) }
    }

    func settle(request: Gongji_V1_SettleRequest, context: ServerContext) async throws -> Gongji_V1_SettleResponse {
        let time = service.now()
        let order = SettlementOrder(
            institutionCode: request.institutionCode, settlementID: request.settlementID,
            patientIDNumber: request.patientIDNumber, credential: Credential(request.credential),
            amount: Money(fen: request.amountFen), today: time.today)
        let key = try settlementKey(
            request, settlementID: request.settlementID, institutionCode: request.institutionCode,
            method: context.descriptor)
        let started = ContinuousClock.now
        do {
            let settled = try await service.settle(order, key: key, caller: context.caller(service.state), at: time)
            metrics.recordMoneyCall(
                "settlement", result: settled.isReplay ? "replayed" : "settled", duration: ContinuousClock.now - started)
            let record = settled.record
            // Money that moved: a retry answered with the original is a call, not a settlement.
            if !settled.isReplay {
                metrics.recordSettlement(
                    region: record.institution.region.description, result: "settled", acctPay: record.split.acctPay.fen,
                    acctMulaidPay: record.split.acctMulaidPay.fen)
            }
            return .with { $0.settlement = Gongji_V1_Settlement(record) }
        } catch let refused as SettlementRefused {
            metrics.recordMoneyCall("settlement", result: "refused", duration: ContinuousClock.now - started)
            // A refusal, counted under the institution's region when the order named a loaded one.
            metrics.recordSettlement(region: refused.region?.description ?? "unknown", result: "refused")
            metrics.recordSettlementRefusal(region: refused.region?.description ?? "unknown", reason: refused.error.reason.name)
            throw refused.error
        } catch let error as DomainError {
            metrics.recordMoneyCall("settlement", result: "refused", duration: ContinuousClock.now - started)
            metrics.recordSettlement(region: "unknown", result: "refused")
            metrics.recordSettlementRefusal(region: "unknown", reason: error.reason.name)
            throw error
        } catch {
            metrics.recordMoneyCall("settlement", result: "failed", duration: ContinuousClock.now - started)
            throw error
        }
    }

    func reverseSettlement(
        request: Gongji_V1_ReverseSettlementRequest,
        context: ServerContext
    ) async throws -> Gongji_V1_ReverseSettlementResponse {
        let record = try await service.reverseSettlement(
            institutionCode: request.institutionCode, settlementID: request.settlementID,
            caller: context.caller(service.state), at: service.now())
        metrics.recordSettlement(
            region: record.institution.region.description, result: "reversed", acctPay: record.split.acctPay.fen,
            acctMulaidPay: record.split.acctMulaidPay.fen)
        return .with { $0.settlement = Gongji_V1_Settlement(record) }
    }

    func getSettlement(request: Gongji_V1_GetSettlementRequest, context: ServerContext) async throws -> Gongji_V1_GetSettlementResponse {
        let record = try await service.settlement(
            institutionCode: request.institutionCode, settlementID: request.settlementID,
            caller: context.caller(service.state))
        return .with { $0.settlement = Gongji_V1_Settlement(record) }
    }

    func reconcileSettlements(
        request: RPCAsyncSequence<Gongji_V1_ReconcileSettlementsRequest, any Error>,
        context: ServerContext
    ) async throws -> Gongji_V1_ReconcileSettlementsResponse {
        var messages = request.makeAsyncIterator()
        guard let first = try await messages.next(), case .header(let header)? = first.payload else {
            throw requestError(
                .invalidArgument, reason: .reconciliationHeaderRequired, message: "the first message must carry the header",
                zh: "对账请求缺少汇总信息", field: "header")
        }
        let caller = try context.caller(service.state)
        let report = try await service.reconciling(institutionCode: header.institutionCode, caller: caller) {
            var entries = ReconciliationAccumulator()
            while let message = try await messages.next() {
                guard case .entries(let batch)? = message.payload else {
                    throw requestError(
                        .invalidArgument, reason: .reconciliationHeaderRepeated, message: "only the first message may carry the header",
                        zh: "对账请求格式错误", field: "header")
                }
                for entry in batch.entries { try entries.append(ReconciliationEntry(entry)) }
            }
            let claim = ReconciliationClaim(
                count: header.count, acctPaySum: Money(fen: header.acctPaySum),
                acctMulaidPaySum: Money(fen: header.acctMulaidPaySum), entries: entries.entries)
            return try await service.reconcile(institutionCode: header.institutionCode, date: header.date, claim: claim, caller: caller)
        }
        return .with {
            $0.totals = Gongji_V1_SettlementTotals(report.totals)
            $0.headerMatches = report.headerMatches
            $0.differences = report.differences.map { difference in
                .with {
                    $0.settlementID = difference.settlementID
                    $0.kind =
                        switch difference.kind {
                        case .onlyInstitution: .onlyInstitution
                        case .onlyGongji: .onlyGongji
                        case .different: .different
                        }
                    if let entry = difference.institution { $0.institution = entry.proto }
                    if let entry = difference.gongji { $0.gongji = entry.proto }
                }
            }
            $0.truncated = report.truncated
        }
    }
}
