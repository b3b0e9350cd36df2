/// An amount of money in fen (1 yuan = 100 fen). Never floating point.
///
/// Amounts that come from outside are bounded by `Money.max` (a trillion yuan), so sums of any
/// realistic number of them cannot overflow `Int64`; arithmetic that could still overflow is
/// checked and reports it instead of trapping.
public struct Money: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    /// The amount in fen; may be negative only for differences, never for balances.
    public let fen: Int64

    /// The largest amount accepted from outside: 10^14 fen (one trillion yuan).
    public static let max = Money(fen: 100_000_000_000_000)
    /// Nothing.
    public static let zero = Money(fen: 0)

    /// An amount of `fen` fen.
    public init(fen: Int64) { self.fen = fen }

    /// An amount of whole yuan.
    public static func yuan(_ yuan: Int64) -> Money { Money(fen: yuan * 100) }

    /// Whether the amount is within `0...Money.max`, the range accepted from outside.
    public var isValidAmount: Bool { fen >= 0 && fen <= Money.max.fen }

    /// The sum, or nil on overflow.
    public func adding(_ other: Money) -> Money? {
        let (value, overflow) = fen.addingReportingOverflow(other.fen)
        return overflow ? nil : Money(fen: value)
    }

    /// The difference, or nil on overflow.
    public func subtracting(_ other: Money) -> Money? {
        let (value, overflow) = fen.subtractingReportingOverflow(other.fen)
        return overflow ? nil : Money(fen: value)
    }

    /// The sum of amounts, or nil on overflow.
    public static func sum<S: Sequence>(_ amounts: S) -> Money? where S.Element == Money {
        var total = Money.zero
        for amount in amounts {
            guard let next = total.adding(amount) else { return nil }
            total = next
        }
        return total
    }

    /// The smaller of two amounts.
    public static func min(_ a: Money, _ b: Money) -> Money { a < b ? a : b }

    public static func < (lhs: Money, rhs: Money) -> Bool { lhs.fen < rhs.fen }

    /// Yuan with two decimals, e.g. `405.00`, `-5.00`, `0.07`.
    public var yuanString: String {
        let sign = fen < 0 ? "-" : ""
        let magnitude = fen.magnitude
        let cents = magnitude % 100
        return "\(sign)\(magnitude / 100).\(cents < 10 ? "0" : "")\(cents)"
    }

    /// Parses a yuan amount such as `405`, `405.5` or `405.00` exactly (at most two decimals).
    public init?(yuan text: String) {
        var body = Substring(text)
        var negative = false
        if body.first == "-" {
            negative = true
            body = body.dropFirst()
        }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts[0].count <= 15,
            parts[0].allSatisfy(\.isASCIIDigit), let whole = Int64(parts[0])
        else { return nil }
        var cents: Int64 = 0
        if parts.count == 2 {
            let decimals = parts[1]
            guard (1...2).contains(decimals.count), decimals.allSatisfy(\.isASCIIDigit) else { return nil }
            cents = Int64(decimals)! * (decimals.count == 1 ? 10 : 1)
        }
        let value = whole * 100 + cents
        self.init(fen: negative ? -value : value)
    }

    public var description: String { "¥\(yuanString)" }

    public init(from decoder: any Decoder) throws {
        self.init(fen: try decoder.singleValueContainer().decode(Int64.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(fen)
    }
}
