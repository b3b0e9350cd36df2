import GRPCCore
import GRPCProtobuf
import GongjiCore
import GongjiProto

/// gongji.v1.RegistryService (operator): thin translation to `GongjiService`.
struct RegistryHandler: Gongji_V1_RegistryService.SimpleServiceProtocol {
    let service: GongjiService
    let importBytesMax: Int

    func upsertPerson(request: Gongji_V1_UpsertPersonRequest, context: ServerContext) async throws -> Gongji_V1_UpsertPersonResponse {
        let key = try idempotencyKey(
            request, requestID: request.requestID, method: context.descriptor, caller: context.caller(service.state))
        try require(request.hasPerson, field: "person", "is required", zh: "缺少人员信息")
        let time = service.now()
        let person = request.person
        let (validated, years) = try RegistryImport.person(
            idNumber: person.idNumber, name: person.name, insuranceType: InsuranceType(person.insuranceType),
            status: InsuranceStatus(person.status), regionCode: person.regionCode, specialCategory: person.specialCategory,
            paidYears: person.paidPremiumYears.map(Int.init), today: time.today)
        let (record, created) = try await service.upsertPerson(validated, paidYears: years, key: key, at: time)
        return .with {
            $0.person = Gongji_V1_Person(record)
            $0.created = created
        }
    }

    func getPerson(request: Gongji_V1_GetPersonRequest, context: ServerContext) async throws -> Gongji_V1_GetPersonResponse {
        let record = try await service.person(idNumber: request.idNumber, at: service.now())
        return .with {
            $0.person = Gongji_V1_Person(record)
            if let account = record.account { $0.account = Gongji_V1_Account(account) }
        }
    }

    func creditAccount(request: Gongji_V1_CreditAccountRequest, context: ServerContext) async throws -> Gongji_V1_CreditAccountResponse {
        let key = try idempotencyKey(
            request, requestID: request.requestID, method: context.descriptor, caller: context.caller(service.state))
        let (account, applied) = try await service.credit(
            idNumber: request.idNumber, amount: Money(fen: request.amountFen),
            part: BalancePart(request.part), reference: request.reference,
            key: key, at: service.now())
        return .with {
            $0.account = Gongji_V1_Account(account)
            $0.applied = applied
        }
    }

    func importRegistry(
        request: RPCAsyncSequence<Gongji_V1_ImportRegistryRequest, any Error>,
        context: ServerContext
    ) async throws -> Gongji_V1_ImportRegistryResponse {
        var iterator = request.makeAsyncIterator()
        guard let first = try await iterator.next(), case .header(let header)? = first.payload else {
            throw requestError(
                .invalidArgument, reason: .importHeaderRequired, message: "the first message must carry the header",
                zh: "导入请求缺少文件头信息", field: "header")
        }
        let format: RegistryFormat
        switch header.format {
        case .jsonLines: format = .jsonLines
        case .csv: format = .csv
        default:
            throw requestError(
                .invalidArgument, reason: .invalidField, message: "header.format must be JSON_LINES or CSV",
                zh: "导入文件格式无效", field: "header.format")
        }
        let time = service.now()
        var accumulator = ImportAccumulator(format: format, today: time.today, bytesMax: importBytesMax)
        while let message = try await iterator.next() {
            guard case .chunk(let bytes)? = message.payload else {
                throw requestError(
                    .invalidArgument, reason: .importHeaderRepeated, message: "only the first message may carry a header",
                    zh: "导入请求格式错误", field: "header")
            }
            accumulator.append(Array(bytes))
            if accumulator.isTooLarge {
                throw requestError(
                    .invalidArgument, reason: .importTooLarge, message: "the file is larger than \(importBytesMax) bytes",
                    zh: "导入文件过大", metadata: ["import_bytes_max": String(importBytesMax)])
            }
        }
        accumulator.finish()
        guard accumulator.errors.isEmpty else {
            let name = header.fileName.isEmpty ? "the file" : TextLimits.echo(header.fileName)
            let first = accumulator.errors[0]
            throw RPCError(
                GoogleRPCStatus(
                    code: .invalidArgument,
                    message: "IMPORT_ROW_INVALID: \(name) has bad rows; nothing was imported. First: \(first.message)",
                    details: [
                        .errorInfo(
                            reason: DomainError.Reason.importRowInvalid.name, domain: errorDomain,
                            metadata: ["line": String(first.line ?? 0), "bad_rows_reported": String(accumulator.errors.count)]),
                        .localizedMessage(locale: "zh-CN", message: "导入文件第\(first.line ?? 0)行有误，未导入任何数据"),
                        .badRequest(
                            violations: accumulator.errors.map {
                                .init(
                                    field: "line \($0.line ?? 0)", description: $0.field.isEmpty ? $0.problem : "\($0.field): \($0.problem)"
                                )
                            }),
                    ]))
        }
        let summary = try await service.importRows(accumulator.rows, at: time)
        return .with {
            $0.lines = Int64(accumulator.dataLines)
            $0.personsUpserted = Int64(summary.personsUpserted)
            $0.creditsApplied = Int64(summary.creditsApplied)
            $0.creditsSkipped = Int64(summary.creditsSkipped)
            $0.institutionsUpserted = Int64(summary.institutionsUpserted)
        }
    }

    func upsertInstitution(
        request: Gongji_V1_UpsertInstitutionRequest,
        context: ServerContext
    ) async throws -> Gongji_V1_UpsertInstitutionResponse {
        let key = try idempotencyKey(
            request, requestID: request.requestID, method: context.descriptor, caller: context.caller(service.state))
        try require(request.hasInstitution, field: "institution", "is required", zh: "缺少机构信息")
        let (institution, created) = try await service.upsertInstitution(try request.institution.domain(), key: key, at: service.now())
        return .with {
            $0.institution = Gongji_V1_Institution(institution)
            $0.created = created
        }
    }

    func getInstitution(request: Gongji_V1_GetInstitutionRequest, context: ServerContext) async throws -> Gongji_V1_GetInstitutionResponse {
        let institution = try await service.institution(code: request.institutionCode)
        return .with { $0.institution = Gongji_V1_Institution(institution) }
    }

    func rollOverYear(request: Gongji_V1_RollOverYearRequest, context: ServerContext) async throws -> Gongji_V1_RollOverYearResponse {
        let key = try idempotencyKey(
            request, requestID: request.requestID, method: context.descriptor, caller: context.caller(service.state))
        let count = try await service.rollOver(into: Int(request.year), key: key, at: service.now())
        return .with { $0.accountsRolled = Int64(count) }
    }
}
