import Foundation
import SrcipCore
import SrcipJSON

/// What `srcip merge` reads: flow records as JSON Lines or CSV, from files or standard input, also straight from
/// `kubectl logs --prefix` (every line starts with `[pod/NAME/CONTAINER] `).
///
/// JSON Lines: lines with a `kind` other than `flow` (`run`, `summary`, `path`, …) are skipped; lines without
/// `kind` are v1 flow records. CSV is recognised by its header row (`version,node,…`, as `trace --format csv`
/// writes it). With kubectl prefixes, lines that are not JSON objects are srcip's own log lines (standard error
/// shares the pod log) and are counted, not reported as errors.
public enum FlowRecordInput {
    /// Records read, bad lines, and how many lines were skipped on purpose.
    public struct Result: Sendable {
        public var records: [FlowRecord] = []
        public var errors: [FlowRecordReadError] = []
        /// Lines of another record kind (`run`, `summary`, …).
        public var otherKinds = 0
        /// Log lines between kubectl-prefixed records.
        public var logLines = 0
    }

    /// Reads a file, or standard input for `-`.
    public static func read(path: String) throws(FlowRecordFileError) -> Result {
        read(contents: try FlowRecordReader.text(path: path), source: path == "-" ? "<stdin>" : path)
    }

    /// Strips `[pod/NAME/CONTAINER] ` (kubectl logs --prefix); nil when the line has no such prefix.
    public static func stripKubectlPrefix(_ line: Substring) -> Substring? {
        guard line.hasPrefix("[pod/"), let close = line.firstIndex(of: "]") else { return nil }
        let inside = line[line.index(line.startIndex, offsetBy: 5)..<close]
        guard inside.contains("/"), !inside.contains(" ") else { return nil }
        var rest = line[line.index(after: close)...]
        if rest.first == " " { rest = rest.dropFirst() }
        return rest
    }

    /// Reads JSON Lines or CSV text.
    public static func read(contents: String, source: String = "<input>") -> Result {
        var result = Result()
        var csvHeader: [String]?
        var lineNo = 0
        // "\r\n" is one Character in Swift: split on both line ends.
        let lines = contents.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        var index = 0
        while index < lines.count {
            let rawLine = lines[index]
            index += 1
            lineNo += 1
            var line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            var prefixed = false
            if let rest = stripKubectlPrefix(line) { line = rest; prefixed = true }
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            if line.utf8.count > FlowRecordReader.maxLineBytes {
                result.errors.append(FlowRecordReadError(source: source, line: lineNo, field: nil,
                                                         problem: "line is longer than \(FlowRecordReader.maxLineBytes >> 10) KiB; not a flow record"))
                continue
            }
            if csvHeader == nil, line.hasPrefix("version,node,") || line.hasPrefix("\"version\",\"node\",") {
                csvHeader = CSVRecordReader.cells(line).map { $0 ?? "" }
                continue
            }
            if let header = csvHeader, !line.hasPrefix("{") {
                // A quoted cell may hold line breaks (RFC 4180): join lines until the quotes balance.
                var joined = String(line)
                let firstLine = lineNo
                while joined.utf8.lazy.filter({ $0 == UInt8(ascii: "\"") }).count % 2 == 1, index < lines.count {
                    joined += "\n" + lines[index]
                    index += 1
                    lineNo += 1
                }
                if joined.hasSuffix("\r") { joined.removeLast() }
                line = Substring(joined)
                switch CSVRecordReader.decode(line, header: header) {
                case .success(let r): result.records.append(r)
                case .failure(let e): result.errors.append(FlowRecordReadError(source: source, line: firstLine, field: e.field, problem: e.problem))
                }
                continue
            }
            if prefixed && !line.hasPrefix("{") { result.logLines += 1; continue }
            let bytes = Array(line.utf8)
            if let kind = recordKind(bytes), kind != "flow" { result.otherKinds += 1; continue }
            switch FlowRecordReader.decode(bytes) {
            case .success(.flow(let r)): result.records.append(r)
            case .success: result.otherKinds += 1
            case .failure(let e): result.errors.append(FlowRecordReadError(source: source, line: lineNo, field: e.field, problem: e.problem))
            }
        }
        // One record per flow: the final one, or the latest interim one of a flow whose trace was killed.
        var document = FlowRecordDocument()
        document.flows = result.records
        result.records = document.records
        return result
    }

    /// The line's `kind` member when it is a JSON object that has one (cheap check before a full parse).
    static func recordKind(_ bytes: [UInt8]) -> String? {
        guard bytes.count < FlowRecordReader.maxLineBytes, String(decoding: bytes, as: UTF8.self).contains("\"kind\""),
              case .object(let o)? = try? JSONTextParser.parse(bytes), case .string(let k)? = o["kind"] else { return nil }
        return k
    }
}

/// Flow records from `trace --format csv` rows: cells are typed by column and decoded like a JSON line.
enum CSVRecordReader {
    static let integerColumns: Set<String> = ["version", "src_port", "dst_port", "xlat_src_port", "xlat_dst_port", "packets", "bytes",
                                              "reply_packets", "reply_bytes", "expected_row", "service_port", "tcp_flags",
                                              "encap_vni", "encap_src_port", "encap_dst_port"]
    static let boolColumns: Set<String> = ["snat", "dnat", "hairpin", "expectation_met", "final"]

    /// RFC 4180 cells of one line; an empty unquoted cell is nil (null), `""` is the empty string.
    static func cells(_ line: Substring) -> [String?] {
        var out: [String?] = []
        var cell = "", quoted = false, inQuotes = false
        var it = line.makeIterator()
        var pending: Character? = nil
        while let c = pending ?? it.next() {
            pending = nil
            if inQuotes {
                if c == "\"" {
                    if let n = it.next() { if n == "\"" { cell.append("\"") } else { inQuotes = false; pending = n } } else { inQuotes = false }
                } else { cell.append(c) }
            } else if c == "\"" { inQuotes = true; quoted = true }
            else if c == "," { out.append(cell.isEmpty && !quoted ? nil : cell); cell = ""; quoted = false }
            else { cell.append(c) }
        }
        out.append(cell.isEmpty && !quoted ? nil : cell)
        return out
    }

    static func decode(_ line: Substring, header: [String]) -> Result<FlowRecord, FlowRecordReader.LineError> {
        let values = cells(line)
        guard values.count == header.count else {
            return .failure(.init(field: nil, problem: "\(values.count) CSV cells, the header has \(header.count)"))
        }
        var object: [String: JSONValue] = [:]
        var service: [String: JSONValue] = [:]
        for (name, value) in zip(header, values) {
            var v = JSONValue.null
            if let s = value {
                if integerColumns.contains(name) {
                    guard let i = Int64(s) else { return .failure(.init(field: name, problem: "not an integer: \"\(s)\"")) }
                    v = .integer(i)
                } else if boolColumns.contains(name) {
                    guard s == "true" || s == "false" else { return .failure(.init(field: name, problem: "expected true or false, got \"\(s)\"")) }
                    v = .bool(s == "true")
                } else {
                    v = .string(s)
                }
            }
            if name.hasPrefix("service_") { service[String(name.dropFirst(8))] = v } else { object[name] = v }
        }
        object["service"] = service["name"].map { $0 == .null ? .null : .object(service) } ?? .null
        do { return .success(try FlowRecordJSON.decode(.object(object))) } catch {
            return .failure(.init(field: error.path.isEmpty ? nil : error.path, problem: error.message))
        }
    }
}
