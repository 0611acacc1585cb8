import Foundation
import SrcipJSON

/// A value inside parsed JSON with its path, so shape errors can name where they are (`items[3].spec.ports[0].port`).
struct JSONNode {
    let value: JSONValue
    private let parent: PathLink?
    let file: String

    /// One step of a path, shared by siblings; the string is only built when a message needs it.
    final class PathLink: Sendable {
        let parent: PathLink?
        let key: String?
        let index: Int

        init(parent: PathLink?, key: String?, index: Int) {
            self.parent = parent
            self.key = key
            self.index = index
        }

        var rendered: String {
            let head = parent?.rendered ?? ""
            if let key { return head.isEmpty ? key : head + "." + key }
            return head + "[\(index)]"
        }
    }

    init(value: JSONValue, parent: PathLink?, file: String) {
        self.value = value
        self.parent = parent
        self.file = file
    }

    /// Parses UTF-8 JSON; syntax errors name line, column and the enclosing value.
    static func parse(_ data: Data, file: String) throws -> JSONNode {
        do {
            return JSONNode(value: try JSONTextParser.parse([UInt8](data)), parent: nil, file: file)
        } catch {
            throw ServiceSourceError.malformedJSON(file: file, path: error.path,
                                                   problem: "not valid JSON at line \(error.line) column \(error.column): \(error.problem)")
        }
    }

    /// `nftables[12].rule.expr[0]`; empty at the top level.
    var path: String { parent?.rendered ?? "" }

    func fail(_ problem: String) -> ServiceSourceError {
        .malformedJSON(file: file, path: path, problem: problem)
    }

    var isNull: Bool { if case .null = value { return true } else { return false } }

    var object: [String: JSONValue]? { if case .object(let o) = value { return o } else { return nil } }

    var stringValue: String? { if case .string(let s) = value { return s } else { return nil } }

    /// `true`/`false`; nil for null or anything else.
    var boolValue: Bool? { if case .bool(let b) = value { return b } else { return nil } }

    /// An integral JSON number.
    var intValue: Int? {
        switch value {
        case .integer(let n) where abs(n) < 1_000_000_000_000_000: return Int(n)
        case .number(let d) where d == d.rounded() && abs(d) < 1e15: return Int(d)
        default: return nil
        }
    }

    subscript(key: String) -> JSONNode? {
        guard case .object(let o) = value, let v = o[key] else { return nil }
        return JSONNode(value: v, parent: PathLink(parent: parent, key: key, index: 0), file: file)
    }

    /// The children of an array (empty for anything else).
    var elements: [JSONNode] {
        guard case .array(let a) = value else { return [] }
        return a.enumerated().map { JSONNode(value: $1, parent: PathLink(parent: parent, key: nil, index: $0), file: file) }
    }

    var isArray: Bool { if case .array = value { return true } else { return false } }

    func dict() throws -> JSONNode {
        guard object != nil else { throw fail("expected an object") }
        return self
    }

    func array() throws -> [JSONNode] {
        guard isArray else { throw fail("expected an array") }
        return elements
    }

    func string() throws -> String {
        guard let s = stringValue else { throw fail("expected a string") }
        return s
    }

    func int() throws -> Int {
        guard let i = intValue else { throw fail("expected an integer") }
        return i
    }

    func require(_ key: String) throws -> JSONNode {
        guard object != nil else { throw fail("expected an object") }
        guard let v = self[key] else { throw fail("missing field `\(key)`") }
        return v
    }
}
