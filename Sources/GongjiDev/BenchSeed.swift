import Foundation
import GongjiBench
import GongjiCore
import GongjiSQLite
import GongjiServer
import GongjiStorage
import Logging

/// Seeds a benchmark database through the real use cases (registry import, uploads, bindings,
/// reviews), in process and concurrently, and describes the result in a `BenchManifest`.
public enum BenchSeed {
    /// How many members each shared account has.
    public static let sharedMembers = BenchManifest.sharedMembers

    /// Creates the benchmark directory (a dev environment: throwaway CA, keys, policies with a
    /// premium year open today) and seeds `families` Hohhot families and `sharedAccounts`
    /// Ma'anshan accounts of `sharedMembers` members.
    public static func create(
        at directory: URL, policySource: URL, families: Int, sharedAccounts: Int, postgresql: String? = nil,
        logger: Logger
    ) async throws -> BenchManifest {
        // One reading of the clock for the whole seed: a seed crossing midnight in China would
        // otherwise bind with yesterday's start date against the daemon's today.
        let clock = FixedClock(nowUnix: SystemClock().nowUnix())
        let today = clock.today()
        let env = try DevEnvironment.create(
            at: directory, policySource: policySource, host: "127.0.0.1", port: 0, today: today,
            database: postgresql.map { .postgresql(url: $0) } ?? .sqlite)
        let config = try GongjiConfig.load(path: env.configPath)
        let daemon = try await GongjiDaemon.build(config: config, clock: clock, logger: logger)
        let service = daemon.service
        defer { try? daemon.closeStore() }
        let year = today.year + 1
        let population = Population(families: families, sharedAccounts: sharedAccounts, today: today)

        // Balances arrive last year and roll over, as on a real account in a new year.
        let lastYear = CivilDate(year: today.year - 1, month: 12, day: 31)!
        _ = try await daemon.store.importRows(population.rows, today: lastYear, now: clock.nowUnix())
        _ = try await daemon.store.rollOver(into: today.year, key: nil, today: today, now: clock.nowUnix())

        let distinct = try await concurrently(population.hohhot) { index, family in
            try await bindHohhotFamily(family, index: index, service: service, year: year, today: today)
        }
        let shared = try await concurrently(population.maanshan) { _, family in
            try await bindMaanshanFamily(family, service: service, year: year, today: today)
        }
        // Children bound by both parents (employee-insured in Hohhot): the father's account nearly
        // empty, so that each settlement takes from both bindings.
        let twoParents = try await concurrently(population.twoParents) { index, family in
            try await bindTwoParents(family, index: index, service: service, today: today)
        }
        // R-XP-3: cross-province families, bound without materials through the store (the bench
        // measures transfers, not bindings), each mother's wallet open; the bench's Hohhot policy
        // has no quiet hours, so that the transfer scenario runs at any time of day.
        let policyFile = URL(fileURLWithPath: config.policies.directory).appendingPathComponent("150100.json5")
        var hohhot = try RegionPolicy.decode(json5: try Data(contentsOf: policyFile), source: policyFile.lastPathComponent)
        hohhot.crossProvince?.quietFrom = ClockTime(hour: 0, minute: 0)!
        hohhot.crossProvince?.quietUntil = ClockTime(hour: 0, minute: 0)!
        try hohhot.canonicalJSON().write(to: policyFile)
        hohhot.materials.commitmentVersions = []
        hohhot.materials.idImages = false
        let withoutMaterials = try PolicyBook([hohhot])
        let transferables = try await concurrently(population.crossProvince) { index, family in
            let mother = family.members[0]
            let binding = try await daemon.store.createBinding(
                BindingRequest(memberIDNumber: mother.id.value, memberName: mother.name, relationship: .parent, startDate: today),
                endUser: family.authorizer, id: "bench-xp-\(index)", key: nil, actor: seeder, policies: withoutMaterials, today: today,
                now: clock.nowUnix())
            _ = try await daemon.store.openWallet(for: mother.id, key: nil, now: clock.nowUnix())
            return BenchManifest.Transferable(binding: binding.binding.id, authorizer: family.authorizer.value, member: mother.id.value)
        }
        var manifest = BenchManifest(
            distinct: distinct, shared: shared, uploaders: population.hohhot.map(\.authorizer.value),
            settlePatients: population.hohhot.map { $0.members[0].id.value }, settleTwoPatients: twoParents)
        manifest.transferables = transferables
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try encoder.encode(manifest).write(to: directory.appendingPathComponent(BenchManifest.fileName))
        return manifest
    }

    /// The people to import: authorizers with funded accounts and their children.
    struct Population {
        struct Family {
            var authorizer: ResidentID
            var members: [(id: ResidentID, name: String)]
        }

        var hohhot: [Family] = []
        var maanshan: [Family] = []
        /// A Hohhot authorizer and his mother insured in Haikou (R-XP).
        var crossProvince: [Family] = []
        /// A child and both parents: (father, mother, child).
        var twoParents: [(father: ResidentID, mother: ResidentID, child: (id: ResidentID, name: String))] = []
        var rows: [RegistryRow] = [.institution(DevEnvironment.hospital)]

        /// The birth dates of a group span this many days (ten years).
        static let birthDays = 3650

        /// A bijection of 0..<birthDays × 1000 onto itself that puts neighbours far apart
        /// (multiplication by a number coprime to the modulus 2⁴·5⁵·73).
        static func scatter(_ index: Int) -> Int {
            let modulus = birthDays * 1000
            precondition(index >= 0 && index < modulus, "the bench population is limited to \(modulus) per group")
            return (index * 1_000_003 + 12_345) % modulus
        }

        init(families: Int, sharedAccounts: Int, today: CivilDate) {
            let parentsBorn = CivilDate(year: 1965, month: 1, day: 1)!
            let childrenBorn = CivilDate(year: 2005, month: 1, day: 1)!
            // Real ID numbers are not in order: neighbouring indexes get birth dates anywhere in ten
            // years and unrelated sequence numbers, so that consecutive payments touch B-tree pages
            // far apart, as a real population's do (in order, a batch of payments shared leaves and
            // looked cheaper than it is).
            func id(_ area: String, _ born: CivilDate, _ index: Int) -> ResidentID {
                let scattered = Self.scatter(index)
                return try! ResidentID.parse(
                    ResidentID.compose(
                        area: area, born: born.adding(days: scattered % Self.birthDays), sequence: scattered / Self.birthDays),
                    today: today)
            }
            for index in 0..<families {
                let authorizer = id("150102", parentsBorn, index)
                let child = id("150103", childrenBorn, index)
                rows.append(
                    .person(
                        Person(id: authorizer, name: "赵父\(index)", insuranceType: .employee, status: .normal, region: .hohhot),
                        paidYears: []))
                rows.append(
                    .person(
                        Person(id: child, name: "赵子\(index)", insuranceType: .resident, status: .normal, region: .hohhot), paidYears: []))
                rows.append(.credit(authorizer, amount: .yuan(2_000), part: .currentYear, reference: "BENCH-\(authorizer.value)"))
                hohhot.append(Family(authorizer: authorizer, members: [(child, "赵子\(index)")]))
            }
            for index in 0..<sharedAccounts {
                let authorizer = id("340503", parentsBorn, index)
                var members: [(ResidentID, String)] = []
                for member in 0..<BenchSeed.sharedMembers {
                    let child = id("340504", childrenBorn, index * BenchSeed.sharedMembers + member)
                    let name = "钱子\(index)-\(member)"
                    rows.append(
                        .person(Person(id: child, name: name, insuranceType: .resident, status: .normal, region: .maanshan), paidYears: []))
                    members.append((child, name))
                }
                rows.append(
                    .person(
                        Person(id: authorizer, name: "钱父\(index)", insuranceType: .employee, status: .normal, region: .maanshan),
                        paidYears: []))
                rows.append(.credit(authorizer, amount: .yuan(10_000), part: .currentYear, reference: "BENCH-\(authorizer.value)"))
                maanshan.append(Family(authorizer: authorizer, members: members))
            }
            for index in 0..<max(1, families / 2) {
                let authorizer = id("150106", parentsBorn, index)
                let mother = id("460100", CivilDate(year: 1950, month: 1, day: 1)!, index)
                rows.append(
                    .person(
                        Person(id: authorizer, name: "周子\(index)", insuranceType: .employee, status: .normal, region: .hohhot),
                        paidYears: []))
                rows.append(
                    .person(
                        Person(id: mother, name: "吴母\(index)", insuranceType: .resident, status: .normal, region: RegionCode(460_100)!),
                        paidYears: []))
                rows.append(.credit(authorizer, amount: .yuan(2_000), part: .currentYear, reference: "BENCH-\(authorizer.value)"))
                crossProvince.append(Family(authorizer: authorizer, members: [(mother, "吴母\(index)")]))
            }
            for index in 0..<max(1, families / 10) {
                let father = id("150104", parentsBorn, index)
                let mother = id("150105", parentsBorn, index)
                let child = id("150104", childrenBorn, index)
                let name = "孙子\(index)"
                rows.append(
                    .person(
                        Person(id: father, name: "孙父\(index)", insuranceType: .employee, status: .normal, region: .hohhot), paidYears: []))
                rows.append(
                    .person(
                        Person(id: mother, name: "孙母\(index)", insuranceType: .employee, status: .normal, region: .hohhot), paidYears: []))
                rows.append(
                    .person(Person(id: child, name: name, insuranceType: .resident, status: .normal, region: .hohhot), paidYears: []))
                rows.append(.credit(father, amount: .yuan(5), part: .currentYear, reference: "BENCH-\(father.value)"))
                rows.append(.credit(mother, amount: .yuan(100_000), part: .currentYear, reference: "BENCH-\(mother.value)"))
                twoParents.append((father, mother, (child, name)))
            }
        }
    }

    static let seeder = ChangeActor(certificateIdentity: "gongjid-bench-setup", endUser: nil, requestID: nil)

    /// Hohhot: both ID images uploaded, the commitment signed, active at once.
    static func bindHohhotFamily(
        _ family: Population.Family, index: Int, service: GongjiService, year: Int,
        today: CivilDate
    ) async throws -> BenchManifest.Payable {
        var documents: [String] = []
        for side in [DocumentSide.front, .back] {
            let upload = try service.beginUpload(side: side, uploader: family.authorizer)
            defer { upload.abort() }
            try upload.append(Data(benchJPEG(size: 2048, seed: UInt64(index) << 1 | (side == .front ? 0 : 1))))
            documents.append(try await upload.finish(at: service.now()).record.id)
        }
        let member = family.members[0]
        let request = BindingRequest(
            memberIDNumber: member.id.value, memberName: member.name, relationship: .child, startDate: today,
            commitment: CommitmentAcceptance(version: "hohhot-2024-09", acceptedAtUnix: service.now().now),
            frontDocument: documents[0], backDocument: documents[1])
        let binding = try await service.createBinding(request, endUser: family.authorizer, key: nil, actor: seeder, at: service.now())
        return try await payable(binding.binding.id, endUser: family.authorizer, year: year, service: service)
    }

    /// Both parents bind their child (Hohhot: images and commitment); returns the child.
    static func bindTwoParents(
        _ family: (father: ResidentID, mother: ResidentID, child: (id: ResidentID, name: String)), index: Int,
        service: GongjiService, today: CivilDate
    ) async throws -> String {
        for (offset, parent) in [family.father, family.mother].enumerated() {
            var documents: [String] = []
            for side in [DocumentSide.front, .back] {
                let upload = try service.beginUpload(side: side, uploader: parent)
                defer { upload.abort() }
                try upload.append(Data(benchJPEG(size: 2048, seed: UInt64(1 << 40 | index << 2 | offset << 1) | (side == .front ? 0 : 1))))
                documents.append(try await upload.finish(at: service.now()).record.id)
            }
            let request = BindingRequest(
                memberIDNumber: family.child.id.value, memberName: family.child.name, relationship: .child, startDate: today,
                commitment: CommitmentAcceptance(version: "hohhot-2024-09", acceptedAtUnix: service.now().now),
                frontDocument: documents[0], backDocument: documents[1])
            _ = try await service.createBinding(request, endUser: parent, key: nil, actor: seeder, at: service.now())
        }
        return family.child.id.value
    }

    /// Ma'anshan: no materials, submitted and approved by a reviewer.
    static func bindMaanshanFamily(
        _ family: Population.Family, service: GongjiService, year: Int,
        today: CivilDate
    ) async throws -> [BenchManifest.Payable] {
        var result: [BenchManifest.Payable] = []
        for member in family.members {
            let request = BindingRequest(memberIDNumber: member.id.value, memberName: member.name, relationship: .child, startDate: today)
            let pending = try await service.createBinding(request, endUser: family.authorizer, key: nil, actor: seeder, at: service.now())
            _ = try await service.reviewBinding(id: pending.binding.id, decision: .approve, key: nil, actor: seeder, at: service.now())
            result.append(try await payable(pending.binding.id, endUser: family.authorizer, year: year, service: service))
        }
        return result
    }

    static func payable(_ binding: String, endUser: ResidentID, year: Int, service: GongjiService) async throws -> BenchManifest.Payable {
        let quote = try await service.quote(bindingID: binding, years: [year], endUser: endUser, at: service.now())
        return BenchManifest.Payable(binding: binding, endUser: endUser.value, year: year, totalFen: quote.total.fen)
    }

    /// Runs `body` for every item, 64 at a time (so group commit batches the writes), in order.
    static func concurrently<Item: Sendable, Result: Sendable>(
        _ items: [Item], _ body: @escaping @Sendable (Int, Item) async throws -> Result
    ) async throws -> [Result] {
        try await withThrowingTaskGroup(of: (Int, Result).self) { group in
            var results = [Result?](repeating: nil, count: items.count)
            var next = 0
            while next < min(64, items.count) {
                let index = next
                group.addTask { (index, try await body(index, items[index])) }
                next += 1
            }
            while let (index, result) = try await group.next() {
                results[index] = result
                if next < items.count {
                    let index = next
                    group.addTask { (index, try await body(index, items[index])) }
                    next += 1
                }
            }
            return results.map { $0! }
        }
    }
}
