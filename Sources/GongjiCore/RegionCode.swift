/// A GB/T 2260 administrative region code (six digits), used for pooling regions (统筹区).
public struct RegionCode: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    /// The six-digit code, e.g. 150100 for Hohhot.
    public let value: Int

    /// The two-digit province prefixes of GB/T 2260 (including Taiwan, Hong Kong and Macao).
    public static let provincePrefixes: Set<Int> = [
        11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37,
        41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
    ]

    /// Creates a code, or nil unless it is six digits with a known province prefix.
    public init?(_ value: Int) {
        guard (100_000...999_999).contains(value), RegionCode.provincePrefixes.contains(value / 10_000)
        else { return nil }
        self.value = value
    }

    /// Parses a six-digit code.
    public init?(_ text: String) {
        guard text.count == 6, text.allSatisfy(\.isASCIIDigit), let value = Int(text) else { return nil }
        self.init(value)
    }

    /// Parses a code a caller sent in `field`, or INVALID_FIELD naming the field.
    public static func parse(_ text: String, field: String = "region_code") throws(DomainError) -> RegionCode {
        guard let code = RegionCode(text) else { throw .invalidField(field, "must be a six-digit GB/T 2260 code", zh: "统筹区代码无效") }
        return code
    }

    /// The province this region belongs to: the first two digits followed by 0000.
    public var province: RegionCode { RegionCode(unchecked: value / 10_000 * 10_000) }

    /// Whether this code names a whole province.
    public var isProvince: Bool { value % 10_000 == 0 }

    /// Whether both codes lie in the same province.
    public func isInSameProvince(as other: RegionCode) -> Bool { province == other.province }

    private init(unchecked value: Int) { self.value = value }

    /// Inner Mongolia Autonomous Region.
    public static let innerMongolia = RegionCode(unchecked: 150_000)
    /// Hohhot (呼和浩特).
    public static let hohhot = RegionCode(unchecked: 150_100)
    /// Ulanqab (乌兰察布).
    public static let ulanqab = RegionCode(unchecked: 150_900)
    /// Anhui province.
    public static let anhui = RegionCode(unchecked: 340_000)
    /// Hefei (合肥).
    public static let hefei = RegionCode(unchecked: 340_100)
    /// Ma'anshan (马鞍山).
    public static let maanshan = RegionCode(unchecked: 340_500)

    public static func < (lhs: RegionCode, rhs: RegionCode) -> Bool { lhs.value < rhs.value }
    public var description: String { String(value) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let raw: Int
        if let number = try? container.decode(Int.self) {
            raw = number
        } else {
            raw = Int(try container.decode(String.self)) ?? -1
        }
        guard let code = RegionCode(raw) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "not a GB/T 2260 region code (six digits, known province)")
        }
        self = code
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}
