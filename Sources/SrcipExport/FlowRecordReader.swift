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

/// Reads v1 flow records from JSON Lines, reporting each malformed or partial line with its line number and field path.
public enum FlowRecordReader {
    /// Longest line read as a record (records are under 2 KiB); longer ones are reported without being parsed.
    static let maxLineBytes = 64 << 10

    /// Decodes every non-empty line; bad lines are reported, good ones kept.
    public static func read(contents: String, source: String = "<input>") -> (records: [FlowRecord], errors: [FlowRecordReadError]) {
        var records: [FlowRecord] = []
        var errors: [FlowRecordReadError] = []
        let decoder = JSONDecoder()
        var lineNo = 0
        var text = contents
        // Lines are cut on bytes: splitting a String into Characters cost as much as decoding the records.
        let lines: [Range<Int>] = text.withUTF8 { buf in
            var out: [Range<Int>] = [], start = 0
            for i in buf.indices where buf[i] == UInt8(ascii: "\n") { out.append(start..<i); start = i + 1 }
            out.append(start..<buf.count)
            return out
        }
        for var range in lines {
            lineNo += 1
            if range.count > maxLineBytes {
                errors.append(FlowRecordReadError(source: source, line: lineNo, field: nil,
                                                  problem: "line is longer than \(maxLineBytes >> 10) KiB; not a flow record"))
                continue
            }
            let data: Data = text.withUTF8 { buf in
                if range.count > 0, buf[range.upperBound - 1] == UInt8(ascii: "\r") { range = range.lowerBound..<(range.upperBound - 1) }
                return Data(buf[range])
            }
            if data.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) { continue }
            do {
                records.append(try decoder.decode(FlowRecordJSON.self, from: data).record)
            } catch {
                errors.append(describe(error, source: source, line: lineNo, data: data))
            }
        }
        return (records, errors)
    }

    /// Reads a JSON Lines file (`-` for standard input).
    public static func read(path: String) throws(FlowRecordFileError) -> (records: [FlowRecord], errors: [FlowRecordReadError]) {
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
        return read(contents: text, source: path)
    }

    static func describe(_ error: any Error, source: String, line: Int, data: Data = Data()) -> FlowRecordReadError {
        func path(_ keys: [any CodingKey], _ last: (any CodingKey)? = nil) -> String? {
            let all = keys + (last.map { [$0] } ?? [])
            return all.isEmpty ? nil : all.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case let e as FlowRecordFieldError:
            return FlowRecordReadError(source: source, line: line, field: e.field, problem: e.problem)
        case let e as DecodingError:
            switch e {
            case .keyNotFound(let key, let ctx):
                return FlowRecordReadError(source: source, line: line, field: path(ctx.codingPath, key), problem: "missing (partial record?)")
            case .valueNotFound(let type, let ctx):
                return FlowRecordReadError(source: source, line: line, field: path(ctx.codingPath), problem: "is null, expected \(typeName(type))")
            case .typeMismatch(let type, let ctx):
                return FlowRecordReadError(source: source, line: line, field: path(ctx.codingPath), problem: "expected \(typeName(type))")
            case .dataCorrupted(let ctx):
                if let f = path(ctx.codingPath) {
                    return FlowRecordReadError(source: source, line: line, field: f, problem: "invalid value: \(excerpt(ctx.debugDescription))")
                }
                // Foundation names no path for text it cannot parse (cut lines, numbers out of range): srcip's reader does.
                let value: JSONValue
                do {
                    value = try JSONTextParser.parse([UInt8](data))
                } catch {
                    return FlowRecordReadError(source: source, line: line, field: error.path.isEmpty ? nil : excerpt(error.path),
                                               problem: "not valid JSON at column \(error.column): \(error.problem)")
                }
                if let (field, problem) = outOfRange(value) {
                    return FlowRecordReadError(source: source, line: line, field: field, problem: problem)
                }
                guard case .object = value else {
                    return FlowRecordReadError(source: source, line: line, field: nil, problem: "not a JSON object")
                }
                return FlowRecordReadError(source: source, line: line, field: nil, problem: "invalid value: \(excerpt(ctx.debugDescription))")
            @unknown default:
                return FlowRecordReadError(source: source, line: line, field: nil, problem: "\(e)")
            }
        default:
            return FlowRecordReadError(source: source, line: line, field: nil, problem: "\(error)")
        }
    }

    /// Integer fields of a v1 record and their range: the numbers Foundation rejects without naming the field.
    static let integerFields: [(path: [String], range: Range<Double>, max: String)] = {
        let port = (0.0..<65536.0, "65535"), counter = (0.0..<0x1p64, "\(UInt64.max)")
        return [(["version"], 0..<0x1p31, "\(Int32.max)")]
            + ["src_port", "dst_port", "xlat_src_port", "xlat_dst_port"].map { ([$0], port.0, port.1) } + [(["service", "port"], port.0, port.1)]
            + ["packets", "bytes", "reply_packets", "reply_bytes"].map { ([$0], counter.0, counter.1) }
    }()

    /// The first integer field whose number is fractional or outside its range.
    static func outOfRange(_ root: JSONValue) -> (String, String)? {
        func text(_ d: Double) -> String { d == d.rounded() && abs(d) < 1e18 ? String(Int64(d)) : "\(d)" }
        for (path, range, max) in integerFields {
            var v: JSONValue? = root
            for key in path { if case .object(let o)? = v { v = o[key] } else { v = nil } }
            guard case .number(let d)? = v else { continue }
            if d != d.rounded() { return (path.joined(separator: "."), "\(text(d)) is not an integer") }
            if !range.contains(d) {
                return (path.joined(separator: "."), "\(text(d)) is out of range (0 to \(max))")
            }
        }
        return nil
    }

    /// At most 80 characters of input text in a message.
    static func excerpt(_ s: String) -> String { s.count <= 80 ? s : s.prefix(80) + "… (\(s.utf8.count) bytes)" }

    static func typeName(_ t: Any.Type) -> String {
        switch t {
        case is String.Type, is String?.Type: return "a string"
        case is Bool.Type, is Bool?.Type: return "true or false"
        case is Int.Type, is UInt16.Type, is UInt64.Type, is UInt16?.Type, is Int?.Type: return "an integer"
        default: return "\(t)"
        }
    }
}
