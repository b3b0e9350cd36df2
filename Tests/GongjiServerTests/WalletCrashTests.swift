import Foundation
import GRDB
import GongjiCore
import GongjiDev
import GongjiSQLite
import GongjiServer
import GongjiStorage
import Testing

@Suite("Durability of the wallet's return", .serialized, .timeLimit(.minutes(3)))
struct WalletCrashTests {
    /// The `j`th member of the `i`th authorizer, insured in Haikou.
    static func member(_ i: Int, _ j: Int, today: CivilDate) throws -> ResidentID {
        try ResidentID.parse(makeID("460100", "200\(i / 300)0\(j + 1)15", j * 300 + i % 300), today: today)
    }

    @Test(
        "R-XP-4 SIGKILL of the daemon while its return job runs: after the restart every due transfer is returned exactly once, each authorizer's balance whole"
    )
    func killDuringReturns() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: DaemonProcess.binary.path), "build gongjid first (swift build)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gongji-kill-wallet-\(UUID().uuidString)")
        let today = SystemClock().today()
        let env = try DevEnvironment.create(
            at: dir, policySource: TestDaemon.repositoryRoot.appendingPathComponent("deploy/policies"),
            host: "127.0.0.1", port: 0, today: today)
        let config = try GongjiConfig.load(path: env.configPath, environment: [:])
        // Two days ago at noon (China time): 400 Hohhot authorizers with 1,000.00 each send 3
        // transfers of 100.00 to 3 members in Haikou; none is accepted, all fell due yesterday at 06:00.
        let day = today.adding(days: -2)
        let then = ClockTime(hour: 12, minute: 0)!.unixSeconds(on: day)
        let (authorizers, perAuthorizer) = (400, 3)
        var people: [ResidentID] = []
        do {
            let store = try SQLiteStore(path: config.database.path)
            var hohhot = try PolicyLoader.load(directory: config.policies.directory).policy(of: .hohhot)!
            hohhot.materials.commitmentVersions = []
            hohhot.materials.idImages = false
            let book = try PolicyBook([hohhot])
            var rows: [RegistryRow] = []
            for i in 0..<authorizers {
                let authorizer = try ResidentID.parse(
                    makeID("150102", "1970\(String(format: "%02d", i % 12 + 1))15", 100 + i), today: today)
                people.append(authorizer)
                rows += [
                    .person(
                        Person(id: authorizer, name: "甲\(i)", insuranceType: .employee, status: .normal, region: .hohhot), paidYears: []),
                    .credit(authorizer, amount: .yuan(1000), part: .currentYear, reference: "WK-\(i)"),
                ]
                for j in 0..<perAuthorizer {
                    let member = try Self.member(i, j, today: today)
                    rows.append(
                        .person(
                            Person(id: member, name: "乙\(i)", insuranceType: .resident, status: .normal, region: RegionCode(460_100)!),
                            paidYears: []))
                }
            }
            _ = try await store.importRows(rows, today: day, now: then)
            let actor = ChangeActor(certificateIdentity: "test", endUser: nil, requestID: nil)
            for (i, authorizer) in people.enumerated() {
                for j in 0..<perAuthorizer {
                    let member = try Self.member(i, j, today: today)
                    let binding = "wk-\(i)-\(j)"
                    _ = try await store.createBinding(
                        BindingRequest(memberIDNumber: member.value, memberName: "乙\(i)", relationship: .child, startDate: day),
                        endUser: authorizer, id: binding, key: nil, actor: actor, policies: book, today: day, now: then)
                    _ = try await store.openWallet(for: member, key: nil, now: then)
                    _ = try await store.transferToWallet(
                        bindingID: binding, amount: .yuan(100), endUser: authorizer, transferID: "t-\(i)-\(j)", key: nil, policies: book,
                        now: then)
                }
            }
            #expect(try await store.person(people[0])?.account?.total == .yuan(700))
            try store.close()
        }
        let total = authorizers * perAuthorizer
        var readOnly = Configuration()
        readOnly.readonly = true
        let reader = try DatabaseQueue(path: config.database.path, configuration: readOnly)
        func returned() throws -> Int {
            try reader.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM wallet_transfer WHERE status = 'returned'") ?? 0 }
        }

        // The daemon returns them at start, a hundred per transaction: killed after its first commit.
        let first = try DaemonProcess(config: env.configPath, directory: dir)
        let deadline = ContinuousClock.now + .seconds(60)
        while (try? returned()) ?? 0 == 0 && ContinuousClock.now < deadline && first.process.isRunning {
            try await Task.sleep(for: .milliseconds(1))
        }
        first.kill(SIGKILL)
        _ = await first.waitForExit()
        let beforeRestart = try returned()
        #expect(beforeRestart > 0 && beforeRestart < total, "killed in the middle of the returns (\(beforeRestart) of \(total))")

        let second = try DaemonProcess(config: env.configPath, directory: dir)
        _ = try await second.port()
        let until = ContinuousClock.now + .seconds(60)
        while try returned() < total && ContinuousClock.now < until { try await Task.sleep(for: .milliseconds(50)) }
        second.kill(SIGTERM)
        #expect(await second.waitForExit() == 0)
        #expect(try returned() == total, "every due transfer returned")

        let store = try SQLiteStore(path: config.database.path)
        #expect(try await store.ledgerSum() == .zero)
        for authorizer in people {
            #expect(try await store.person(authorizer)?.account?.total == .yuan(1000), "returned once: \(authorizer.masked)")
        }
        for i in [0, authorizers / 2, authorizers - 1] {
            for j in 0..<perAuthorizer {
                for part in BalancePart.allCases {
                    #expect(try await store.ledgerBalance(of: LedgerAccount.pendingTransfer("t-\(i)-\(j)", part)) == .zero)
                }
            }
        }
        try store.close()
    }
}
