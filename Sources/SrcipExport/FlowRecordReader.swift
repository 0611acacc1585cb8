import Foundation
import SrcipCore

/// A JSON Lines flow record that could not be read: where (file, line, field path) and what is wrong.
public struct FlowRecordReadError: Error, Hashable, CustomStringConvertible {
    public var source: String
    public var line: Int
    /// Dotted path of the offending field (`service.port`), nil when the line itself is not a JSON object.
    public var field: String?
    public var problem: String

    public var description: String {
        "\(source):\(line): " + (field.map { "\($0): " } ?? "") + problem
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
    /// Decodes every non-empty line; bad lines are reported, good ones kept.
    public static func read(contents: String, source: String = "<input>") -> (records: [FlowRecord], errors: [FlowRecordReadError]) {
        var records: [FlowRecord] = []
        var errors: [FlowRecordReadError] = []
        let decoder = JSONDecoder()
        var lineNo = 0
        for line in contents.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            let text = line.hasSuffix("\r") ? line.dropLast() : line
            if text.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            do {
                records.append(try decoder.decode(FlowRecordJSON.self, from: Data(text.utf8)).record)
            } catch {
                errors.append(describe(error, source: source, line: lineNo))
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
            do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw .unreadable(path: path, reason: error.localizedDescription)
            }
        }
        guard let text = String(data: data, encoding: .utf8) else { throw .unreadable(path: path, reason: "not UTF-8 text") }
        return read(contents: text, source: path)
    }

    static func describe(_ error: any Error, source: String, line: Int) -> FlowRecordReadError {
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
                let f = path(ctx.codingPath)
                return FlowRecordReadError(source: source, line: line, field: f,
                                           problem: f == nil ? "not a JSON object (truncated line?)" : "invalid value: \(ctx.debugDescription)")
            @unknown default:
                return FlowRecordReadError(source: source, line: line, field: nil, problem: "\(e)")
            }
        default:
            return FlowRecordReadError(source: source, line: line, field: nil, problem: "\(error)")
        }
    }

    static func typeName(_ t: Any.Type) -> String {
        switch t {
        case is String.Type, is String?.Type: return "a string"
        case is Bool.Type, is Bool?.Type: return "true or false"
        case is Int.Type, is UInt16.Type, is UInt64.Type, is UInt16?.Type, is Int?.Type: return "an integer"
        default: return "\(t)"
        }
    }
}
