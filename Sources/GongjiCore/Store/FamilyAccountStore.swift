/// The store's contract: the use-case operations the service calls, and that
/// `Tests/GongjiStorageTests` checks against every backend (SQLite, PostgreSQL).
///
/// A mutating operation is a script written once (`GongjiStorage/UseCases.swift`): inside one
/// transaction it reads the facts it needs, hands them to the domain core (which decides every
/// rule and returns a complete write-set), and has the backend apply it — all or nothing. A
/// backend adds only what only it can (sequence numbers) and never decides a rule. Operations with an `IdempotencyKey` return the stored
/// result of an earlier request with the same key, and refuse the key reused for other content
/// (R-PAY-9). Times are inputs (`now`, Unix seconds; `today`, China time): a store reads no clock.
public protocol FamilyAccountStore: Sendable {
    // MARK: Registry

    /// Creates or replaces a person (and opens the account an employee gets). Returns the person
    /// as stored and whether it was new.
    func upsertPerson(
        _ person: Person, paidYears: [Int], key: IdempotencyKey?, today: CivilDate,
        now: Int64
    ) async throws -> (record: PersonRecord, created: Bool)
    /// A registered person, or nil.
    func person(_ id: ResidentID) async throws -> PersonRecord?
    /// Credits one part of an account (`CreditRules.plan`); a reference applies at most once.
    func credit(
        _ id: ResidentID, amount: Money, part: BalancePart, reference: String, key: IdempotencyKey?,
        now: Int64
    ) async throws -> (account: PersonalAccount, applied: Bool)
    /// Applies validated import rows in one transaction: all or nothing.
    func importRows(_ rows: [RegistryRow], today: CivilDate, now: Int64) async throws -> ImportSummary
    /// The year-end rollover into `year` (R-ACCT-2). Returns how many accounts moved.
    func rollOver(into year: Int, key: IdempotencyKey?, today: CivilDate, now: Int64) async throws -> Int
    /// The operators' availability switches by region (R-SUSP-1).
    func availabilityOverrides() async throws -> [RegionCode: Bool]
    /// Records an operator's availability switch for a region.
    func setAvailability(_ region: RegionCode, suspended: Bool, key: IdempotencyKey?, now: Int64) async throws

    // MARK: Bindings

    /// Binds a member for the authorizer `endUser` (`BindingRules.create` with the policies and
    /// day given), and records the change.
    func createBinding(
        _ request: BindingRequest, endUser: ResidentID, id: String, key: IdempotencyKey?, actor: ChangeActor,
        policies: PolicyBook, today: CivilDate, now: Int64
    ) async throws -> BindingRecord
    /// Changes a binding (`BindingRules.apply`) and records the change.
    func changeBinding(
        id: String, _ change: BindingRules.Change, key: IdempotencyKey?, actor: ChangeActor,
        now: Int64
    ) async throws -> BindingRecord
    /// R-CTL-1: freezes (or lifts) family use through every open binding `authorizer` authorizes.
    func freezeFamilyUse(
        of authorizer: ResidentID, frozen: Bool, key: IdempotencyKey?, actor: ChangeActor, now: Int64
    ) async throws
        -> [Binding]
    /// A binding, or nil.
    func binding(id: String) async throws -> BindingRecord?
    /// A person's bindings, newest first, strictly before the cursor.
    func bindings(of person: ResidentID, as perspective: BindingPerspective, before: Int64?, limit: Int) async throws -> [BindingRecord]
    /// Pending bindings, oldest first, optionally of one region, strictly after the cursor.
    func pendingBindings(region: RegionCode?, after: Int64?, limit: Int) async throws -> [BindingRecord]
    /// The recorded changes of a binding, oldest first.
    func bindingEvents(id: String) async throws -> [BindingEvent]

    // MARK: Documents

    /// Records an uploaded document whose file is durable (`UploadRules.checkSide`).
    func recordDocument(
        id: String, side: DocumentSide, mediaType: String, size: Int, uploadedBy: ResidentID,
        now: Int64
    ) async throws -> DocumentRecord
    /// A document's metadata, or nil.
    func document(id: String) async throws -> DocumentRecord?
    /// Removes the records of uploads past their retention that no binding uses (R-DOC-4) and
    /// returns their ids, so that their files can be removed.
    func removeExpiredDocuments(now: Int64, retentionSeconds: Int64) async throws -> [String]
    /// Ids of all recorded documents.
    func documentIDs() async throws -> Set<String>
    /// How many documents are recorded, and their bytes.
    func documentTotals() async throws -> (count: Int, bytes: Int64)

    // MARK: Premiums

    /// The facts of a quote or payment through `bindingID` for `endUser`, in one snapshot.
    func premiumFacts(bindingID: String, endUser: ResidentID, policies: PolicyBook, today: CivilDate) async throws -> PremiumFacts
    /// Pays (`PremiumRules.pay`) and applies the plan: balances, ledger, years, enrollment,
    /// payment and receipt number — exactly once per key.
    func pay(
        _ order: PaymentOrder, endUser: ResidentID, paymentID: String, key: IdempotencyKey?, policies: PolicyBook,
        today: CivilDate, now: Int64
    ) async throws -> Answered<PaymentRecord>
    /// A payment by id, or nil.
    func payment(id: String) async throws -> PaymentRecord?
    /// A payment by receipt number, or nil.
    func payment(receiptNumber: String) async throws -> PaymentRecord?

    // MARK: Settlement at designated institutions

    /// Creates or replaces a designated institution (R-SETL-1).
    func upsertInstitution(
        _ institution: Institution, key: IdempotencyKey?, now: Int64
    ) async throws -> (institution: Institution, created: Bool)
    /// A designated institution, or nil.
    func institution(_ code: InstitutionCode) async throws -> Institution?
    /// The split of an order for a caller acting for `scope` (`SettlementRules.preSettle`), moving nothing.
    func preSettle(
        _ order: SettlementOrder, scope: InstitutionScope, policies: PolicyBook, today: CivilDate
    ) async throws -> SettlementSplit
    /// Settles (`SettlementRules.settle`) and applies the plan, exactly once per key (the
    /// institution and its settlement id).
    func settle(
        _ order: SettlementOrder, scope: InstitutionScope, key: IdempotencyKey, policies: PolicyBook, today: CivilDate,
        now: Int64
    ) async throws -> Answered<SettlementRecord>
    /// Reverses the institution's settlement (`SettlementRules.reverse`); a second reversal
    /// returns the first.
    func reverseSettlement(
        institution: InstitutionCode, settlementID: String, policies: PolicyBook, today: CivilDate,
        now: Int64
    ) async throws -> SettlementRecord
    /// One settlement of an institution, or nil.
    func settlement(institution: InstitutionCode, settlementID: String) async throws -> SettlementRecord?
    /// An institution's settlements made on `day` and its reversals made on `day`.
    func settlements(
        of institution: InstitutionCode, on day: CivilDate
    ) async throws -> (settled: [SettlementRecord], reversed: [SettlementRecord])
    /// The totals of a region's institutions on `day`.
    func settlementTotals(region: RegionCode, on day: CivilDate) async throws -> SettlementTotals
    /// Uses of a person's account (`.authorizer`: the person's own account paid) or for a person
    /// by others (`.member`), newest first, strictly before the cursor.
    func accountUses(
        of person: ResidentID, as perspective: BindingPerspective, before: Int64?, limit: Int
    ) async throws -> [AccountUseRecord]
    /// Payments by id (for a page of account uses), in no particular order.
    func payments(ids: [String]) async throws -> [PaymentRecord]

    // MARK: Events (R-EVT)

    /// The events after `position`, in position order, that `person` is a party to (nil: every
    /// event), at most `limit`.
    func events(after position: Int64, of person: ResidentID?, limit: Int) async throws -> [AccountEvent]
    /// The newest position the retention clean-up removed (0 when none): a follower's position
    /// before it is gone.
    func eventsRemovedThrough() async throws -> Int64
    /// The newest position written so far (0 when none).
    func newestEventPosition() async throws -> Int64
    /// R-EVT-3: removes the events written before `now - retentionSeconds`; returns how many.
    func removeExpiredEvents(now: Int64, retentionSeconds: Int64) async throws -> Int

    // MARK: Ledger

    /// The sum of every ledger entry (zero while every movement balances).
    func ledgerSum() async throws -> Money
    /// The balance of one ledger account.
    func ledgerBalance(of account: String) async throws -> Money

    // MARK: Cross-province wallet (R-XP-*)

    /// R-XP-2: opens the end user's wallet (`WalletRules.open`); an open one is answered as it is.
    func openWallet(for member: ResidentID, key: IdempotencyKey?, now: Int64) async throws -> (view: WalletView, opened: Bool)
    /// A person's wallet and what it holds.
    func wallet(of member: ResidentID) async throws -> WalletView
    /// R-XP-3: a transfer into the wallet of the binding's member (`WalletRules.transfer`),
    /// exactly once per key; answers it and the authorizer's balance after it.
    func transferToWallet(
        bindingID: String, amount: Money, endUser: ResidentID, transferID: String, key: IdempotencyKey?, policies: PolicyBook,
        now: Int64
    ) async throws -> (transfer: WalletTransfer, balanceAfter: Money)
    /// R-XP-4: the member accepts or declines a pending transfer (`WalletRules.answer`).
    func answerTransfer(
        id: String, _ answer: WalletRules.Answer, endUser: ResidentID, key: IdempotencyKey?, now: Int64
    ) async throws
        -> WalletTransfer
    /// R-XP-4: returns the transfers whose return time has come, each exactly once (on
    /// PostgreSQL one daemon at a time); returns how many.
    func returnDueTransfers(now: Int64, limit: Int) async throws -> Int
    /// What wallets hold from `authorizer` now (non-zero holdings), by binding.
    func holdings(from authorizer: ResidentID) async throws -> [WalletHolding]
    /// R-XP-7: the wallet movements written at or after `from` and before `until`, in order.
    func walletMovements(from: Int64, until: Int64) async throws -> [WalletMovement]
    /// A person's transfers as sender or receiver, newest first, strictly before the cursor.
    func walletTransfers(
        of person: ResidentID, as perspective: BindingPerspective, before: Int64?, limit: Int
    ) async throws
        -> [WalletTransfer]
}

extension PremiumFacts {
    /// The facts of a payment through `binding`, with the governing policy taken from `policies`.
    public init(
        binding: Binding, actor: ResidentID, authorizer: PersonRecord, member: PersonRecord, paidYears: Set<Int>,
        policies: PolicyBook, today: CivilDate
    ) {
        self.init(
            binding: binding, actor: actor, authorizer: authorizer.person, authorizerAccount: authorizer.account,
            member: member.person, memberAccount: member.account, paidYears: paidYears.union(member.paidYears),
            policy: policies.policy(of: binding.region), memberPolicy: policies.policy(of: member.person.region), today: today)
    }
}

extension BindingFacts {
    /// The facts of a binding request by `actor`, with the policy governing the authorizer's region.
    public init(
        actor: ResidentID, authorizer: PersonRecord?, member: PersonRecord?, authorizerBindings: [Binding],
        documents: [String: DocumentSide], policies: PolicyBook, today: CivilDate
    ) {
        self.init(
            actor: actor, authorizer: authorizer?.person, authorizerAccount: authorizer?.account, member: member?.person,
            authorizerBindings: authorizerBindings, documents: documents,
            policy: authorizer.flatMap { policies.policy(forAuthorizerIn: $0.person.region) }, today: today)
    }
}
