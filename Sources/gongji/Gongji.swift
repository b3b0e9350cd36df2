import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import GongjiClient
import GongjiCore
import GongjiProto
import SwiftProtobuf
import Synchronization

@main
struct Gongji: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gongji",
        abstract: "The operators' client of gongjid (gRPC over mutual TLS).",
        discussion: """
            Connection settings come from the options or from GONGJI_ADDRESS, GONGJI_CA, GONGJI_CERT and
            GONGJI_KEY. The exit status is the gRPC status code of the failed call (0 on success).
            """,
        subcommands: [Health.self, Import.self, Region.self, PersonCommand.self, Rollover.self, Events.self, Clearing.self])
}

/// Connection options shared by every command.
struct Connection: ParsableArguments {
    @Option(help: "host:port of gongjid (or GONGJI_ADDRESS).")
    var address: String?
    @Option(help: "PEM CA bundle that issued the server certificate (or GONGJI_CA).")
    var ca: String?
    @Option(help: "PEM client certificate (or GONGJI_CERT).")
    var cert: String?
    @Option(help: "PEM client private key (or GONGJI_KEY).")
    var key: String?
    @Option(help: "Name to verify in the server certificate.")
    var serverName: String = "localhost"
    @Flag(help: "Print JSON instead of text.")
    var json = false

    func value(_ option: String?, _ variable: String) throws -> String {
        if let option { return option }
        if let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty { return value }
        throw ValidationError("missing --\(variable.dropFirst(7).lowercased()) (or \(variable))")
    }

    /// Runs `body` with a connected client; maps failures to the gRPC status as exit code.
    func run<T: Sendable>(_ body: @Sendable (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> T) async throws -> T {
        let address = try value(self.address, "GONGJI_ADDRESS")
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            throw ValidationError("address must be host:port")
        }
        let transport = try makeClientTransport(
            host: String(address[..<colon]), port: port, ca: .file(try value(ca, "GONGJI_CA")),
            certificate: .file(try value(cert, "GONGJI_CERT")), key: .file(try value(key, "GONGJI_KEY")), serverName: serverName)
        do {
            return try await withGRPCClient(transport: transport) { try await body($0) }
        } catch let error as RPCError {
            var text = "gongji: \(error.code): \(error.message)"
            if let status = try? error.unpackGoogleRPCStatus() {
                for detail in status.details {
                    if let info = detail.errorInfo, !info.metadata.isEmpty {
                        text += "\n  " + info.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                    }
                    if let bad = detail.badRequest {
                        for violation in bad.violations { text += "\n  \(violation.field): \(violation.violationDescription)" }
                    }
                }
            }
            FileHandle.standardError.write(Data((text + "\n").utf8))
            throw ExitCode(Int32(error.code.rawValue))
        }
    }

    /// Prints a message as JSON, or the text.
    func output(_ message: some SwiftProtobuf.Message, text: String) throws {
        if json {
            var options = JSONEncodingOptions()
            options.preserveProtoFieldNames = true
            print(try message.jsonString(options: options))
        } else {
            print(text)
        }
    }
}

let callOptions: CallOptions = {
    var options = CallOptions.defaults
    options.timeout = .seconds(60)
    options.waitForReady = false
    return options
}()

func newRequestID() -> String { UUID().uuidString.lowercased() }

struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check that gongjid is serving.")
    @OptionGroup var connection: Connection

    func run() async throws {
        let response = try await connection.run { client in
            try await Grpc_Health_V1_Health.Client(wrapping: client).check(.init(), options: callOptions)
        }
        try connection.output(response, text: response.status == .serving ? "SERVING" : "NOT SERVING (\(response.status))")
        if response.status != .serving { throw ExitCode(14) }
    }
}

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import persons and account credits from a JSON lines or CSV file, all or nothing.")
    @OptionGroup var connection: Connection
    @Argument(help: "The file (.jsonl/.ndjson or .csv).")
    var file: String
    @Option(help: "jsonl or csv (default: from the file name).")
    var format: String?

    func run() async throws {
        let kind = format ?? (file.lowercased().hasSuffix(".csv") ? "csv" : "jsonl")
        let protoFormat: Gongji_V1_ImportFormat
        switch kind {
        case "csv": protoFormat = .csv
        case "jsonl", "json", "ndjson": protoFormat = .jsonLines
        default: throw ValidationError("--format must be jsonl or csv")
        }
        guard let handle = FileHandle(forReadingAtPath: file) else { throw ValidationError("cannot read \(file)") }
        let total = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        let name = URL(fileURLWithPath: file).lastPathComponent
        let showProgress = isatty(STDERR_FILENO) == 1 && total > 1 << 20
        let response = try await connection.run { client in
            try await Gongji_V1_RegistryService.Client(wrapping: client).importRegistry(options: callOptions) { writer in
                try await writer.write(
                    .with {
                        $0.header = .with {
                            $0.format = protoFormat
                            $0.fileName = name
                        }
                    })
                var sent = 0
                while let chunk = try handle.read(upToCount: 256 << 10), !chunk.isEmpty {
                    try await writer.write(.with { $0.chunk = chunk })
                    sent += chunk.count
                    if showProgress {
                        FileHandle.standardError.write(
                            Data("\rsent \(sent >> 20) of \(total >> 20) MiB (\(sent * 100 / max(total, 1))%)".utf8))
                    }
                }
                if showProgress { FileHandle.standardError.write(Data("\n".utf8)) }
            }
        }
        try connection.output(
            response,
            text: "imported \(name): \(response.lines) lines, \(response.personsUpserted) persons, "
                + "\(response.creditsApplied) credits applied, \(response.creditsSkipped) already applied")
    }
}

struct Region: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List regions, show a policy, suspend or resume family binding and payment.",
        subcommands: [List.self, Show.self, Suspend.self, Resume.self])

    static func line(_ region: Gongji_V1_Region) -> String {
        "\(region.regionCode)  \(region.name)  \(region.suspended ? "SUSPENDED" : "available")"
    }

    struct List: AsyncParsableCommand {
        @OptionGroup var connection: Connection
        func run() async throws {
            let response = try await connection.run { client in
                try await Gongji_V1_OperationsService.Client(wrapping: client).listRegions(
                    .with { $0.pageSize = 100 }, options: callOptions)
            }
            try connection.output(response, text: response.regions.map(Region.line).joined(separator: "\n"))
        }
    }

    struct Show: AsyncParsableCommand {
        @OptionGroup var connection: Connection
        @Argument(help: "GB/T 2260 region code.") var code: String
        func run() async throws {
            let response = try await connection.run { client in
                try await Gongji_V1_OperationsService.Client(wrapping: client).getRegionPolicy(
                    .with { $0.regionCode = code }, options: callOptions)
            }
            try connection.output(response, text: Region.line(response.region) + "\n" + response.policyJson)
        }
    }

    struct Suspend: AsyncParsableCommand {
        @OptionGroup var connection: Connection
        @Argument(help: "GB/T 2260 region code.") var code: String
        func run() async throws { try await Region.set(code, suspended: true, connection) }
    }

    struct Resume: AsyncParsableCommand {
        @OptionGroup var connection: Connection
        @Argument(help: "GB/T 2260 region code.") var code: String
        func run() async throws { try await Region.set(code, suspended: false, connection) }
    }

    static func set(_ code: String, suspended: Bool, _ connection: Connection) async throws {
        let response = try await connection.run { client in
            try await Gongji_V1_OperationsService.Client(wrapping: client).setRegionAvailability(
                .with {
                    $0.requestID = newRequestID()
                    $0.regionCode = code
                    $0.suspended = suspended
                }, options: callOptions)
        }
        try connection.output(response, text: line(response.region))
    }
}

struct PersonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "person", abstract: "Read a person; credit an account.",
        subcommands: [Get.self, Credit.self])

    struct Get: AsyncParsableCommand {
        @OptionGroup var connection: Connection
        @Argument(help: "ID number.") var idNumber: String
        func run() async throws {
            let r = try await connection.run { client in
                try await Gongji_V1_RegistryService.Client(wrapping: client).getPerson(
                    .with { $0.idNumber = idNumber }, options: callOptions)
            }
            var text =
                "\(r.person.idNumber)  \(r.person.name)  \(r.person.insuranceType)  \(r.person.status)  region \(r.person.regionCode)"
            if r.hasAccount {
                text +=
                    "\naccount \(r.account.year): current \(yuan(r.account.currentYearFen)), carry-over \(yuan(r.account.carryOverFen)) yuan"
            }
            try connection.output(r, text: text)
        }
    }

    struct Credit: AsyncParsableCommand {
        @OptionGroup var connection: Connection
        @Argument(help: "ID number.") var idNumber: String
        @Argument(help: "Amount in fen.") var amountFen: Int64
        @Option(help: "The platform's reference of the credit (applied once).") var reference: String
        @Option(help: "The part of the balance it adds to: current-year, or carry-over (历年结余, as loaded from the platform).")
        var part: Part = .currentYear

        enum Part: String, ExpressibleByArgument {
            case currentYear = "current-year"
            case carryOver = "carry-over"
        }

        func run() async throws {
            let r = try await connection.run { client in
                try await Gongji_V1_RegistryService.Client(wrapping: client).creditAccount(
                    .with {
                        $0.requestID = newRequestID()
                        $0.idNumber = idNumber
                        $0.amountFen = amountFen
                        $0.reference = reference
                        $0.part = part == .carryOver ? .carryOver : .currentYear
                    }, options: callOptions)
            }
            try connection.output(
                r,
                text: "\(r.applied ? "credited" : "already applied"): current \(yuan(r.account.currentYearFen)), "
                    + "carry-over \(yuan(r.account.carryOverFen)) yuan")
        }
    }
}

struct Rollover: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Move current-year balances into carry-over at the turn of the year.")
    @OptionGroup var connection: Connection
    @Argument(help: "The new year.") var year: Int32
    func run() async throws {
        let r = try await connection.run { client in
            try await Gongji_V1_RegistryService.Client(wrapping: client).rollOverYear(
                .with {
                    $0.requestID = "rollover-\(year)"
                    $0.year = year
                },
                options: callOptions)
        }
        try connection.output(r, text: "\(r.accountsRolled) accounts moved into \(year)")
    }
}

func yuan(_ fen: Int64) -> String { Money(fen: fen).yuanString }

struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The event journal: every change of money or of a binding.", subcommands: [Follow.self])

    struct Follow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Follow the events, one line each, until Ctrl-C.",
            discussion: """
                Every event needs a certificate of the notifier role; --end-user follows one person's events as the \
                gateway does (a gateway certificate). When the daemon ends the stream (it stops, or this terminal \
                read too slowly) the command follows again after the last event it printed.
                """)
        @OptionGroup var connection: Connection
        @Option(help: "Start after this position (0: every event kept).") var after: Int64 = 0
        @Option(help: "Follow this person's events (ID number), as the gateway does.") var endUser: String?

        func run() async throws {
            let position = Position(after)
            while try await follow(from: position) { try await Task.sleep(for: .seconds(1)) }
        }

        /// Follows until the stream ends; true when it ended so as to follow again (the daemon
        /// stopped or is out of reach, or this terminal read too slowly), from where it says.
        func follow(from position: Position) async throws -> Bool {
            let metadata: Metadata = endUser.map { ["x-gongji-end-user": .string($0)] } ?? [:]
            let request = Gongji_V1_FollowEventsRequest.with {
                $0.afterPosition = position.value
                $0.all = endUser == nil
            }
            let options: CallOptions = {
                var options = CallOptions.defaults
                options.waitForReady = false
                return options
            }()
            return try await connection.run { client in
                do {
                    try await Gongji_V1_EventService.Client(wrapping: client).followEvents(request, metadata: metadata, options: options) {
                        response in
                        for try await message in response.messages {
                            let event = message.event
                            position.value = event.position
                            // One line per event as it comes, also into a pipe or a file (print buffers those).
                            let text = connection.json ? try event.jsonString(options: Self.jsonOptions) : Self.line(event)
                            FileHandle.standardOutput.write(Data((text + "\n").utf8))
                        }
                    }
                    return false
                } catch let error as RPCError where error.code == .unavailable || error.code == .resourceExhausted {
                    let resume = (try? error.unpackGoogleRPCStatus())?.details.compactMap(\.errorInfo).first?.metadata[
                        "resume_after_position"]
                    if let resume, let value = Int64(resume) { position.value = max(position.value, value) }
                    FileHandle.standardError.write(
                        Data("gongji: \(error.code) (\(error.message)): following again after \(position.value)\n".utf8))
                    return true
                }
            }
        }

        static let jsonOptions: JSONEncodingOptions = {
            var options = JSONEncodingOptions()
            options.preserveProtoFieldNames = true
            return options
        }()

        static func line(_ event: Gongji_V1_Event) -> String {
            let time = Date(timeIntervalSince1970: TimeInterval(event.time.seconds)).ISO8601Format()
            var text =
                "\(event.position)  \(time)  \(event.kind)  \(event.authorizerIDNumberMasked) → \(event.memberIDNumberMasked) \(event.memberNameMasked)"
            if event.hasAmountFen { text += "  \(yuan(event.amountFen)) yuan" }
            if !event.institutionName.isEmpty { text += "  at \(event.institutionName)" }
            if event.hasBalanceAfterFen { text += "  balance \(yuan(event.balanceAfterFen))" }
            if !event.bindingID.isEmpty { text += "  binding \(event.bindingID)" }
            return text
        }
    }
}

/// R-XP-7: a month's cross-province clearing.
struct Clearing: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Report a month's cross-province clearing (wallet money between provinces).",
        discussion: """
            One line per pair of provinces (the authorizer's → the member's): granted, spent, reversed, returned and \
            the net amount the first owes the second; --movements adds the transfers, settlements and bindings behind \
            the figures. Only a month that has ended (China time). Needs an operator certificate.
            """)
    @OptionGroup var connection: Connection
    @Option(help: "The month, YYYY-MM.") var month: String
    @Flag(help: "Also print each movement behind the totals.") var movements = false

    func run() async throws {
        try await connection.run { client in
            try await Gongji_V1_OperationsService.Client(wrapping: client).reportCrossProvinceClearing(.with { $0.month = month }) {
                response in
                var pairs = 0
                for try await message in response.messages {
                    switch message.entry {
                    case .pair(let pair)?:
                        pairs += 1
                        print(
                            "\(pair.fromProvinceCode) → \(pair.toProvinceCode)  granted \(yuan(pair.grantedFen))  spent \(yuan(pair.spentFen))  "
                                + "reversed \(yuan(pair.reversedFen))  returned \(yuan(pair.returnedFen))  net owed \(yuan(pair.netOwedFen))  "
                                + "(\(pair.movementCount) movements)")
                    case .movement(let movement)? where movements:
                        print("    \(movement.kind)  \(yuan(movement.amountFen))  binding \(movement.bindingID)  \(movement.reference)")
                    default: break
                    }
                }
                if pairs == 0 { print("no cross-province movements in \(month)") }
            }
        }
    }
}

/// The position of the last event printed.
final class Position: Sendable {
    private let stored: Mutex<Int64>
    init(_ value: Int64) { stored = Mutex(value) }
    var value: Int64 {
        get { stored.withLock { $0 } }
        set { stored.withLock { $0 = newValue } }
    }
}
