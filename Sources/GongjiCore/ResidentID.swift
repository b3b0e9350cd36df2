/// An 18-character resident ID number (公民身份号码, GB 11643-1999), validated and normalised.
///
/// The administrative code inside is the place of first registration, not the insurance region:
/// it is never used for eligibility (R-ID-1).
public struct ResidentID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The normalised number: 17 digits and a check character (digit or upper-case X).
    public let value: String
    /// The birth date encoded in the number.
    public let birthDate: CivilDate

    /// Sex as encoded by the sequence number (odd = male, even = female).
    public enum Sex: String, Sendable { case male, female }

    /// The ISO 7064 MOD 11-2 weights of the first 17 digits.
    static let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    /// Check characters indexed by the weighted sum modulo 11.
    static let checkCharacters: [Character] = ["1", "0", "X", "9", "8", "7", "6", "5", "4", "3", "2"]

    /// Validates `text` as a resident ID number on `today` (China time).
    ///
    /// Lower-case `x` is accepted and normalised to `X`; every other defect is reported with a
    /// reason that names the part that is wrong.
    public static func parse(_ text: String, today: CivilDate) throws(DomainError) -> ResidentID {
        if let valid = parseValidASCII(text, today: today) { return valid }
        return try parseReportingDefect(text, today: today)
    }

    /// The common case, on UTF-8 bytes: a valid number, or nil for anything `parseReportingDefect`
    /// would refuse (it then names the defect). Every request and every stored row goes through here.
    static func parseValidASCII(_ text: String, today: CivilDate) -> ResidentID? {
        text.utf8.withContiguousStorageIfAvailable { bytes -> ResidentID? in
            guard bytes.count == 18 else { return nil }
            var digits = [Int](repeating: 0, count: 17)
            var sum = 0
            for index in 0..<17 {
                let byte = bytes[index]
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                digits[index] = Int(byte - 0x30)
                sum += digits[index] * weights[index]
            }
            var last = bytes[17]
            if last == UInt8(ascii: "x") { last = UInt8(ascii: "X") }
            guard RegionCode.provincePrefixes.contains(digits[0] * 10 + digits[1]),
                  let birth = CivilDate(year: digits[6] * 1000 + digits[7] * 100 + digits[8] * 10 + digits[9],
                                        month: digits[10] * 10 + digits[11], day: digits[12] * 10 + digits[13]),
                  birth <= today,
                  checkCharacters[sum % 11].asciiValue == last
            else { return nil }
            return ResidentID(value: bytes[17] == last ? text : String(text.dropLast()) + "X", birthDate: birth)
        } ?? nil  // not contiguous UTF-8 (a bridged string): the general path decides
    }

    /// Validates `text`, reporting the first defect found.
    static func parseReportingDefect(_ text: String, today: CivilDate) throws(DomainError) -> ResidentID {
        let chars = Array(text)
        guard chars.count == 18 else { throw .idNumber(.length, text: text, detail: "\(chars.count) characters, need 18") }
        guard chars[0..<17].allSatisfy(\.isASCIIDigit) else {
            throw .idNumber(.format, text: text, detail: "the first 17 characters must be digits")
        }
        var last = chars[17]
        if last == "x" { last = "X" }
        guard last.isASCIIDigit || last == "X" else {
            throw .idNumber(.format, text: text, detail: "the last character must be a digit or X")
        }
        let digits = chars[0..<17].map { Int(String($0))! }
        let province = digits[0] * 10 + digits[1]
        guard RegionCode.provincePrefixes.contains(province) else {
            throw .idNumber(.region, text: text, detail: "administrative code \(String(chars[0..<6])) names no province")
        }
        guard let birth = CivilDate(compact: Substring(String(chars[6..<14]))) else {
            throw .idNumber(.birthDate, text: text, detail: "\(String(chars[6..<14])) is not a calendar date")
        }
        guard birth <= today else {
            throw .idNumber(.birthDateInFuture, text: text, detail: "birth date \(birth) is after \(today)")
        }
        let expected = checkCharacter(for: digits)
        guard expected == last else {
            throw .idNumber(.check, text: text, detail: "check character is \(last), expected \(expected)")
        }
        return ResidentID(value: String(chars[0..<17]) + String(last), birthDate: birth)
    }

    /// The MOD 11-2 check character of 17 digits.
    public static func checkCharacter(for digits: [Int]) -> Character {
        precondition(digits.count == 17, "a check character is computed over 17 digits")
        let sum = zip(digits, weights).reduce(0) { $0 + $1.0 * $1.1 }
        return checkCharacters[sum % 11]
    }

    private init(value: String, birthDate: CivilDate) {
        self.value = value
        self.birthDate = birthDate
    }

    /// The six-digit administrative code of first registration (not the insurance region).
    public var registrationCode: String { String(value.prefix(6)) }

    /// The three-digit sequence number.
    public var sequence: Int { Int(value.dropFirst(14).prefix(3))! }

    /// Sex encoded by the sequence number.
    public var sex: Sex { sequence % 2 == 1 ? .male : .female }

    /// The number masked for logs: first four and last four characters, e.g. `1501**********1234`.
    public var masked: String { ResidentID.mask(value) }

    /// Masks any string as an ID number would be masked (used for rejected input too).
    public static func mask(_ text: String) -> String {
        let chars = Array(text)
        guard chars.count > 8 else { return String(repeating: "*", count: chars.count) }
        return String(chars.prefix(4)) + String(repeating: "*", count: chars.count - 8) + String(chars.suffix(4))
    }

    /// The masked form, so that an ID number interpolated by accident never leaks.
    public var description: String { masked }

    public static func < (lhs: ResidentID, rhs: ResidentID) -> Bool { lhs.value < rhs.value }
}

/// Masks a personal name for logs: the first character and one `*` per remaining character (`张*`).
public func maskName(_ name: String) -> String {
    guard let first = name.first else { return "" }
    return String(first) + String(repeating: "*", count: max(1, name.count - 1))
}
