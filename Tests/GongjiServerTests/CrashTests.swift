import Foundation
import GRPCCore
import GongjiClient
import GongjiCore
import GongjiDev
import GongjiProto
import GongjiSQLite
import GongjiServer
import GongjiStorage
import Logging
import Testing

/// The real daemon binary, run as a separate process.
final class DaemonProcess: @unchecked Sendable {
    let process = Process()
    let portFile: URL

    static var binary: URL { TestDaemon.repositoryRoot.appendingPathComponent(".build/debug/gongjid") }

    init(config: String, directory: URL, environment: [String: String] = [:]) throws {
        portFile = directory.appendingPathComponent("port-\(UUID().uuidString)")
        process.executableURL = Self.binary
        process.arguments = ["run", "--config", config, "--port-file", portFile.path]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
    }

    /// Waits for the port file.
    func port(timeout: Duration = .seconds(30)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text) { return port }
            guard process.isRunning else { throw CancellationError() }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw CancellationError()
    }

    func kill(_ signal: Int32) { Foundation.kill(process.processIdentifier, signal) }

    func waitForExit() async -> Int32 {
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        return process.terminationStatus
    }
}

@Suite("Durability", .serialized, .timeLimit(.minutes(3)))
struct CrashTests {
    @Test("SIGKILL in the middle of a stream of payments: every acknowledged payment is there, none is half-written")
    func killDuringPayments() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: DaemonProcess.binary.path), "build gongjid first (swift build)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gongji-kill-\(UUID().uuidString)")
        let today = SystemClock().today()
        let env = try DevEnvironment.create(
            at: dir, policySource: TestDaemon.repositoryRoot.appendingPathComponent("deploy/policies"),
            host: "127.0.0.1", port: 0, today: today)
        let config = try GongjiConfig.load(path: env.configPath, environment: [:])
        let year = today.year + 1  // the demo premium year whose window contains today
        // Thirty Hohhot authorizers, each with 1000.00 and an active binding of one child.
        let count = 30
        var bindings: [(authorizer: String, binding: String)] = []
        do {
            let store = try SQLiteStore(path: config.database.path)
            let now = Int64(Date().timeIntervalSince1970)
            // Hohhot without its materials, so that bindings need no uploads.
            var hohhot = try PolicyLoader.load(directory: config.policies.directory).policy(of: .hohhot)!
            hohhot.materials.commitmentVersions = []
            hohhot.materials.idImages = false
            let withoutMaterials = try PolicyBook([hohhot])
            for i in 0..<count {
                let authorizer = try ResidentID.parse(
                    makeID("150102", "1970\(String(format: "%02d", i % 12 + 1))15", 100 + i), today: today)
                let child = try ResidentID.parse(makeID("150102", "2005\(String(format: "%02d", i % 12 + 1))15", 300 + i), today: today)
                _ = try await store.importRows(
                    [
                        .person(
                            Person(id: authorizer, name: "甲\(i)", insuranceType: .employee, status: .normal, region: .hohhot), paidYears: []
                        ),
                        .person(
                            Person(id: child, name: "乙\(i)", insuranceType: .resident, status: .normal, region: .hohhot), paidYears: []),
                        .credit(authorizer, amount: .yuan(1000), part: .currentYear, reference: "KILL-\(i)"),
                    ], today: today, now: now)
                let request = BindingRequest(memberIDNumber: child.value, memberName: "乙\(i)", relationship: .child, startDate: today)
                let record = try await store.createBinding(
                    request, endUser: authorizer, id: "kill-\(i)", key: nil,
                    actor: ChangeActor(certificateIdentity: "test", endUser: authorizer, requestID: nil),
                    policies: withoutMaterials, today: today, now: now)
                bindings.append((authorizer.value, record.binding.id))
            }
            try store.close()
        }

        let first = try DaemonProcess(config: env.configPath, directory: dir)
        let port = try await first.port()
        let pki = dir.appendingPathComponent("pki").path
        let transport = try makeClientTransport(
            host: "127.0.0.1", port: port, ca: .file("\(pki)/ca.pem"),
            certificate: .file("\(pki)/gateway.pem"), key: .file("\(pki)/gateway-key.pem"))
        var acknowledged: Set<Int> = []
        try await withGRPCClient(transport: transport) { client in
            let premiums = Gongji_V1_PremiumService.Client(wrapping: client)
            for (i, entry) in bindings.enumerated() {
                if i == 12 {
                    // Kill while the next payment is on its way.
                    Task.detached {
                        try? await Task.sleep(for: .milliseconds(2))
                        first.kill(SIGKILL)
                    }
                }
                do {
                    _ = try await premiums.payPremium(
                        .with {
                            $0.requestID = "kill-\(i)"
                            $0.bindingID = entry.binding
                            $0.years = [Int32(year)]
                            $0.expectedTotalFen = 40500
                        }, metadata: endUser(entry.authorizer), options: failFast)
                    acknowledged.insert(i)
                } catch {
                    break
                }
            }
        }
        _ = await first.waitForExit()
        #expect(acknowledged.count >= 12)
        #expect(acknowledged.count < count, "the daemon was killed before the stream ended")

        let second = try DaemonProcess(config: env.configPath, directory: dir)
        let port2 = try await second.port()
        let transport2 = try makeClientTransport(
            host: "127.0.0.1", port: port2, ca: .file("\(pki)/ca.pem"),
            certificate: .file("\(pki)/gateway.pem"), key: .file("\(pki)/gateway-key.pem"))
        var present: Set<Int> = []
        try await withGRPCClient(transport: transport2) { client in
            let premiums = Gongji_V1_PremiumService.Client(wrapping: client)
            for (i, entry) in bindings.enumerated() {
                let list = try await premiums.listAccountDeductions(.init(), metadata: endUser(entry.authorizer), options: failFast)
                #expect(list.payments.count <= 1)
                if let payment = list.payments.first {
                    present.insert(i)
                    #expect(
                        payment.totalFen == 40500 && payment.lines.count == 1 && payment.postings.map(\.amountFen).reduce(0, +) == 40500)
                }
            }
        }
        #expect(acknowledged.isSubset(of: present), "every acknowledged payment survived")
        // Whatever survived is whole: balances, ledger and payments agree.
        let store = try SQLiteStore(path: config.database.path)
        #expect(try await store.ledgerSum() == .zero)
        for (i, entry) in bindings.enumerated() {
            let account = try await store.person(try ResidentID.parse(entry.authorizer, today: today))!.account!
            #expect(account.total == (present.contains(i) ? .yuan(1000 - 405) : .yuan(1000)), "authorizer \(i)")
        }
        try store.close()
        second.kill(SIGTERM)
        #expect(await second.waitForExit() == 0)
    }
}
