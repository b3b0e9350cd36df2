import GongjiCore

// The use cases of `FamilyAccountStore`, each written once above every backend: read the facts,
// let the core decide, apply its write-set, answer — once per key. A backend supplies only the
// facts and the SQL (`StorageBackend`); adding a mutation means a script here, a core plan, and,
// when it reads new facts, a `FactsRequest` case that each backend answers.

extension StorageBackend {
    // MARK: Registry

    public func upsertPerson(
        _ person: Person, paidYears: [Int], key: IdempotencyKey?, today: CivilDate,
        now: Int64
    ) async throws -> (record: PersonRecord, created: Bool) {
        try await run(UseCases.registering(person, paidYears: paidYears, key: key, today: today, now: now))
    }

    public func credit(
        _ id: ResidentID, amount: Money, part: BalancePart, reference: String, key: IdempotencyKey?,
        now: Int64
    ) async throws -> (account: PersonalAccount, applied: Bool) {
        try await run(UseCases.crediting(id, amount: amount, part: part, reference: reference, key: key, now: now))
    }

    public func upsertInstitution(
        _ institution: Institution, key: IdempotencyKey?,
        now: Int64
    ) async throws -> (institution: Institution, created: Bool) {
        try await run(UseCases.loading(institution, key: key, now: now))
    }

    /// All rows or none, in one transaction of its own; each row sees the rows before it.
    public func importRows(_ rows: [RegistryRow], today: CivilDate, now: Int64) async throws -> ImportSummary {
        let steps: [UseCase<ImportSummary>] = rows.map { row in
            switch row {
            case .person(let person, let years):
                UseCases.registering(person, paidYears: years, key: nil, today: today, now: now).map { _ in
                    ImportSummary(personsUpserted: 1)
                }
            case .credit(let id, let amount, let part, let reference):
                UseCases.crediting(id, amount: amount, part: part, reference: reference, key: nil, now: now).map {
                    $0.applied ? ImportSummary(creditsApplied: 1) : ImportSummary(creditsSkipped: 1)
                }
            case .institution(let institution):
                UseCases.loading(institution, key: nil, now: now).map { _ in ImportSummary(institutionsUpserted: 1) }
            }
        }
        return try await run(all: steps, bulk: true).reduce(ImportSummary(), +)
    }

    public func rollOver(into year: Int, key: IdempotencyKey?, today: CivilDate, now: Int64) async throws -> Int {
        try await run(
            UseCase(
                key: key, facts: .rollover(year: year),
                decide: { facts in
                    let writes = try YearEnd.plan(
                        into: year, lastRolled: facts.lastRolledYear, oldestAccountYear: facts.oldestAccountYear,
                        accounts: facts.accounts, today: today)
                    return Decision(WriteSet(writes, now: now)) { _ in (facts.accounts.count, String(facts.accounts.count)) }
                }, replayed: { result, _ in Int(result) ?? 0 }), bulk: true)
    }

    public func setAvailability(_ region: RegionCode, suspended: Bool, key: IdempotencyKey?, now: Int64) async throws {
        try await run(
            UseCase(
                key: key, facts: .nothing,
                decide: { _ in
                    Decision(WriteSet([.availability(region, suspended: suspended)], now: now)) { _ in
                        ((), suspended ? "suspended" : "resumed")
                    }
                }, replayed: { _, _ in () }))
    }

    // MARK: Bindings

    public func createBinding(
        _ request: BindingRequest, endUser: ResidentID, id: String, key: IdempotencyKey?, actor: ChangeActor,
        policies: PolicyBook, today: CivilDate, now: Int64
    ) async throws -> BindingRecord {
        // The member is looked up by the ID number as typed; the core validates it.
        let member = try? ResidentID.parse(request.memberIDNumber, today: today)
        let documents = [request.frontDocument, request.backDocument].compactMap { $0 }.filter { !$0.isEmpty }
        return try await run(
            UseCase(
                key: key, facts: .newBinding(authorizer: endUser, member: member, documents: documents),
                decide: { facts in
                    let binding = try BindingRules.create(
                        request,
                        facts: BindingFacts(
                            actor: endUser, authorizer: facts.person, member: facts.member, authorizerBindings: facts.bindings,
                            documents: facts.documents,
                            policies: policies, today: today), id: id)
                    return Decision(WriteSet(BindingRules.creationWrites(binding, actor: actor, now: now), now: now)) { applied in
                        (BindingRecord(binding: binding, createdAt: now, updatedAt: now, seq: applied.sequence ?? 0), binding.id)
                    }
                }, replayFacts: { .binding(id: $0) }, replayed: UseCases.storedBinding))
    }

    public func changeBinding(
        id: String, _ change: BindingRules.Change, key: IdempotencyKey?, actor: ChangeActor,
        now: Int64
    ) async throws -> BindingRecord {
        // A freeze also locks the authorizer's account (R-CTL-1: after the binding, as a payment
        // does): a settlement, which locks the account before it reads the bindings, then commits
        // before the freeze or reads it.
        // An ending returns what the member's wallet holds through the binding (R-XP-6), so it
        // reads the wallet and locks the account the money goes back to.
        let facts: FactsRequest =
            switch change {
            case .freeze: .premium(bindingID: id)
            case .revoke: .endingBinding(id: id)
            default: .binding(id: id)
            }
        return try await run(
            UseCase(
                key: key, facts: facts,
                decide: { facts in
                    let changed = try BindingRules.apply(change, to: facts.binding?.binding, id: id)
                    guard let current = facts.binding else { throw StoreError(.database, "a changed binding has no record") }
                    var writes = BindingRules.changeWrites(
                        changed, actor: actor, reason: change.reason, event: change.eventKind(changed), now: now)
                    if current.binding.status.isOpen, !changed.status.isOpen {
                        writes += try WalletRules.returnOnEnd(
                            changed, holding: facts.holdings.first, pending: facts.transfers, account: facts.person?.account, now: now)
                    }
                    return Decision(WriteSet(writes, now: now)) { _ in
                        (BindingRecord(binding: changed, createdAt: current.createdAt, updatedAt: now, seq: current.seq), id)
                    }
                }, replayFacts: { .binding(id: $0) }, replayed: UseCases.storedBinding))
    }

    /// R-CTL-1 for the whole account: freezes (or lifts) family use through every open binding
    /// `authorizer` authorizes; answers them as they are then.
    public func freezeFamilyUse(
        of authorizer: ResidentID, frozen: Bool, key: IdempotencyKey?, actor: ChangeActor, now: Int64
    ) async throws -> [Binding] {
        try await run(
            UseCase(
                key: key, facts: .accountBindings(authorizer),
                decide: { facts in
                    let (bindings, writes) = BindingRules.freezeAll(facts.bindings, actor: authorizer, frozen: frozen, by: actor, now: now)
                    return Decision(WriteSet(writes, now: now)) { _ in (bindings, frozen ? "frozen" : "lifted") }
                }, replayFacts: { _ in .accountBindings(authorizer) },
                replayed: { _, facts in facts.bindings.filter { $0.authorizer == authorizer && $0.status.isOpen } }))
    }

    // MARK: Documents

    /// Records an upload whose file is durable. The same bytes again keep the first record and
    /// restart this uploader's retention; for the other side they are refused.
    public func recordDocument(
        id: String, side: DocumentSide, mediaType: String, size: Int, uploadedBy: ResidentID,
        now: Int64
    ) async throws -> DocumentRecord {
        let document = DocumentRecord(id: id, side: side, mediaType: mediaType, size: size, uploadedAt: now)
        return try await run(
            UseCase(
                key: nil, facts: .document(id: id),
                decide: { facts in
                    let writes = try UploadRules.recording(document, uploadedBy: uploadedBy, recordedSide: facts.recordedSide)
                    return Decision(WriteSet(writes, now: now)) { _ in (document, "") }
                }, replayed: { _, _ in document }))
    }

    /// R-DOC-4: releases the holds past their retention that no binding uses, removes the records
    /// nobody holds, and returns their ids (for their files). On PostgreSQL one daemon at a time.
    public func removeExpiredDocuments(now: Int64, retentionSeconds: Int64) async throws -> [String] {
        try await run(
            UseCase(
                key: nil, facts: .documentHolds(uploadedBefore: now - retentionSeconds),
                decide: { facts in
                    guard facts.cleanupLockHeld else { return Decision(WriteSet(now: now)) { _ in ([], "") } }
                    let writes = DocumentRetention.cleanUp(facts.documentHolds, nowUnix: now, retentionSeconds: retentionSeconds)
                    return Decision(WriteSet(writes, now: now)) { applied in (applied.removedDocuments, "") }
                }, replayed: { _, _ in [] }), bulk: true)
    }

    // MARK: Events

    /// R-EVT-3: removes the events older than the retention period; returns how many.
    public func removeExpiredEvents(now: Int64, retentionSeconds: Int64) async throws -> Int {
        try await run(
            UseCase(
                key: nil, facts: .nothing,
                decide: { _ in
                    Decision(WriteSet(EventRetention.cleanUp(now: now, retentionSeconds: retentionSeconds), now: now)) { applied in
                        (applied.removedEvents, "")
                    }
                }, replayed: { _, _ in 0 }), bulk: true)
    }

    // MARK: Premiums

    public func premiumFacts(bindingID: String, endUser: ResidentID, policies: PolicyBook, today: CivilDate) async throws -> PremiumFacts {
        try UseCases.premiumFacts(try await facts(.premium(bindingID: bindingID)), endUser: endUser, policies: policies, today: today)
    }

    /// R-PAY-9: pays exactly once per key; the backend numbers the payment (and so its receipt).
    public func pay(
        _ order: PaymentOrder, endUser: ResidentID, paymentID: String, key: IdempotencyKey?, policies: PolicyBook,
        today: CivilDate, now: Int64
    ) async throws -> Answered<PaymentRecord> {
        try await run(
            UseCase(
                key: key, facts: .premium(bindingID: order.bindingID),
                decide: { facts in
                    let plan = try PremiumRules.pay(
                        order, paymentID: paymentID,
                        facts: try UseCases.premiumFacts(facts, endUser: endUser, policies: policies, today: today, kind: order.kind))
                    let (writes, row) = plan.writeSet(now: now)
                    return Decision(writes) { applied in (Answered(row.numbered(applied.sequence ?? 0), isReplay: false), paymentID) }
                }, replayFacts: { .payment(id: $0) },
                replayed: { _, facts in
                    guard let payment = facts.payment else { throw StoreError(.database, "idempotent result vanished") }
                    return Answered(payment, isReplay: true)
                }))
    }

    // MARK: Settlement

    public func preSettle(
        _ order: SettlementOrder, scope: InstitutionScope, policies: PolicyBook, today: CivilDate
    ) async throws -> SettlementSplit {
        let facts = try await facts(UseCases.settlementFactsRequest(order, today: today))
        return try SettlementRules.preSettle(order, facts: UseCases.settlementFacts(facts, scope: scope, policies: policies, today: today))
    }

    /// R-SETL-4: settles exactly once per key (the institution and its settlement id). A refusal
    /// of the core is thrown as `SettlementRefused`, naming the institution's region.
    public func settle(
        _ order: SettlementOrder, scope: InstitutionScope, key: IdempotencyKey, policies: PolicyBook, today: CivilDate,
        now: Int64
    ) async throws -> Answered<SettlementRecord> {
        try await run(
            UseCase(
                key: key, facts: UseCases.settlementFactsRequest(order, today: today),
                decide: { facts in
                    let plan: SettlementPlan
                    do {
                        plan = try SettlementRules.settle(
                            order, facts: UseCases.settlementFacts(facts, scope: scope, policies: policies, today: today))
                    } catch let error as DomainError {
                        throw SettlementRefused(error: error, region: facts.institution?.region)
                    }
                    let (writes, row) = plan.writeSet(today: today, now: now)
                    return Decision(writes) { applied in
                        (Answered(row.numbered(applied.sequence ?? 0), isReplay: false), String(applied.sequence ?? 0))
                    }
                }, replayFacts: { .numberedSettlement(Int64($0) ?? -1) },
                replayed: { _, facts in
                    guard let settlement = facts.settlement else { throw StoreError(.database, "idempotent result vanished") }
                    return Answered(settlement, isReplay: true)
                }))
    }

    /// R-SETL-5: a second reversal answers the first.
    public func reverseSettlement(
        institution: InstitutionCode, settlementID: String, policies: PolicyBook, today: CivilDate,
        now: Int64
    ) async throws -> SettlementRecord {
        try await run(
            UseCase(
                key: nil, facts: .reversal(institution: institution, settlementID: settlementID),
                decide: { facts in
                    guard let record = facts.settlement else { throw SettlementRules.notFound(institution.value, settlementID) }
                    guard Set(facts.accounts.map(\.owner)).isSuperset(of: record.split.postings.map(\.owner)) else {
                        throw StoreError(.database, "a debited account is missing")
                    }
                    guard
                        let plan = try SettlementRules.reverse(
                            record, accounts: facts.accounts, holdings: facts.holdings, walletBindings: facts.bindings, policies: policies,
                            today: today)
                    else {
                        return Decision(WriteSet(now: now)) { _ in (record, "") }
                    }
                    let (writes, reversed) = plan.writeSet(of: record, today: today, now: now)
                    return Decision(writes) { _ in (reversed, "") }
                }, replayed: { _, _ in throw StoreError(.database, "a reversal has no key") }))
    }
}

/// The parts of the scripts that several use cases share.
enum UseCases {
    /// Registering a person (R-BIND-11 ends the open bindings the change no longer allows).
    static func registering(
        _ person: Person, paidYears: [Int], key: IdempotencyKey?, today: CivilDate,
        now: Int64
    ) -> UseCase<(record: PersonRecord, created: Bool)> {
        UseCase(
            key: key, facts: .registration(person.id),
            decide: { facts in
                let (writes, record) = try RegistryRules.registration(
                    person, paidYears: paidYears, stored: facts.person, open: facts.bindings,
                    wallets: WalletsOfBindings(holdings: facts.holdings, pending: facts.transfers, accounts: facts.accounts), today: today,
                    now: now)
                let created = facts.person == nil
                return Decision(WriteSet(writes, now: now)) { _ in ((record, created), created ? "created" : "replaced") }
            }, replayFacts: { _ in .registration(person.id) },
            replayed: { result, facts in
                guard let record = facts.person else { throw StoreError(.database, "person vanished after upsert") }
                return (record, result == "created")
            })
    }

    /// Crediting one part of an account (R-ACCT-3); a reference applies at most once.
    static func crediting(
        _ id: ResidentID, amount: Money, part: BalancePart, reference: String, key: IdempotencyKey?,
        now: Int64
    ) -> UseCase<(account: PersonalAccount, applied: Bool)> {
        UseCase(
            key: key, facts: .credit(id, reference: reference),
            decide: { facts in
                let plan = try CreditRules.plan(
                    credit: id, record: facts.person, amount: amount, part: part, reference: reference,
                    referenceOwner: facts.referenceOwner)
                guard let account = plan.account(before: facts.person?.account) else {
                    throw StoreError(.database, "the credited account vanished")
                }
                let applied = plan != .alreadyApplied
                return Decision(WriteSet(plan.writes(credit: id, amount: amount, reference: reference), now: now)) { _ in
                    ((account, applied), applied ? "applied" : "skipped")
                }
            }, replayFacts: { _ in .credit(id, reference: reference) },
            replayed: { result, facts in
                guard let account = facts.person?.account else { throw StoreError(.database, "the credited account vanished") }
                return (account, result == "applied")
            })
    }

    /// Loading a designated institution (R-SETL-1).
    static func loading(_ institution: Institution, key: IdempotencyKey?, now: Int64) -> UseCase<(institution: Institution, created: Bool)>
    {
        UseCase(
            key: key, facts: .institution(institution.code),
            decide: { facts in
                let created = facts.institution == nil
                return Decision(WriteSet([.institution(institution)], now: now)) { _ in
                    ((institution, created), created ? "created" : "replaced")
                }
            }, replayFacts: { _ in .institution(institution.code) },
            replayed: { result, facts in
                guard let stored = facts.institution else { throw StoreError(.database, "idempotent result vanished") }
                return (stored, result == "created")
            })
    }

    @Sendable static func storedBinding(_ result: String, _ facts: StoredFacts) throws -> BindingRecord {
        guard let record = facts.binding else { throw StoreError(.database, "idempotent result vanished") }
        return record
    }

    /// The facts of a payment through a binding as `endUser` sees it (one that does not exist and
    /// one the end user is no party to look the same: `PartyRules.visible`).
    static func premiumFacts(
        _ facts: StoredFacts, endUser: ResidentID, policies: PolicyBook, today: CivilDate, kind: PremiumKind = .resident
    ) throws -> PremiumFacts {
        let binding = try PartyRules.visible(facts.binding?.binding, to: endUser)
        guard let authorizer = facts.person, let member = facts.member else {
            throw StoreError(.database, "a bound person is missing from the registry")
        }
        var premium = PremiumFacts(
            binding: binding, actor: endUser, authorizer: authorizer, member: member, paidYears: facts.memberPaymentYears,
            policies: policies, today: today)
        premium.walletHolding = facts.holdings.first
        premium.kind = kind
        premium.longTermCareYears = facts.memberLongTermCareYears
        return premium
    }

    /// What a settlement order reads: an institution code or ID number that did not parse reads
    /// nothing, and the core refuses the order.
    static func settlementFactsRequest(_ order: SettlementOrder, today: CivilDate) -> FactsRequest {
        .settlement(institution: try? order.institution.get(), patient: try? order.patient.get(), day: today)
    }

    static func settlementFacts(_ facts: StoredFacts, scope: InstitutionScope, policies: PolicyBook, today: CivilDate) -> SettlementFacts {
        SettlementFacts(
            scope: scope, institution: facts.institution, patient: facts.person,
            bindings: facts.patientBindings.map { ($0.binding, $0.authorizerAccount, $0.usedThisYear, $0.usedToday, $0.walletHolding) },
            policies: policies,
            today: today)
    }
}

extension UseCase {
    /// The same use case with its answer transformed (a row of an import counted).
    func map<Other: Sendable>(_ transform: @escaping @Sendable (Answer) -> Other) -> UseCase<Other> {
        let decide = self.decide
        let replayed = self.replayed
        return UseCase<Other>(
            key: key, facts: facts,
            decide: { facts in
                let decision = try decide(facts)
                return Decision(decision.writes) { applied in
                    let (answer, result) = decision.finish(applied)
                    return (transform(answer), result)
                }
            }, replayFacts: replayFacts, replayed: { result, facts in transform(try replayed(result, facts)) })
    }
}

extension ImportSummary {
    init(personsUpserted: Int = 0, creditsApplied: Int = 0, creditsSkipped: Int = 0, institutionsUpserted: Int = 0) {
        self.init()
        self.personsUpserted = personsUpserted
        self.creditsApplied = creditsApplied
        self.creditsSkipped = creditsSkipped
        self.institutionsUpserted = institutionsUpserted
    }

    static func + (lhs: ImportSummary, rhs: ImportSummary) -> ImportSummary {
        ImportSummary(
            personsUpserted: lhs.personsUpserted + rhs.personsUpserted, creditsApplied: lhs.creditsApplied + rhs.creditsApplied,
            creditsSkipped: lhs.creditsSkipped + rhs.creditsSkipped,
            institutionsUpserted: lhs.institutionsUpserted + rhs.institutionsUpserted)
    }
}
