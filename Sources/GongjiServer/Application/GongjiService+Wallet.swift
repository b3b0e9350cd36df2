import Foundation
import GongjiCore

extension GongjiService {
    /// R-XP-2: the end user opens his or her wallet.
    public func openWallet(
        for endUser: ResidentID, key: IdempotencyKey?, at time: ClockReading
    ) async throws -> (
        view: WalletView, opened: Bool
    ) {
        let result = try await store.openWallet(for: endUser, key: key, now: time.now)
        if result.opened { logger.info("wallet opened", metadata: ["end_user": "\(endUser.masked)"]) }
        return result
    }

    /// The authorizer's view: what each member's wallet holds from the end user.
    public func holdings(grantedBy endUser: ResidentID) async throws -> [WalletHolding] { try await store.holdings(from: endUser) }

    /// The end user's wallet.
    public func wallet(of endUser: ResidentID) async throws -> WalletView { try await store.wallet(of: endUser) }

    /// R-XP-3: the authorizer `endUser` grants `amount` into the wallet of the binding's member.
    public func transferToWallet(
        bindingID: String, amount: Money, endUser: ResidentID, key: IdempotencyKey?, at time: ClockReading
    ) async throws -> (transfer: WalletTransfer, balanceAfter: Money) {
        let result = try await store.transferToWallet(
            bindingID: bindingID, amount: amount, endUser: endUser, transferID: makeID(), key: key, policies: state.policies,
            now: time.now)
        logger.info(
            "wallet transfer sent",
            metadata: ["transfer.id": "\(result.transfer.id)", "binding.id": "\(bindingID)", "amount_fen": "\(amount.fen)"])
        return result
    }

    /// R-XP-4: the member `endUser` accepts or declines a pending transfer.
    public func answerTransfer(
        id: String, _ answer: WalletRules.Answer, endUser: ResidentID, key: IdempotencyKey?, at time: ClockReading
    ) async throws -> WalletTransfer {
        let transfer = try await store.answerTransfer(id: id, answer, endUser: endUser, key: key, now: time.now)
        logger.info("wallet transfer answered", metadata: ["transfer.id": "\(id)", "answer": "\(answer.rawValue)"])
        return transfer
    }

    /// The end user's transfers as sender or receiver, newest first.
    public func walletTransfers(
        of endUser: ResidentID, as perspective: BindingPerspective, page: PageRequest
    ) async throws -> Page<
        WalletTransfer
    > {
        try await pageTokens.page(page, list: "transfers-\(perspective.rawValue)-\(endUser.value)", cursorOf: \.seq) { cursor, limit in
            try await store.walletTransfers(of: endUser, as: perspective, before: cursor, limit: limit)
        }
    }

    /// R-XP-7: the clearing of `month` (YYYY-MM, China time) per pair of provinces; only a month that has ended.
    public func crossProvinceClearing(month: String, at time: ClockReading) async throws -> [PairClearing] {
        let (start, end) = try ClearingRules.window(month: month, now: time.now)
        return ClearingRules.report(try await store.walletMovements(from: start, until: end))
    }

    /// R-XP-4: returns the transfers whose return time has come; returns how many.
    @discardableResult
    public func returnDueTransfers() async throws -> Int {
        var total = 0
        while true {
            // A hundred per transaction: the authorizers' accounts stay locked briefly.
            let returned = try await store.returnDueTransfers(now: now().now, limit: 100)
            total += returned
            if returned < 100 { break }
        }
        if total > 0 { logger.info("wallet transfers returned", metadata: ["transfers": "\(total)"]) }
        return total
    }
}
