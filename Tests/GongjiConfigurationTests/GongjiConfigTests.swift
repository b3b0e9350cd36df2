import Foundation
import GongjiConfiguration
import Testing

/// The configuration file of gongjid: the shipped examples, the environment's overrides, and the
/// problems it names by key (reads no files but the one it is given).
@Suite("configuration")
struct GongjiConfigTests {
    static let deploy = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("deploy")

    static func parse(_ text: String, environment: [String: String] = [:]) throws(ConfigError) -> GongjiConfig {
        try GongjiConfig.parse(
            json5: Data(text.utf8), source: "test.json5", environment: environment, base: URL(fileURLWithPath: "/etc/gongji"))
    }

    /// The SQLite example, as text to vary.
    static func example() throws -> String {
        try String(contentsOf: deploy.appendingPathComponent("gongjid.example.json5"), encoding: .utf8)
    }

    @Test(
        "both shipped examples load; relative paths resolve against the file's directory",
        arguments: [
            "gongjid.example.json5", "gongjid.postgresql.example.json5",
        ])
    func examples(name: String) throws {
        let config = try GongjiConfig.load(path: Self.deploy.appendingPathComponent(name).path, environment: [:])
        #expect(config.listen.port > 0)
        for path in [
            config.tls.certificate, config.tls.privateKey, config.tls.clientCA, config.documents.directory, config.policies.directory,
        ] {
            #expect(path.hasPrefix("/"), "\(path) is absolute")
        }
        #expect((config.database.postgresql != nil) == name.contains("postgresql"))
    }

    @Test("the environment overrides the file; a port that is not a number is refused naming listen.port")
    func environment() throws {
        let text = try Self.example()
        let config = try Self.parse(text, environment: ["GONGJI_LISTEN_PORT": "7443", "GONGJI_DATABASE_PATH": "data/x.sqlite"])
        #expect(config.listen.port == 7443)
        #expect(config.database.path == "/etc/gongji/data/x.sqlite")
        #expect(throws: ConfigError.self) { try Self.parse(text, environment: ["GONGJI_LISTEN_PORT": "https"]) }
        do {
            _ = try Self.parse(text, environment: ["GONGJI_LISTEN_PORT": "https"])
        } catch {
            #expect(error.key == "listen.port")
        }
    }

    @Test("tracing is off without its section; with it, defaults apply and each bad value is refused by its key")
    func tracing() throws {
        let text = try Self.example()
        #expect(try Self.parse(text).tracing == nil)
        func with(_ section: String) throws(ConfigError) -> GongjiConfig {
            try Self.parse(text.replacingOccurrences(of: "\n  log:", with: "\n  tracing: \(section),\n  log:"))
        }
        let tracing = try #require(try with(#"{ otlp_endpoint: "http://collector:4317" }"#).tracing)
        #expect(tracing.otlpEndpoint == "http://collector:4317")
        #expect(tracing.ratio == 0.01)
        #expect(tracing.queueMax == 2048)
        #expect(tracing.exportTimeout == 5)
        #expect(try with(#"{ otlp_endpoint: "https://c:4317", sample_ratio: 0.25, queue_spans_max: 10 }"#).tracing?.ratio == 0.25)
        for (section, key) in [
            (#"{ otlp_endpoint: "collector:4317" }"#, "tracing.otlp_endpoint"),
            (#"{ otlp_endpoint: "http://c:4317", sample_ratio: 1.5 }"#, "tracing.sample_ratio"),
            (#"{ otlp_endpoint: "http://c:4317", sample_ratio: -0.1 }"#, "tracing.sample_ratio"),
            (#"{ otlp_endpoint: "http://c:4317", queue_spans_max: 0 }"#, "tracing.queue_spans_max"),
            (#"{ otlp_endpoint: "http://c:4317", export_timeout_seconds: 0 }"#, "tracing.export_timeout_seconds"),
            (#"{ otlp_endpoint: "http://c:4317", sample_rate: 0.5 }"#, "tracing.sample_rate"),
            (#"{ sample_ratio: 0.5 }"#, "tracing.otlp_endpoint"),
        ] {
            do {
                _ = try with(section)
                Issue.record("accepted \(section)")
            } catch {
                #expect(error.key == key, "\(section): \(error)")
            }
        }
    }

    @Test("text that is not JSON5 is refused, saying which file")
    func notJSON5() {
        do {
            _ = try Self.parse("{ listen: ")
            Issue.record("accepted")
        } catch {
            #expect(error.description.contains("test.json5 is not valid JSON5"), "\(error)")
        }
    }

    @Test("an empty listen.host is refused naming the key")
    func emptyHost() throws {
        let text = try Self.example()
        guard let range = text.range(of: #"host:\s*"[^"]*""#, options: .regularExpression) else {
            Issue.record("the example names listen.host")
            return
        }
        var broken = text
        broken.replaceSubrange(range, with: "host: \"\"")
        do {
            _ = try Self.parse(broken)
            Issue.record("accepted")
        } catch {
            #expect(error.key == "listen.host", "\(error)")
        }
    }
}
