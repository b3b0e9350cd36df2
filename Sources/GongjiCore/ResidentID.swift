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
        // Works on UTF-8 bytes: every request and every stored row is parsed. Characters are
        // counted only when the text is not all ASCII (such a character takes several bytes).
        let bytes = Array(text.utf8)
        let isASCII = bytes.allSatisfy { $0 < 0x80 }
        let length = isASCII ? bytes.count : text.count
        guard length == 18 else { throw .idNumber(.length, text: text, detail: "\(length) characters, need 18") }
        let isDigit = { (byte: UInt8) in (0x30...0x39).contains(byte) }
        guard isASCII ? bytes[0..<17].allSatisfy(isDigit) : Array(text)[0..<17].allSatisfy(\.isASCIIDigit) else {
            throw .idNumber(.format, text: text, detail: "the first 17 characters must be digits")
        }
        // Past this point a text that is not all ASCII has 17 digits and something else last.
        let last = isASCII ? (bytes[17] == UInt8(ascii: "x") ? UInt8(ascii: "X") : bytes[17]) : 0
        guard isDigit(last) || last == UInt8(ascii: "X") else {
            throw .idNumber(.format, text: text, detail: "the last character must be a digit or X")
        }
        let digits = bytes[0..<17].map { Int($0 - 0x30) }
        guard RegionCode.provincePrefixes.contains(digits[0] * 10 + digits[1]) else {
            throw .idNumber(.region, text: text, detail: "administrative code \(text.prefix(6)) names no province")
        }
        func number(_ range: Range<Int>) -> Int { digits[range].reduce(0) { $0 * 10 + $1 } }
        guard let birth = CivilDate(year: number(6..<10), month: number(10..<12), day: number(12..<14)) else {
            throw .idNumber(.birthDate, text: text, detail: "\(text.dropFirst(6).prefix(8)) is not a calendar date")
        }
        guard birth <= today else {
            throw .idNumber(.birthDateInFuture, text: text, detail: "birth date \(birth) is after \(today)")
        }
        let expected = checkCharacter(for: digits)
        guard expected.asciiValue == last else {
            throw .idNumber(.check, text: text, detail: "check character is \(Character(Unicode.Scalar(last))), expected \(expected)")
        }
        return ResidentID(value: String(text.prefix(17)) + String(expected), birthDate: birth)
    }

    /// The number of someone born on `born`, registered first in `area` (six digits), with the
    /// sequence number `sequence` (0…999): the 17 digits and their check character.
    public static func compose(area: String, born: CivilDate, sequence: Int) -> String {
        precondition(area.count == 6 && area.allSatisfy(\.isASCIIDigit) && (0..<1000).contains(sequence))
        let body = area + born.description.filter { $0 != "-" } + String(String(sequence + 1000).dropFirst())
        return body + String(checkCharacter(for: body.map { Int(String($0))! }))
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

/// Masks a personal name: the first character, then one `*` for each other character (王建国 → 王**,
/// 张三 → 张*; a one-character name still gets one `*`). The same rule in logs, on receipts and
/// wherever else a name is shown masked.
public func maskName(_ name: String) -> String {
    guard let first = name.first else { return "" }
    return String(first) + String(repeating: "*", count: max(1, name.count - 1))
}
