// libFuzzer targets for every parser that takes outside bytes. Built only by scripts/fuzz
// (GONGJI_FUZZ=1, coverage instrumentation and AddressSanitizer, libFuzzer's runtime linked):
//
//     gongji-fuzz TARGET [libFuzzer options] [corpus directories]
//
// A target returns normally for any input, valid or not; a crash, a failed precondition (an
// invariant below) or an AddressSanitizer report is a finding.
import Foundation
import GongjiConfiguration
import GongjiCore

typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: FuzzCallback
) -> Int32

/// The date every target judges by (fixed, so that a finding reproduces on any day).
let today = CivilDate(year: 2026, month: 12, day: 1)!

let targets: [String: @Sendable ([UInt8]) -> Void] = [
    // R-ID-1: any text; a number that parses is 18 characters and parses again to itself.
    "resident-id": { bytes in
        guard let id = try? ResidentID.parse(String(decoding: bytes, as: UTF8.self), today: today) else { return }
        precondition(id.value.utf8.count == 18, "a parsed ID number has 18 characters")
        precondition((try? ResidentID.parse(id.value, today: today)) == id, "a parsed ID number parses to itself")
    },
    // A region policy file (JSON5), decoded and validated.
    "policy": { bytes in
        if let policy = try? RegionPolicy.decode(json5: Data(bytes), source: "fuzz.json5") { try? policy.validate() }
    },
    // A registry import file in JSON lines, arriving in two chunks split where the input says.
    "import-jsonl": { bytes in importFile(bytes, format: .jsonLines) },
    // The same as CSV (header line first).
    "import-csv": { bytes in importFile(bytes, format: .csv) },
    // Image sniffing of an upload's first and last bytes.
    "image": { bytes in
        _ = ImageFormat.detect(head: Array(bytes.prefix(ImageFormat.headLength)), tail: Array(bytes.suffix(ImageFormat.tailLength)))
    },
    // Page tokens: any text is a token or not; a made token returns its cursor and tag.
    "page-token": { bytes in
        _ = PageToken.parse(String(decoding: bytes, as: UTF8.self))
        guard bytes.count >= 9 else { return }
        let cursor = bytes.prefix(8).reduce(Int64(0)) { $0 << 8 | Int64($1) }
        let tag = Array(bytes.dropFirst(8).prefix(32))
        let parsed = PageToken.parse(PageToken.make(cursor: cursor, tag: tag))
        precondition(parsed?.cursor == cursor && parsed?.tag == tag, "a token returns its cursor and tag")
    },
    // A reconciliation's entries as they arrive (ids split at 0x00): every held entry is within
    // the limits, and the budget counted never exceeds its bound.
    "reconciliation": { bytes in
        var entries = ReconciliationAccumulator()
        for (index, id) in bytes.split(separator: 0, omittingEmptySubsequences: false).enumerated() {
            let entry = ReconciliationEntry(
                settlementID: String(decoding: id, as: UTF8.self), acctPay: Money(fen: Int64(index)),
                acctMulaidPay: .zero, reversed: index % 2 == 0)
            do { try entries.append(entry) } catch { break }
        }
        precondition(entries.entries.allSatisfy { TextLimits.settlementID.admits($0.settlementID) }, "held ids are within their limit")
        precondition(entries.bytes <= SettlementRules.reconciliationBytesMax, "the byte budget holds")
        precondition(entries.entries.count <= SettlementRules.reconciliationEntriesMax, "the entry budget holds")
        for entry in entries.entries {
            precondition(TextLimits.echo(entry.settlementID).unicodeScalars.count <= TextLimits.echoCodePointsMax + 1)
        }
    },
    // The daemon's configuration file.
    "config": { bytes in
        _ = try? GongjiConfig.parse(json5: Data(bytes), source: "fuzz.json5", environment: [:], base: URL(fileURLWithPath: "/etc/gongji"))
    },
]

func importFile(_ bytes: [UInt8], format: RegistryFormat) {
    var reader = ImportAccumulator(format: format, today: today, bytesMax: 1 << 20)
    let split = bytes.first.map { Int($0) % (bytes.count + 1) } ?? 0
    reader.append(Array(bytes[..<split]))
    reader.append(Array(bytes[split...]))
    reader.finish()
    precondition(reader.rows.isEmpty || reader.errors.isEmpty, "an import file yields rows or errors, never both")
    precondition(reader.errors.count <= ImportAccumulator.errorsReportedMax, "errors are bounded")
}

nonisolated(unsafe) var selected: @Sendable ([UInt8]) -> Void = { _ in }

// The target is the first argument, or GONGJI_FUZZ_TARGET: libFuzzer runs itself again without
// the argument when it minimises a crash or forks, and the variable carries the choice there.
let arguments = CommandLine.arguments
let named = arguments.count >= 2 && targets[arguments[1]] != nil
guard let name = named ? arguments[1] : ProcessInfo.processInfo.environment["GONGJI_FUZZ_TARGET"], let target = targets[name] else {
    FileHandle.standardError.write(
        Data("usage: gongji-fuzz TARGET [libFuzzer options]; targets: \(targets.keys.sorted().joined(separator: " "))\n".utf8))
    exit(2)
}
setenv("GONGJI_FUZZ_TARGET", name, 1)
selected = target
// libFuzzer sees the program name and the options after the target.
var argv = [CommandLine.unsafeArgv[0]] + ((named ? 2 : 1)..<Int(CommandLine.argc)).map { CommandLine.unsafeArgv[$0] }
var argc = Int32(argv.count)
let status = argv.withUnsafeMutableBufferPointer { buffer in
    var base = buffer.baseAddress!
    return LLVMFuzzerRunDriver(&argc, &base) { data, size in
        selected(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
        return 0
    }
}
exit(status)
