import Foundation
import GongjiCore
import Testing

/// The rule families that plan what a use case writes besides payments and settlements —
/// uploads, retention, registration, the rollover, retried requests — and the write-sets the
/// plans become: everything a backend applies, nothing left for it to decide.
@Suite("write-sets and the rules behind them")
struct WriteSetTests {
    let now: Int64 = 1_728_972_000
    let front = DocumentRecord(
        id: String(repeating: "a", count: 64), side: .front, mediaType: "image/jpeg", size: 10, uploadedAt: 1_728_972_000)

    @Test("R-DOC-5 UploadRules: new bytes are recorded and held; the same side again only renews the hold; the other side is refused")
    func uploads() throws {
        #expect(
            try UploadRules.recording(front, uploadedBy: authorizerID, recordedSide: nil)
                == [.document(front, uploadedBy: authorizerID), .documentHold(documentID: front.id, uploader: authorizerID)])
        #expect(
            try UploadRules.recording(front, uploadedBy: spouseID, recordedSide: .some(.front))
                == [.documentHold(documentID: front.id, uploader: spouseID)])
        #expect(reason { try UploadRules.recording(front, uploadedBy: spouseID, recordedSide: .some(.back)) } == "DOCUMENT_SIDE_CONFLICT")
        #expect(
            reason { try UploadRules.checkSize(chunk: UploadRules.chunkBytesMax + 1, total: 1, uploadBytesMax: 1 << 30) }
                == "DOCUMENT_TOO_LARGE")
        #expect(reason { try UploadRules.checkSize(chunk: 10, total: 101, uploadBytesMax: 100) } == "DOCUMENT_TOO_LARGE")
        #expect(reason { try UploadRules.checkComplete(size: 0, format: .jpeg) } == "DOCUMENT_EMPTY")
        #expect(reason { try UploadRules.checkComplete(size: 10, format: nil) } == "NOT_AN_IMAGE")
        #expect(try UploadRules.checkComplete(size: 10, format: .png) == .png)
    }

    @Test("R-DOC-4 DocumentRetention.cleanUp: holds past the retention and cited by no binding are released, then the unheld removed")
    func retention() {
        let holds = [
            DocumentHold(documentID: "old", uploader: authorizerID, uploadedAt: now - 200, isReferenced: false),
            DocumentHold(documentID: "cited", uploader: authorizerID, uploadedAt: now - 200, isReferenced: true),
            DocumentHold(documentID: "young", uploader: spouseID, uploadedAt: now - 50, isReferenced: false),
        ]
        #expect(
            DocumentRetention.cleanUp(holds, nowUnix: now, retentionSeconds: 100)
                == [.releaseDocumentHold(documentID: "old", uploader: authorizerID), .removeUnheldDocuments])
        #expect(DocumentRetention.cleanUp([], nowUnix: now, retentionSeconds: 100) == [.removeUnheldDocuments])
    }

    @Test(
        "R-BIND-11 RegistryRules.registration: an employee gets an empty account once; a change that ends bindings records the registry's end"
    )
    func registration() throws {
        let first = try RegistryRules.registration(
            employee(authorizerID), paidYears: [2024, 2023, 2024], stored: nil, open: [], today: today, now: 7)
        let opened = PersonalAccount(owner: authorizerID, year: 2024, currentYear: .zero, carryOver: .zero)
        #expect(first.writes == [.person(employee(authorizerID), paidYears: [2024, 2023, 2024]), .openAccount(opened)])
        #expect(first.record.paidYears == [2023, 2024])
        #expect(first.record.account == opened)
        // Registered again, with money in the account: the account stays as it is.
        let funded = PersonalAccount(owner: authorizerID, year: 2024, currentYear: .yuan(100), carryOver: .zero)
        let stored = PersonRecord(person: employee(authorizerID), paidYears: [], account: funded)
        let open = activeBinding()
        let again = try RegistryRules.registration(
            employee(authorizerID, status: .suspended), paidYears: [], stored: stored, open: [open], today: today, now: 7)
        #expect(again.record.account == funded)
        guard again.writes.count == 4, case .bindingState(let ended) = again.writes[1],
            case .bindingEvent(let recorded, let actor, let reason) = again.writes[2], case .event(let event) = again.writes[3]
        else {
            Issue.record("\(again.writes)")
            return
        }
        #expect(ended.status == .revoked && ended.endedBy == .registry && recorded == ended)
        #expect(actor.certificateIdentity == "registry" && reason == ended.endReason)
        // R-EVT-1: the ending is an event of both parties.
        #expect(event.kind == .bindingEnded && event.bindingID == open.id && event.at == 7)
        #expect(event.concerns(open.authorizer) && event.concerns(open.member))
        // A resident gets no account.
        #expect(
            try RegistryRules.registration(resident(childID, name: "王小明"), paidYears: [], stored: nil, open: [], today: today, now: 7)
                .writes
                .count
                == 1
        )
    }

    @Test("R-ACCT-2 YearEnd.plan: each account moves to carry-over with a movement that sums to zero, then the rollover is recorded")
    func rollover() throws {
        let account = PersonalAccount(owner: authorizerID, year: 2023, currentYear: .yuan(300), carryOver: .yuan(50))
        let writes = try YearEnd.plan(into: 2024, lastRolled: 2023, oldestAccountYear: 2023, accounts: [account], today: today)
        #expect(writes.count == 3)
        #expect(writes.first == .account(PersonalAccount(owner: authorizerID, year: 2024, currentYear: .zero, carryOver: .yuan(350))))
        if case .ledger(let movement) = writes[1] {
            #expect(Money.sum(movement.entries.map(\.amount)) == .zero)
        } else {
            Issue.record("\(writes)")
        }
        #expect(writes.last == .rollover(year: 2024, accounts: 1))
        #expect(
            reason { try YearEnd.plan(into: 2026, lastRolled: 2023, oldestAccountYear: 2023, accounts: [], today: today) }
                == "ROLLOVER_YEAR_INVALID")
    }

    @Test(
        "R-PAY-9 Idempotency: the same content under a request id is a retry; other content is refused, as a settlement id for settlements")
    func retries() {
        let key = IdempotencyKey(scope: "PayPremium:gateway", requestID: "r1", fingerprint: Data([1, 2]))
        #expect(failure { try Idempotency.checkRetry(of: key, storedFingerprint: Data([1, 2])) } == nil)
        #expect(failure { try Idempotency.checkRetry(of: key, storedFingerprint: Data([9])) }?.reason == .requestIDReused)
        let settlement = IdempotencyKey(scope: "Settle:H15010200001", requestID: "s1", fingerprint: Data([1]), kind: .settlement)
        #expect(failure { try Idempotency.checkRetry(of: settlement, storedFingerprint: Data([9])) }?.reason == .settlementIDReused)
    }

    @Test("a payment's write-set: the account, the payment, a ledger movement summing to zero, the deduction row; numbered by the backend")
    func paymentWrites() throws {
        let facts = premiumFacts(policy: ShippedPolicies.hohhot, current: .yuan(1000))
        let quote = try PremiumRules.quote(years: [2025], facts: facts)
        let plan = try PremiumRules.pay(years: [2025], expectedTotal: quote.total, external: nil, facts: facts)
        let (writes, row) = plan.writeSet(now: now)
        #expect(writes.now == now)
        #expect(writes.writes.first == .account(plan.authorizerAccount))
        #expect(writes.writes.contains(.payment(row)))
        #expect(writes.writes.contains(.ledger(plan.movement)))
        #expect(
            writes.writes.contains {
                if case .accountUse(let use) = $0 { use.kind == .premium && use.amount == quote.accountPart } else { false }
            })
        let numbered = row.numbered(42)
        #expect(numbered.seq == 42 && numbered.receiptNumber == plan.receiptNumber(sequence: 42) && numbered.total == quote.total)
    }

    @Test("what each account gave, in the order of the postings")
    func byOwner() {
        let postings = [
            SettlementPosting(owner: childID, part: .carryOver, amount: .yuan(1), bindingID: nil, accountYear: 2024),
            SettlementPosting(owner: authorizerID, part: .carryOver, amount: .yuan(2), bindingID: "b1", accountYear: 2024),
            SettlementPosting(owner: authorizerID, part: .currentYear, amount: .yuan(3), bindingID: "b1", accountYear: 2024),
        ]
        let uses = SettlementPosting.byOwner(postings)
        #expect(uses.map(\.owner) == [childID, authorizerID])
        #expect(uses.map(\.amount) == [.yuan(1), .yuan(5)])
    }
}
