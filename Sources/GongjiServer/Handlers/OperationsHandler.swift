import GRPCCore
import GRPCProtobuf
import GongjiCore
import GongjiProto

/// gongji.v1.OperationsService.
struct OperationsHandler: Gongji_V1_OperationsService.SimpleServiceProtocol {
    let service: GongjiService

    func listRegions(request: Gongji_V1_ListRegionsRequest, context: ServerContext) async throws -> Gongji_V1_ListRegionsResponse {
        let page = try await service.regions(PageRequest(size: request.pageSize, token: request.pageToken))
        return .with {
            $0.regions = page.items.map(Gongji_V1_Region.init)
            $0.nextPageToken = page.nextToken
        }
    }

    func getRegionPolicy(
        request: Gongji_V1_GetRegionPolicyRequest, context: ServerContext
    ) async throws -> Gongji_V1_GetRegionPolicyResponse {
        let policy = try service.policy(regionCode: request.regionCode)
        return .with {
            $0.region = Gongji_V1_Region(policy)
            $0.policyJson = String(decoding: policy.canonicalJSON(), as: UTF8.self)
            $0.policy = Gongji_V1_RegionPolicy(policy)
        }
    }

    func reportCrossProvinceClearing(
        request: Gongji_V1_ReportCrossProvinceClearingRequest, response: RPCWriter<Gongji_V1_ReportCrossProvinceClearingResponse>,
        context: ServerContext
    ) async throws {
        for pair in try await service.crossProvinceClearing(month: request.month, at: service.now()) {
            try await response.write(
                .with {
                    $0.pair = .with {
                        $0.fromProvinceCode = pair.provinces.from.description
                        $0.toProvinceCode = pair.provinces.to.description
                        $0.grantedFen = pair.granted.fen
                        $0.spentFen = pair.spent.fen
                        $0.reversedFen = pair.reversed.fen
                        $0.returnedFen = pair.returned.fen
                        $0.netOwedFen = pair.netOwed.fen
                        $0.walletChangeFen = pair.walletChange.fen
                        $0.movementCount = Int32(pair.movements.count)
                    }
                })
            for movement in pair.movements {
                try await response.write(
                    .with {
                        $0.movement = .with {
                            $0.kind =
                                switch movement.kind {
                                case .granted: .granted
                                case .spent: .spent
                                case .reversed: .reversed
                                case .returned: .returned
                                }
                            $0.amountFen = movement.amount.fen
                            $0.bindingID = movement.bindingID
                            $0.reference = movement.reference
                        }
                    })
            }
        }
    }

    func setRegionAvailability(
        request: Gongji_V1_SetRegionAvailabilityRequest,
        context: ServerContext
    ) async throws -> Gongji_V1_SetRegionAvailabilityResponse {
        let key = try idempotencyKey(
            request, requestID: request.requestID, method: context.descriptor,
            caller: context.caller(service.state))
        let policy = try await service.setAvailability(
            regionCode: request.regionCode, suspended: request.suspended, key: key,
            at: service.now())
        return .with { $0.region = Gongji_V1_Region(policy) }
    }

    func getSettlementTotals(
        request: Gongji_V1_GetSettlementTotalsRequest,
        context: ServerContext
    ) async throws -> Gongji_V1_GetSettlementTotalsResponse {
        let totals = try await service.settlementTotals(regionCode: request.regionCode, date: request.date)
        return .with { $0.totals = Gongji_V1_SettlementTotals(totals) }
    }
}
