import Foundation
import SrcipCore
import SrcipJSON

/// A JSON Lines flow record that could not be read: where (file, line, field path) and what is wrong.
public struct FlowRecordReadError: Error, Hashable, CustomStringConvertible {
    public var source: String
    public var line: Int
    /// Dotted path of the offending field (`service.port`), nil when the line itself is not a JSON object.
    public var field: String?
    public var problem: String

    public var description: String {
        "\(source):\(line): " + (field.map { "\($0): " } ?? "") + (problem.count > 240 ? problem.prefix(240) + "…" : problem)
    }
}

/// Why a flow record file could not be read at all.
public enum FlowRecordFileError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let p, let r): return "cannot read flow records from \(p): \(r); check the path (JSON Lines written by srcip trace --format jsonl)"
        }
    }
}

/// Everything one JSON Lines trace holds: flow records (final and interim), and the `run`/`summary` records.
public struct FlowRecordDocument: Sendable {
    /// Every flow line in file order, interim records (`final` false) included.
    public var flows: [FlowRecord] = []
    public var runs: [TraceRunRecord] = []
    public var summaries: [TraceSummaryRecord] = []
    /// Lines of a `kind` this srcip does not know (written by a newer one): skipped.
    public var skippedLines = 0
    public var errors: [FlowRecordReadError] = []

    public init() {}

    /// One record per flow: its final record, or for a flow that has none (srcip was killed) its latest interim record.
    /// A flow is its node, start time and original tuple.
    public var records: [FlowRecord] {
        struct Key: Hashable { var node: String; var start: Int64; var tuple: FiveTuple }
        var finals = Set<Key>()
        var lastInterim: [Key: Int] = [:]
        for (i, r) in flows.enumerated() {
            let k = Key(node: r.node, start: r.startNs, tuple: r.original)
            if r.final { finals.insert(k) } else { lastInterim[k] = i }
        }
        return flows.enumerated().compactMap { i, r in
            if r.final { return r }
            let k = Key(node: r.node, start: r.startNs, tuple: r.original)
            return !finals.contains(k) && lastInterim[k] == i ? r : nil
        }
    }
}

/// Reads v1 flow records from JSON Lines, reporting each malformed or partial line with its line number and field path.
/// Lines carry a `kind` (`flow`, `run`, `summary`; files written before it existed have none: flow).
public enum FlowRecordReader {
    /// Longest line read as a record (records are under 2 KiB); longer ones are reported without being parsed.
    static let maxLineBytes = 64 << 10

    /// Decodes every non-empty line; bad lines are reported, good ones kept. `records`: one per flow
    /// (`FlowRecordDocument.records`); run and summary lines are read by `document(contents:source:)`.
    public static func read(contents: String, source: String = "<input>") -> (records: [FlowRecord], errors: [FlowRecordReadError]) {
        let d = document(contents: contents, source: source)
        return (d.records, d.errors)
    }

    /// Every line of a JSON Lines trace, by kind.
    public static func document(contents: String, source: String = "<input>") -> FlowRecordDocument {
        var doc = FlowRecordDocument()
        var errors: [FlowRecordReadError] = []
        var text = contents
        // Lines are cut on bytes: splitting a String into Characters cost as much as decoding the records.
        text.withUTF8 { buf in
            var lineNo = 0, start = 0
            func line(_ end: Int) {
                lineNo += 1
                var range = start..<end
                if range.count > maxLineBytes {
                    errors.append(FlowRecordReadError(source: source, line: lineNo, field: nil,
                                                      problem: "line is longer than \(maxLineBytes >> 10) KiB; not a flow record"))
                    return
                }
                if range.count > 0, buf[range.upperBound - 1] == UInt8(ascii: "\r") { range = range.lowerBound..<(range.upperBound - 1) }
                let bytes = Array(buf[range])
                if bytes.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) { return }
                switch decode(bytes) {
                case .success(.flow(let r)): doc.flows.append(r)
                case .success(.run(let r)): doc.runs.append(r)
                case .success(.summary(let r)): doc.summaries.append(r)
                case .success(.other): doc.skippedLines += 1
                case .failure(let e): errors.append(FlowRecordReadError(source: source, line: lineNo, field: e.field, problem: e.problem))
                }
            }
            for i in buf.indices where buf[i] == UInt8(ascii: "\n") { line(i); start = i + 1 }
            line(buf.count)
        }
        doc.errors = errors
        return doc
    }

    /// One decoded line.
    enum Line {
        case flow(FlowRecord)
        case run(TraceRunRecord)
        case summary(TraceSummaryRecord)
        /// A kind this reader does not know.
        case other
    }

    /// Where and why one line is not a v1 record.
    struct LineError: Error {
        var field: String?
        var problem: String
    }

    /// One line: JSON syntax errors give the column and the path of the value being read, shape errors the field.
    static func decode(_ bytes: [UInt8]) -> Result<Line, LineError> {
        let value: JSONValue
        do { value = try JSONTextParser.parse(bytes) } catch {
            return .failure(LineError(field: error.path.isEmpty ? nil : excerpt(error.path),
                                      problem: "not valid JSON at column \(error.column): \(error.problem)"))
        }
        guard case .object = value else { return .failure(LineError(field: nil, problem: "not a JSON object")) }
        do {
            let c = try JSONObjectReader(value)
            switch c.contains("kind") ? try c.string("kind") : "flow" {
            case "flow": return .success(.flow(try FlowRecordJSON.decode(value)))
            case "run": return .success(.run(try TraceRunRecord.decode(c)))
            case "summary": return .success(.summary(try TraceSummaryRecord.decode(c)))
            default: return .success(.other)
            }
        } catch {
            let problem: String
            switch error.problem {
            case .missing: problem = "missing (partial record?)"
            case .invalid(let why): problem = why
            default: problem = error.message
            }
            return .failure(LineError(field: error.path.isEmpty ? nil : excerpt(error.path), problem: problem))
        }
    }

    /// Reads a JSON Lines file (`-` for standard input): one record per flow (`FlowRecordDocument.records`).
    public static func read(path: String) throws(FlowRecordFileError) -> (records: [FlowRecord], errors: [FlowRecordReadError]) {
        let d = try document(path: path)
        return (d.records, d.errors)
    }

    /// Every line of a JSON Lines file (`-` for standard input), by kind.
    public static func document(path: String) throws(FlowRecordFileError) -> FlowRecordDocument {
        document(contents: try text(path: path), source: path)
    }

    /// The UTF-8 text of a file of records (`-`: standard input); a directory or unreadable file is a typed error.
    public static func text(path: String) throws(FlowRecordFileError) -> String {
        let data: Data
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                throw .unreadable(path: path, reason: "is a directory")
            }
            do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw .unreadable(path: path, reason: error.localizedDescription)
            }
        }
        guard let text = String(data: data, encoding: .utf8) else { throw .unreadable(path: path, reason: "not UTF-8 text") }
        return text
    }

    /// At most 80 characters of input text in a message.
    static func excerpt(_ s: String) -> String { s.count <= 80 ? s : s.prefix(80) + "… (\(s.utf8.count) bytes)" }
}
