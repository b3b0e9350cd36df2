import Foundation
import GongjiCore
import GongjiSQLite
import GongjiServer
import GongjiStorage
import Logging

/// Seeds a dev database with the demo people: balances start as carry-over from last year
/// (Ma'anshan pays from carry-over only), then a current-year credit for the Inner Mongolia families.
public enum DevSeed {
    /// Seeds the database named in `config` (the dev SQLite file, or an empty PostgreSQL database)
    /// through the store the daemon would open, as of one reading of the clock.
    public static func seed(config: GongjiConfig, at reading: ClockReading, logger: Logger) async throws {
        let daemon = try await GongjiDaemon.build(config: config, clock: FixedClock(nowUnix: reading.now), logger: logger)
        defer { try? daemon.closeStore() }
        let store = daemon.store
        let now = reading.now
        let today = reading.today
        let rows = DevEnvironment.demoRows(today: today)
        if case .person(let first, _) = rows.first, try await store.person(first.id) != nil {
            throw ConfigError(
                key: "database",
                problem: "the database holds the demo people already: gongjid dev seeds an empty "
                    + "database (for PostgreSQL: drop it and create it again, or name another)")
        }
        // R-ACCT-3: the demo balances are loaded as what they are, carry-over from last year
        // (Ma'anshan pays from carry-over only); the Inner Mongolia families also get a current-year credit.
        let loaded = rows.map { row -> RegistryRow in
            guard case .credit(let id, let amount, _, let reference) = row else { return row }
            return .credit(id, amount: amount, part: .carryOver, reference: reference)
        }
        _ = try await store.importRows(loaded, today: today, now: now)
        for row in rows {
            if case .credit(let id, _, _, _) = row, !id.value.hasPrefix("34") {
                _ = try await store.credit(
                    id, amount: Money.yuan(300), part: .currentYear, reference: "DEMO-\(id.value)-current", key: nil, now: now)
            }
        }
    }
}

/// What dev mode prints once it listens.
public enum DevInstructions {
    /// The text, with paths and the demo people; with `postgresql`, how to start a second daemon
    /// on the same database.
    public static func text(directory: URL, port: Int, today: CivilDate, postgresql: Bool = false) -> String {
        let pki = directory.appendingPathComponent("pki").path
        let rows = DevEnvironment.demoRows(today: today)
        let patient =
            rows.compactMap { row -> String? in
                if case .person(let p, _) = row, p.name.hasSuffix("小明") { p.id.value } else { nil }
            }.first ?? ""
        let authorizer = rows.first.flatMap { if case .person(let p, _) = $0 { p.id.value } else { nil } } ?? ""
        let mother =
            rows.compactMap { row -> String? in
                if case .person(let p, _) = row, p.region.value == 460_100 { p.id.value } else { nil }
            }.first ?? ""
        let people = rows.compactMap { row -> String? in
            guard case .person(let p, _) = row else { return nil }
            return "  \(p.id.value)  \(p.name)  \(p.insuranceType.rawValue)  region \(p.region)\(p.specialCategory.map { "  \($0)" } ?? "")"
        }.joined(separator: "\n")
        let second =
            postgresql
            ? "\n\nThe data is in the PostgreSQL database of gongjid.json5; a second daemon on it "
                + "(same keys and certificates):\n  GONGJI_LISTEN_PORT=\(port + 1) gongjid run --config \(directory.path)/gongjid.json5"
            : ""
        return """

            gongjid dev is listening on 127.0.0.1:\(port) (mutual TLS). Files: \(directory.path)
            Demo data: policies in \(directory.path)/policies carry a demo premium year \(today.year + 1) whose
            collection window contains today; Ulanqab (150900) starts suspended as its source describes.\(second)

            Operators' CLI (in another terminal):
              export GONGJI_ADDRESS=127.0.0.1:\(port) GONGJI_CA=\(pki)/ca.pem \\
                     GONGJI_CERT=\(pki)/operator.pem GONGJI_KEY=\(pki)/operator-key.pem
              swift run gongji health
              swift run gongji region list
              swift run gongji region resume 150900

            buf curl (server reflection), as the operator:
              buf curl --protocol grpc --cacert \(pki)/ca.pem \\
                --cert \(pki)/operator.pem --key \(pki)/operator-key.pem \\
                -d '{"region_code":"150100"}' https://127.0.0.1:\(port)/gongji.v1.OperationsService/GetRegionPolicy

            grpcurl, as the gateway acting for an authorizer:
              grpcurl -cacert \(pki)/ca.pem -cert \(pki)/gateway.pem -key \(pki)/gateway-key.pem \\
                -H 'x-gongji-end-user: \(rows.first.flatMap { if case .person(let p, _) = $0 { p.id.value } else { nil } } ?? "")' \\
                127.0.0.1:\(port) list

            Demo people (ID number, name, insurance, region):
            \(people)

            Settle as the platform's settlement hub at the demo hospital \(DevEnvironment.hospital.code) or pharmacy
            \(DevEnvironment.pharmacy.code) (the patient needs an active binding for family funds to pay; see docs/api.md):
              buf curl --protocol grpc --cacert \(pki)/ca.pem \\
                --cert \(pki)/settlement.pem --key \(pki)/settlement-key.pem \\
                -d '{"institution_code":"\(DevEnvironment.hospital.code)","patient_id_number":"\(patient)",
                     "credential":{"type":"CREDENTIAL_TYPE_ELECTRONIC_VOUCHER","holder_id_number":"\(patient)"},"amount_fen":"10000"}' \\
                https://127.0.0.1:\(port)/gongji.v1.SettlementService/PreSettle

            Follow the demo authorizer's events (R-EVT) in one terminal, and settle or pay in another:
              grpcurl -cacert \(pki)/ca.pem -cert \(pki)/gateway.pem -key \(pki)/gateway-key.pem \\
                -H 'x-gongji-end-user: \(authorizer)' -d '{"after_position":"0"}' \\
                127.0.0.1:\(port) gongji.v1.EventService/FollowEvents
            or every event, as the notifier:
              GONGJI_CERT=\(pki)/notifier.pem GONGJI_KEY=\(pki)/notifier-key.pem swift run gongji events follow

            Across provinces (R-XP): 李秀兰 \(mother), the Hohhot authorizer's mother, is insured in Haikou.
            Bind her (relationship PARENT, as docs/api.md §9 shows), then she opens her wallet, he grants into it
            and she accepts (the gateway acting for each in turn):
              grpcurl … -H 'x-gongji-end-user: \(mother)' -d '{"request_id":"w1"}' 127.0.0.1:\(port) gongji.v1.WalletService/OpenWallet
              grpcurl … -H 'x-gongji-end-user: \(authorizer)' \\
                -d '{"request_id":"t1","binding_id":"BINDING","amount_fen":"50000"}' 127.0.0.1:\(port) gongji.v1.WalletService/TransferToWallet
              grpcurl … -H 'x-gongji-end-user: \(mother)' \\
                -d '{"request_id":"a1","transfer_id":"TRANSFER","accept":true}' 127.0.0.1:\(port) gongji.v1.WalletService/AnswerTransfer
            (grpcurl … = grpcurl -cacert \(pki)/ca.pem -cert \(pki)/gateway.pem -key \(pki)/gateway-key.pem.) A month's clearing:
              swift run gongji clearing --month YYYY-MM --movements

            Stop with Ctrl-C.
            """
    }
}
