import Foundation

/// Splits an import file arriving in chunks into lines, parses each, and collects the rows or the
/// first bad lines. Nothing is applied here: the caller applies all rows or none.
public struct ImportAccumulator: Sendable {
    /// At most this many bad lines are reported.
    public static let errorsReportedMax = 20

    /// The file's format.
    public let format: RegistryFormat
    let today: CivilDate
    let bytesMax: Int
    /// The rows parsed so far; empty once any line failed.
    public private(set) var rows: [RegistryRow] = []
    /// The first bad lines.
    public private(set) var errors: [DomainError] = []
    /// Non-blank lines after the CSV header.
    public private(set) var dataLines = 0
    private var pending: [UInt8] = []
    private var lineNumber = 0
    private var bytesSeen = 0
    private var sawHeader = false
    /// The columns the CSV header named (`RegistryImport.csvColumns` or the older 10).
    private var csvColumnCount = RegistryImport.csvColumns.count

    /// An empty file of `format`, at most `bytesMax` bytes; rows are judged as of `today`.
    public init(format: RegistryFormat, today: CivilDate, bytesMax: Int) {
        self.format = format
        self.today = today
        self.bytesMax = bytesMax
    }

    /// Whether the file went over `bytesMax`.
    public private(set) var isTooLarge = false

    /// Adds the next chunk of the file.
    public mutating func append(_ chunk: [UInt8]) {
        bytesSeen += chunk.count
        guard bytesSeen <= bytesMax else {
            isTooLarge = true
            return
        }
        var start = 0
        for (i, byte) in chunk.enumerated() where byte == UInt8(ascii: "\n") {
            pending.append(contentsOf: chunk[start..<i])
            consumeLine()
            start = i + 1
        }
        pending.append(contentsOf: chunk[start...])
        if pending.count > RegistryImport.lineBytesMax * 4 {
            lineNumber += 1
            record(DomainError.importRowInvalid(line: lineNumber, field: "", problem: "longer than \(RegistryImport.lineBytesMax) bytes"))
            pending.removeAll()
        }
    }

    /// Call after the last chunk.
    public mutating func finish() {
        if !pending.isEmpty { consumeLine() }
        if format == .csv && !sawHeader && errors.isEmpty {
            record(DomainError.importRowInvalid(line: 1, field: "", problem: "the CSV header line is missing"))
        }
    }

    private mutating func consumeLine() {
        lineNumber += 1
        defer { pending.removeAll(keepingCapacity: true) }
        guard let text = String(validating: pending, as: UTF8.self) else {
            record(DomainError.importRowInvalid(line: lineNumber, field: "", problem: "not valid UTF-8"))
            return
        }
        let line = Substring(text.hasSuffix("\r") ? String(text.dropLast()) : text)
        guard !line.allSatisfy(\.isWhitespace) else { return }
        if format == .csv && !sawHeader {
            sawHeader = true
            let header = line.split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            if header == RegistryImport.csvColumnsBeforeBalancePart {
                csvColumnCount = header.count
            } else if header != RegistryImport.csvColumns {
                record(
                    DomainError.importRowInvalid(
                        line: lineNumber, field: "", problem: "the header must be \(RegistryImport.csvColumns.joined(separator: ","))"))
            }
            return
        }
        dataLines += 1
        do {
            let row = try RegistryImport.parse(line, format: format, line: lineNumber, today: today, csvColumnCount: csvColumnCount)
            if errors.isEmpty { rows.append(row) }
        } catch {
            record(error)
        }
    }

    private mutating func record(_ error: DomainError) {
        rows.removeAll()
        if errors.count < Self.errorsReportedMax { errors.append(error) }
    }
}
