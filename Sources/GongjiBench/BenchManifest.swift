import Foundation

// What the benchmark's seeding (gongjid bench-setup) and its load generator (gongji-load) share:
// a manifest of the seeded population and the shape of its images. No server, no database driver.

/// What the benchmark's load generator needs to know about the seeded population.
public struct BenchManifest: Codable, Sendable {
    /// One payable member-year: the binding, the end user paying (its authorizer), the year and
    /// the amount the client confirms.
    public struct Payable: Codable, Sendable, Hashable {
        /// The binding id.
        public var binding: String
        /// The authorizer's ID number (the gateway's end user).
        public var endUser: String
        /// The premium year.
        public var year: Int
        /// The quoted total in fen.
        public var totalFen: Int64

        /// Creates one.
        public init(binding: String, endUser: String, year: Int, totalFen: Int64) {
            self.binding = binding
            self.endUser = endUser
            self.year = year
            self.totalFen = totalFen
        }
    }

    /// Hohhot families of one member each: payments that touch distinct accounts.
    public var distinct: [Payable]
    /// Ma'anshan authorizers with `sharedMembers` members each: payments that contend for one account.
    public var shared: [[Payable]]
    /// Authorizers that may upload identity documents.
    public var uploaders: [String]
    /// The designated hospital the settlement scenarios settle at.
    public var institution: String = Self.defaultInstitution
    /// Patients each bound by one authorizer (the Hohhot children): settlements on distinct accounts.
    public var settlePatients: [String] = []
    /// Patients bound by two authorizers, the older binding nearly empty: each settlement takes
    /// from both family funds.
    public var settleTwoPatients: [String] = []
    /// R-XP-3: cross-province bindings (a Hohhot authorizer, a mother insured in Haikou with her
    /// wallet open): each may send `transfersPerDay` transfers a day, one pending at a time.
    public var transferables: [Transferable] = []

    /// A cross-province binding whose authorizer transfers into the member's wallet.
    public struct Transferable: Codable, Sendable, Hashable {
        /// The binding.
        public var binding: String
        /// Its authorizer (the end user who sends).
        public var authorizer: String
        /// Its member (the end user who accepts).
        public var member: String

        /// Creates one.
        public init(binding: String, authorizer: String, member: String) {
            self.binding = binding
            self.authorizer = authorizer
            self.member = member
        }
    }

    /// Transfers one account may send a day (the wallet rules' published limit).
    public static let transfersPerDay = 3

    enum CodingKeys: String, CodingKey {
        case distinct, shared, uploaders, institution, settlePatients, settleTwoPatients, transferables
    }

    public init(distinct: [Payable], shared: [[Payable]], uploaders: [String], settlePatients: [String], settleTwoPatients: [String]) {
        self.distinct = distinct
        self.shared = shared
        self.uploaders = uploaders
        self.settlePatients = settlePatients
        self.settleTwoPatients = settleTwoPatients
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        distinct = try c.decode([Payable].self, forKey: .distinct)
        shared = try c.decode([[Payable]].self, forKey: .shared)
        uploaders = try c.decode([String].self, forKey: .uploaders)
        institution = try c.decodeIfPresent(String.self, forKey: .institution) ?? Self.defaultInstitution
        settlePatients = try c.decodeIfPresent([String].self, forKey: .settlePatients) ?? []
        settleTwoPatients = try c.decodeIfPresent([String].self, forKey: .settleTwoPatients) ?? []
        transferables = try c.decodeIfPresent([Transferable].self, forKey: .transferables) ?? []
    }

    /// How many members each shared account has.
    public static let sharedMembers = 8
    /// The demo hospital (`DevEnvironment.hospital`), for manifests written before it was named.
    public static let defaultInstitution = "H15010000001"

    /// The file name inside the benchmark directory.
    public static let fileName = "bench-manifest.json"

    /// Reads the manifest written into `directory`.
    public static func load(directory: URL) throws -> BenchManifest {
        try JSONDecoder().decode(BenchManifest.self, from: Data(contentsOf: directory.appendingPathComponent(fileName)))
    }
}

/// Bytes with the shape of a JPEG (SOI, a JFIF APP0 segment, high-entropy filler, EOI); the
/// filler is pseudo-random from `seed`, so different seeds give different content addresses.
public func benchJPEG(size: Int, seed: UInt64) -> [UInt8] {
    precondition(size >= 16)
    var bytes: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0x01]
    bytes.reserveCapacity(size)
    var x = seed &+ 0x9E37_79B9_7F4A_7C15
    while bytes.count < size - 2 {
        // splitmix64
        x &+= 0x9E37_79B9_7F4A_7C15
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        withUnsafeBytes(of: z) { bytes.append(contentsOf: $0.prefix(size - 2 - bytes.count)) }
    }
    return bytes + [0xFF, 0xD9]
}
