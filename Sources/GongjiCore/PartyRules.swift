/// Who may see and act on a binding's records: its authorizer and its member, nobody else.
public enum PartyRules {
    /// Throws NOT_PARTY unless `endUser` is the authorizer or the member.
    public static func requireParty(
        _ endUser: ResidentID, authorizer: ResidentID, member: ResidentID,
        of thing: String
    ) throws(DomainError) {
        guard endUser == authorizer || endUser == member else { throw .notParty(thing) }
    }

    /// The binding as `endUser` may see it: one that does not exist and one the end user is no
    /// party to look the same (NOT_PARTY), so existence does not leak.
    public static func visible(_ binding: Binding?, to endUser: ResidentID) throws(DomainError) -> Binding {
        guard let binding else { throw .notParty("binding") }
        try requireParty(endUser, authorizer: binding.authorizer, member: binding.member, of: "binding")
        return binding
    }

    /// A payment, or its receipt (`thing`), as `endUser` may see it (see `visible(_:to:)`).
    public static func visible(
        _ payment: PaymentRecord?, as thing: String = "payment", to endUser: ResidentID
    ) throws(DomainError) -> PaymentRecord {
        guard let payment else { throw .notParty(thing) }
        try requireParty(endUser, authorizer: payment.authorizer, member: payment.member, of: thing)
        return payment
    }
}
