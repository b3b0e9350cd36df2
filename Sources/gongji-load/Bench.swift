import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import GongjiBench
import GongjiClient
import GongjiProto
import Synchronization

/// `gongji-load`: the load generator of `bench/run`. Keeps N streams busy over mutual TLS as the
/// gateway (h2load cannot present a client certificate) and reports each scenario as JSON.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gongji-load",
        abstract: "Drive a benchmark daemon prepared by `gongjid bench-setup` (used by bench/run).",
        discussion: """
            Scenarios: health (grpc.health.v1 Check, the transport ceiling), quote (QuotePremium), pay \
            (PayPremium, every payment on its own account), settle (Settle at a designated hospital, every patient bound by \
            one authorizer of its own), settle-followed (settle while --followers notifier streams follow every event: \
            the cost of followers, and the lag from a settlement's answer to its event at each follower), settle-two (Settle, \
            every patient bound by two authorizers and paid from both), \
            pay-shared (PayPremium, \(BenchManifest.sharedMembers) \
            concurrent payments on each account), upload (UploadIdentityDocument of --upload-bytes in \
            --chunk-bytes messages, distinct content each time). Each reports requests/s, latency \
            percentiles, and the server's CPU and peak RSS when --server-pid is given. Prints one JSON object.
            """)

    @Option(help: "The directory `gongjid bench-setup` prepared (certificates and bench-manifest.json).")
    var directory: String = ".bench/run"
    @Option(help: "host:port of the daemon; several, comma-separated, for daemons sharing one database (connections are spread over them).")
    var address: String
    @Option(help: "The daemon's process id (several, comma-separated), to sample CPU time and RSS.")
    var serverPID: String?
    @Option(help: "The PostgreSQL server's postmaster process id: its CPU and its backends' is sampled too.")
    var databasePID: Int32?
    @Option(help: "Comma-separated scenarios.")
    var scenarios: String = "health,quote,pay,pay-shared,settle,settle-two,upload"
    @Option(help: "Concurrent streams (in-flight calls) per scenario.")
    var concurrency: Int = 64
    @Option(help: "HTTP/2 connections the streams are spread over (a gateway pools a few).")
    var connections: Int = 4
    @Option(
        help: "Seconds each scenario runs in all, split over the rounds (payment scenarios stop early when the seeded payments run out).")
    var duration: Double = 5
    @Option(
        help:
            "Rounds: the scenario list runs this many times, each scenario for duration/rounds, and each scenario's rounds are merged, so that a machine whose speed drifts (shared disks and CPUs) affects every scenario alike."
    )
    var rounds: Int = 1
    @Option(help: "Seconds of warm-up (health calls) before the first scenario.")
    var warmup: Double = 1
    @Option(help: "Skip this many seeded payables in each payment scenario (to run again against the same database).")
    var skipPayments: Int = 0
    @Option(help: "Concurrent uploads in the upload scenario.")
    var uploadConcurrency: Int = 4
    @Option(help: "Bytes of each uploaded image (without --upload-file).")
    var uploadBytes: Int = 5 << 20
    @Option(help: "A JPEG to upload; 8 bytes after its header are replaced by a counter so that each upload is new content.")
    var uploadFile: String?
    @Option(help: "Bytes per upload message.")
    var chunkBytes: Int = 64 << 10
    @Option(help: "Event followers (notifier, every event) during settle-followed.")
    var followers: Int = 16

    func validate() throws {
        guard concurrency >= 1, connections >= 1, uploadConcurrency >= 1, duration > 0, rounds >= 1, uploadBytes >= 16, chunkBytes >= 1
        else {
            throw ValidationError("counts, sizes and --duration must be positive")
        }
    }

    func run() async throws {
        let directory = URL(fileURLWithPath: self.directory)
        let manifest = try BenchManifest.load(directory: directory)
        var endpoints: [(host: String, port: Int)] = []
        for part in address.split(separator: ",") {
            guard let colon = part.lastIndex(of: ":"), let port = Int(part[part.index(after: colon)...]) else {
                throw ValidationError("address must be host:port[,host:port…]")
            }
            endpoints.append((String(part[..<colon]), port))
        }
        let pki = directory.appendingPathComponent("pki")
        func connect(as role: String) throws -> [GRPCClient<HTTP2ClientTransport.Posix>] {
            try (0..<connections).map { index in
                let endpoint = endpoints[index % endpoints.count]
                return GRPCClient(
                    transport: try makeClientTransport(
                        host: endpoint.host, port: endpoint.port, ca: .file(pki.appendingPathComponent("ca.pem").path),
                        certificate: .file(pki.appendingPathComponent("\(role).pem").path),
                        key: .file(pki.appendingPathComponent("\(role)-key.pem").path)))
            }
        }
        let gatewayClients = try connect(as: "gateway")
        let settlementClients = scenarios.contains("settle") ? try connect(as: "settlement") : []
        let notifierClients = scenarios.contains("settle-followed") ? try connect(as: "notifier") : []
        let clients = gatewayClients + settlementClients + notifierClients
        let results = try await withThrowingTaskGroup(of: [ScenarioResult]?.self) { group in
            for client in clients {
                group.addTask {
                    try await client.runConnections()
                    return nil
                }
            }
            group.addTask {
                defer { clients.forEach { $0.beginGracefulShutdown() } }
                let driver = try LoadDriver(
                    clients: gatewayClients, settlementClients: settlementClients, notifierClients: notifierClients, manifest: manifest,
                    serverPIDs: (serverPID ?? "").split(separator: ",").compactMap { Int32($0) }, options: self)
                return try await driver.runAll()
            }
            var results: [ScenarioResult] = []
            while let next = try await group.next() { if let next { results = next } }
            return results
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        print(
            String(
                decoding: try encoder.encode(BenchReport(concurrency: concurrency, connections: connections, scenarios: results)),
                as: UTF8.self))
        if results.contains(where: { $0.errors > 0 }) { throw ExitCode(1) }
    }
}

/// The whole run, as printed.
struct BenchReport: Encodable {
    var concurrency: Int
    var connections: Int
    var scenarios: [ScenarioResult]
}

/// One scenario's numbers.
struct ScenarioResult: Encodable {
    var name: String
    var streams: Int
    var requests: Int
    var errors: Int
    var errorSamples: [String]
    var seconds: Double
    var requestsPerSecond: Double
    var p50Ms: Double
    var p99Ms: Double
    var p999Ms: Double
    var maxMs: Double
    /// Server CPU time over wall time (1.0 = one core busy).
    var serverCpuCores: Double?
    /// The database server's CPU time over wall time (PostgreSQL: the postmaster and its backends).
    var databaseCpuCores: Double?
    var serverPeakRssMib: Double?
    /// The load generator's own CPU (it shares the machine).
    var clientCpuCores: Double
    /// Upload payload throughput.
    var megabytesPerSecond: Double?
    /// settle-followed: events the followers received, and the lag from a settlement's answer to
    /// its event at a follower (0 when the event came first).
    var eventsDelivered: Int?
    var eventLagP50Ms: Double?
    var eventLagP99Ms: Double?
}

/// Runs the scenarios against a set of connected clients.
struct LoadDriver: Sendable {
    let clients: [GRPCClient<HTTP2ClientTransport.Posix>]
    /// Connections with the settlement role's certificate.
    let settlementClients: [GRPCClient<HTTP2ClientTransport.Posix>]
    /// Connections with the notifier role's certificate (settle-followed).
    let notifierClients: [GRPCClient<HTTP2ClientTransport.Posix>]
    let followers: Int
    let manifest: BenchManifest
    let serverPIDs: [Int32]
    let databasePID: Int32?
    let concurrency: Int, uploadConcurrency: Int, duration: Duration, warmup: Duration, chunkBytes: Int
    /// The image uploaded (varied per upload).
    let image: [UInt8]
    let scenarios: [String]
    let skipPayments: Int
    let rounds: Int

    init(
        clients: [GRPCClient<HTTP2ClientTransport.Posix>], settlementClients: [GRPCClient<HTTP2ClientTransport.Posix>],
        notifierClients: [GRPCClient<HTTP2ClientTransport.Posix>], manifest: BenchManifest, serverPIDs: [Int32], options: Bench
    ) throws {
        self.clients = clients
        self.settlementClients = settlementClients
        self.notifierClients = notifierClients
        followers = max(1, options.followers)
        self.manifest = manifest
        self.serverPIDs = serverPIDs
        databasePID = options.databasePID
        concurrency = options.concurrency
        uploadConcurrency = options.uploadConcurrency
        rounds = options.rounds
        duration = .milliseconds(Int64(options.duration * 1000 / Double(options.rounds)))
        warmup = .milliseconds(Int64(options.warmup * 1000))
        if let file = options.uploadFile {
            image = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
            guard image.count >= 32 else { throw ValidationError("\(file) is too small to be an image") }
        } else {
            image = benchJPEG(size: options.uploadBytes, seed: 1)
        }
        chunkBytes = options.chunkBytes
        skipPayments = max(0, options.skipPayments)
        scenarios = options.scenarios.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    static let known = ["health", "quote", "pay", "pay-shared", "settle", "settle-followed", "settle-two", "upload", "transfer"]

    func runAll() async throws -> [ScenarioResult] {
        if let unknown = scenarios.first(where: { !Self.known.contains($0) }) {
            throw ValidationError("unknown scenario \(unknown); known: \(Self.known.joined(separator: ", "))")
        }
        _ = try await measure(streams: concurrency, limit: warmup, count: nil) { client, _ in try await health(client) }
        var samples: [String: Sample] = [:]
        for round in 1...rounds {
            for name in scenarios {
                FileHandle.standardError.write(Data("gongji-load: round \(round)/\(rounds) \(name)…\n".utf8))
                let sample = try await run(name, from: skipPayments + (samples[name]?.consumed ?? 0))
                samples[name, default: Sample()].merge(sample)
            }
        }
        return scenarios.map { name in
            var result = samples[name, default: Sample()].result(name: name, streams: name == "upload" ? uploadConcurrency : concurrency)
            if name == "upload" { result.megabytesPerSecond = Double(result.requests * image.count) / 1_000_000 / result.seconds }
            return result
        }
    }

    /// One round of a scenario; payment scenarios start at payable `first`.
    func run(_ name: String, from first: Int) async throws -> Sample {
        switch name {
        case "health":
            return try await measure(streams: concurrency, limit: duration, count: nil) { client, _ in try await health(client) }
        case "quote":
            // The families kept back from the payment scenarios, so that quotes stay payable.
            let payables = Array(quotePayables)
            return try await measure(streams: concurrency, limit: duration, count: nil) { client, index in
                let payable = payables[index % payables.count]
                _ = try await Gongji_V1_PremiumService.Client(wrapping: client).quotePremium(
                    .with {
                        $0.bindingID = payable.binding
                        $0.years = [Int32(payable.year)]
                    }, metadata: endUser(payable.endUser))
            }
        case "pay":
            let payables = Array(manifest.distinct.dropLast(quotePayables.count).dropFirst(first))
            return try await measure(streams: concurrency, limit: duration, count: payables.count) { client, index in
                try await pay(payables[index], client: client)
            }
        case "pay-shared":
            // Consecutive indices are the members of one account, so the streams in flight at any
            // moment pay for the same few accounts, `sharedMembers` at a time.
            let payables = Array(manifest.shared.flatMap { $0 }.dropFirst(first))
            return try await measure(streams: concurrency, limit: duration, count: payables.count) { client, index in
                try await pay(payables[index], client: client)
            }
        case "settle-followed":
            return try await settleFollowed()
        case "transfer":
            // R-XP-3/4: a transfer of 1.00 into a mother's wallet and her acceptance (two calls);
            // each account sends at most 3 a day, so the scenario stops when they are used up.
            let transferables = manifest.transferables
            guard !transferables.isEmpty else { throw ValidationError("the manifest has no transferables: run gongjid bench-setup again") }
            let stamp = UInt64(Date().timeIntervalSince1970 * 1000)
            let available = transferables.count * BenchManifest.transfersPerDay - first
            return try await measure(streams: concurrency, limit: duration, count: max(0, available)) { client, index in
                let position = first + index
                try await transfer(transferables[position % transferables.count], id: "bench-\(stamp)-\(position)", client: client)
            }
        case "settle", "settle-two":
            let patients = name == "settle" ? manifest.settlePatients : manifest.settleTwoPatients
            guard !patients.isEmpty else {
                throw ValidationError("the manifest has no patients for \(name): run gongjid bench-setup again")
            }
            let stamp = UInt64(Date().timeIntervalSince1970 * 1000)
            return try await measure(streams: concurrency, limit: duration, count: nil, on: settlementClients) { client, index in
                try await settle(id: "bench-\(stamp)-\(index)", patient: patients[index % patients.count], client: client)
            }
        default:
            let uploaders = manifest.uploaders
            let stamp = UInt64(Date().timeIntervalSince1970 * 1000) << 20
            return try await measure(streams: uploadConcurrency, limit: duration, count: nil) { client, index in
                var bytes = image
                withUnsafeBytes(of: (stamp | UInt64(index)).bigEndian) { bytes.replaceSubrange(12..<20, with: $0) }
                try await upload(bytes, as: uploaders[index % uploaders.count], client: client)
            }
        }
    }

    /// The last tenth of the families (at most 1000), quoted and never paid.
    var quotePayables: ArraySlice<BenchManifest.Payable> { manifest.distinct.suffix(min(1000, max(1, manifest.distinct.count / 10))) }

    func endUser(_ id: String) -> Metadata { [endUserHeader: .string(id)] }

    func health(_ client: GRPCClient<HTTP2ClientTransport.Posix>) async throws {
        let response = try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init())
        guard response.status == .serving else { throw BenchFailure("health: \(response.status)") }
    }

    func pay(_ payable: BenchManifest.Payable, client: GRPCClient<HTTP2ClientTransport.Posix>) async throws {
        let response = try await Gongji_V1_PremiumService.Client(wrapping: client).payPremium(
            .with {
                $0.requestID = "bench-\(payable.binding)-\(payable.year)"
                $0.bindingID = payable.binding
                $0.years = [Int32(payable.year)]
                $0.expectedTotalFen = payable.totalFen
            }, metadata: endUser(payable.endUser))
        guard response.payment.totalFen == payable.totalFen, !response.receipt.receiptNumber.isEmpty else {
            throw BenchFailure("pay: unexpected response for \(payable.binding)")
        }
    }

    /// settle, while `followers` notifier streams follow every event from now on; each follower's
    /// settlement events are matched to the settlements' answers by reference.
    func settleFollowed() async throws -> Sample {
        let patients = manifest.settlePatients
        guard !patients.isEmpty, !notifierClients.isEmpty else {
            throw ValidationError("settle-followed needs settle patients and notifier clients")
        }
        let lag = LagTracker()
        let following = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<followers {
                    let client = notifierClients[index % notifierClients.count]
                    group.addTask {
                        try await Gongji_V1_EventService.Client(wrapping: client).followEvents(
                            .with {
                                $0.all = true
                                $0.fromNow = true
                            }
                        ) { response in
                            for try await message in response.messages where message.event.kind == .settled {
                                lag.received(message.event.reference)
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        // The followers' streams open before the first settlement.
        try await Task.sleep(for: .milliseconds(300))
        let stamp = UInt64(Date().timeIntervalSince1970 * 1000)
        var sample = try await measure(streams: concurrency, limit: duration, count: nil, on: settlementClients) { client, index in
            let id = "bench-f-\(stamp)-\(index)"
            try await settle(id: id, patient: patients[index % patients.count], client: client)
            lag.answered(id)
        }
        // What is still on its way arrives within a second or it is lag worth seeing.
        try await Task.sleep(for: .seconds(1))
        following.cancel()
        _ = try? await following.value
        (sample.eventLagsMs, sample.eventsDelivered) = lag.summary()
        return sample
    }

    /// 30.00 at the hospital: the family funds pay it (both bindings while the older one lasts).
    func transfer(_ transferable: BenchManifest.Transferable, id: String, client: GRPCClient<HTTP2ClientTransport.Posix>) async throws {
        let wallet = Gongji_V1_WalletService.Client(wrapping: client)
        let sent = try await wallet.transferToWallet(
            .with {
                $0.requestID = id
                $0.bindingID = transferable.binding
                $0.amountFen = 100
            }, metadata: endUser(transferable.authorizer))
        let answered = try await wallet.answerTransfer(
            .with {
                $0.requestID = id + "-a"
                $0.transferID = sent.transfer.transferID
                $0.accept = true
            }, metadata: endUser(transferable.member))
        guard answered.transfer.status == .accepted else { throw BenchFailure("transfer: not accepted for \(transferable.binding)") }
    }

    func settle(id: String, patient: String, client: GRPCClient<HTTP2ClientTransport.Posix>) async throws {
        let response = try await Gongji_V1_SettlementService.Client(wrapping: client).settle(
            .with {
                $0.institutionCode = manifest.institution
                $0.settlementID = id
                $0.patientIDNumber = patient
                $0.credential = .with {
                    $0.type = .electronicVoucher
                    $0.holderIDNumber = patient
                }
                $0.amountFen = 3000
            })
        guard response.settlement.split.amountFen == 3000 else { throw BenchFailure("settle: unexpected response for \(patient)") }
    }

    func upload(_ bytes: [UInt8], as user: String, client: GRPCClient<HTTP2ClientTransport.Posix>) async throws {
        let chunkBytes = self.chunkBytes
        let response = try await Gongji_V1_DocumentService.Client(wrapping: client).uploadIdentityDocument(metadata: endUser(user)) {
            writer in
            try await writer.write(
                .with {
                    $0.metadata = .with {
                        $0.side = .front
                        $0.mediaType = "image/jpeg"
                    }
                })
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + chunkBytes)
                try await writer.write(.with { $0.chunk = Data(bytes[offset..<end]) })
                offset = end
            }
        }
        guard response.sizeBytes == bytes.count, !response.deduplicated else { throw BenchFailure("upload: unexpected response") }
    }

    /// Keeps `streams` calls in flight until `limit` passes or `count` calls were started; each
    /// call gets the next index.
    func measure(
        streams: Int, limit: Duration, count: Int?, on connections: [GRPCClient<HTTP2ClientTransport.Posix>]? = nil,
        call: @escaping @Sendable (GRPCClient<HTTP2ClientTransport.Posix>, Int) async throws -> Void
    ) async throws -> Sample {
        let next = Counter()
        let sampler = ProcessSampler(pids: serverPIDs)
        let databaseCPUStart = databasePID.map(ProcessSampler.treeCPUSeconds(parent:))
        let clientCPUStart = ProcessSampler.ownCPUSeconds()
        let started = ContinuousClock.now
        let deadline = started + limit
        let clients = connections ?? self.clients
        let outcomes = try await withThrowingTaskGroup(of: WorkerOutcome.self) { group in
            group.addTask {
                await sampler.run(until: deadline)
                return WorkerOutcome()
            }
            for worker in 0..<streams {
                group.addTask {
                    var outcome = WorkerOutcome()
                    let client = clients[worker % clients.count]
                    while ContinuousClock.now < deadline {
                        let index = next.value.add(1, ordering: .relaxed).oldValue
                        if let count, index >= count { break }
                        let begin = ContinuousClock.now
                        do {
                            try await call(client, index)
                            outcome.latencies.append(ContinuousClock.now - begin)
                        } catch {
                            outcome.errors += 1
                            if outcome.samples.count < 3 { outcome.samples.append("\(error)") }
                        }
                    }
                    return outcome
                }
            }
            var all: [WorkerOutcome] = []
            for try await outcome in group { all.append(outcome) }
            return all
        }
        let seconds = (ContinuousClock.now - started).seconds
        let server = sampler.summary()
        let databaseCPU = databasePID.map(ProcessSampler.treeCPUSeconds(parent:)).flatMap { end in databaseCPUStart.map { end - $0 } }
        let issued = next.value.load(ordering: .relaxed)
        return Sample(
            latenciesMs: outcomes.flatMap(\.latencies).map { $0.seconds * 1000 }, errors: outcomes.map(\.errors).reduce(0, +),
            errorSamples: outcomes.flatMap(\.samples), seconds: seconds, serverCPUSeconds: server?.cpuSeconds,
            serverPeakRSSMiB: server?.peakRSSMiB, databaseCPUSeconds: databaseCPU,
            clientCPUSeconds: ProcessSampler.ownCPUSeconds() - clientCPUStart, consumed: count.map { min($0, issued) } ?? issued)
    }
}

/// The raw measurements of one or more rounds of a scenario.
struct Sample: Sendable {
    var latenciesMs: [Double] = []
    var errors = 0
    var errorSamples: [String] = []
    var seconds = 0.0
    var serverCPUSeconds: Double?
    var serverPeakRSSMiB: Double?
    var databaseCPUSeconds: Double?
    var clientCPUSeconds = 0.0
    /// Indices used (payables spent).
    var consumed = 0
    /// settle-followed: lags of events at followers, and events delivered.
    var eventLagsMs: [Double] = []
    var eventsDelivered: Int?

    mutating func merge(_ other: Sample) {
        latenciesMs += other.latenciesMs
        errors += other.errors
        errorSamples += other.errorSamples
        seconds += other.seconds
        if let cpu = other.serverCPUSeconds { serverCPUSeconds = (serverCPUSeconds ?? 0) + cpu }
        if let rss = other.serverPeakRSSMiB { serverPeakRSSMiB = max(serverPeakRSSMiB ?? 0, rss) }
        if let cpu = other.databaseCPUSeconds { databaseCPUSeconds = (databaseCPUSeconds ?? 0) + cpu }
        clientCPUSeconds += other.clientCPUSeconds
        consumed += other.consumed
        eventLagsMs += other.eventLagsMs
        if let delivered = other.eventsDelivered { eventsDelivered = (eventsDelivered ?? 0) + delivered }
    }

    func result(name: String, streams: Int) -> ScenarioResult {
        let sorted = latenciesMs.sorted()
        func percentile(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            return sorted[min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1)]
        }
        let seconds = max(self.seconds, 1e-9)
        let lags = eventLagsMs.sorted()
        func lagPercentile(_ p: Double) -> Double? {
            guard !lags.isEmpty else { return nil }
            return lags[min(lags.count - 1, Int((p * Double(lags.count)).rounded(.up)) - 1)]
        }
        return ScenarioResult(
            name: name, streams: streams, requests: sorted.count, errors: errors, errorSamples: Array(errorSamples.prefix(5)),
            seconds: seconds, requestsPerSecond: Double(sorted.count) / seconds, p50Ms: percentile(0.50), p99Ms: percentile(0.99),
            p999Ms: percentile(0.999), maxMs: sorted.last ?? 0, serverCpuCores: serverCPUSeconds.map { $0 / seconds },
            databaseCpuCores: databaseCPUSeconds.map { $0 / seconds },
            serverPeakRssMib: serverPeakRSSMiB, clientCpuCores: clientCPUSeconds / seconds, megabytesPerSecond: nil,
            eventsDelivered: eventsDelivered, eventLagP50Ms: lagPercentile(0.50), eventLagP99Ms: lagPercentile(0.99))
    }
}

extension Duration {
    /// In seconds, as a Double.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// The index of the next call, shared by the workers.
final class Counter: Sendable {
    let value = Atomic<Int>(0)
}

struct WorkerOutcome: Sendable {
    var latencies: [Duration] = []
    var errors = 0
    var samples: [String] = []
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Samples other processes' CPU time and resident set from /proc (the daemons: CPU summed, the
/// largest resident set).
final class ProcessSampler: Sendable {
    let pids: [Int32]
    /// The processes' CPU time when sampling began.
    let cpuStart: Double?
    private let peakRSSKiB = Mutex(0)

    init(pids: [Int32]) {
        self.pids = pids
        cpuStart = pids.isEmpty ? nil : Self.cpuSeconds(pids)
    }

    static func cpuSeconds(_ pids: [Int32]) -> Double? {
        var total = 0.0
        for pid in pids {
            guard let seconds = cpuSeconds(pid: pid) else { return nil }
            total += seconds
        }
        return total
    }

    /// Samples the resident sets every 20 ms until `deadline`.
    func run(until deadline: ContinuousClock.Instant) async {
        guard !pids.isEmpty else { return }
        while ContinuousClock.now < deadline {
            let rss = pids.compactMap(Self.residentKiB(pid:)).max() ?? 0
            peakRSSKiB.withLock { $0 = max($0, rss) }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// CPU time since sampling began (to the end of the last call, which may come after the
    /// sampler's deadline when a payment run ends early) and the peak resident set.
    func summary() -> (cpuSeconds: Double, peakRSSMiB: Double)? {
        guard let cpuStart, let cpuEnd = Self.cpuSeconds(pids) else { return nil }
        let rss = pids.compactMap(Self.residentKiB(pid:)).max() ?? 0
        return (cpuEnd - cpuStart, Double(max(peakRSSKiB.withLock { $0 }, rss)) / 1024)
    }

    /// The CPU time of `parent` and of its children (PostgreSQL's postmaster and the backends it
    /// forked: one per connection, so they live through a scenario), in seconds.
    static func treeCPUSeconds(parent: Int32) -> Double {
        var total = cpuSeconds(pid: parent) ?? 0
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = Int32(entry), let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = text.lastIndex(of: ")")
            else { continue }
            let fields = text[text.index(after: close)...].split(separator: " ")
            // Field 4 (the parent's id) is fields[1] after the command name.
            guard fields.count > 1, Int32(fields[1]) == parent else { continue }
            total += cpuSeconds(pid: pid) ?? 0
        }
        return total
    }

    /// utime + stime of a process, in seconds (fields 14 and 15 of /proc/PID/stat).
    static func cpuSeconds(pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the command name: field 3 is fields[0], so utime (14) is fields[11], stime (15) fields[12].
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// VmRSS of a process in KiB.
    static func residentKiB(pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return nil }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    }

    /// This process's CPU time in seconds.
    static func ownCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}

/// Matches the followers' events to the settlements' answers: the lag of each delivery is the time
/// from the answer to the event at the follower (0 when the event arrived first).
final class LagTracker: Sendable {
    private struct State {
        var answered: [String: ContinuousClock.Instant] = [:]
        var early: [String: Int] = [:]
        var lagsMs: [Double] = []
        var delivered = 0
    }
    private let state = Mutex(State())

    func answered(_ reference: String) {
        let now = ContinuousClock.now
        state.withLock { state in
            state.answered[reference] = now
            if let count = state.early.removeValue(forKey: reference) { state.lagsMs += Array(repeating: 0, count: count) }
        }
    }

    func received(_ reference: String) {
        let now = ContinuousClock.now
        state.withLock { state in
            state.delivered += 1
            if let answered = state.answered[reference] {
                state.lagsMs.append((now - answered).seconds * 1000)
            } else {
                state.early[reference, default: 0] += 1
            }
        }
    }

    func summary() -> (lagsMs: [Double], delivered: Int) { state.withLock { ($0.lagsMs, $0.delivered) } }
}
