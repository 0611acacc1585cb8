import Foundation

/// A value inside parsed JSON (from `JSONSerialization`) with its path, so shape errors can name where they are.
struct JSONNode {
    let value: Any
    /// `nftables[12].rule.expr[0]`; empty at the top level.
    let path: String
    let file: String

    static func parse(_ data: Data, file: String) throws -> JSONNode {
        do {
            let v = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            return JSONNode(value: v, path: "", file: file)
        } catch {
            let n = (error as NSError).userInfo["NSJSONSerializationErrorIndex"] as? Int
            let at = n.map { " near byte \($0)" } ?? ""
            throw ServiceSourceError.malformedJSON(file: file, path: "", problem: "not valid JSON\(at) (truncated or not JSON?)")
        }
    }

    func fail(_ problem: String) -> ServiceSourceError {
        .malformedJSON(file: file, path: path, problem: problem)
    }

    var isNull: Bool { value is NSNull }
    var dictValue: [String: Any]? { value as? [String: Any] }
    var arrayValue: [Any]? { value as? [Any] }

    /// A string (and not a number or bool bridged from JSON).
    var stringValue: String? { value as? String }

    /// An integer; JSON numbers only (not bools).
    var intValue: Int? {
        guard let n = value as? NSNumber, !isBool else { return nil }
        let d = n.doubleValue
        guard d == d.rounded(), abs(d) < 1e15 else { return nil }
        return Int(d)
    }

    /// JSON `true`/`false` (Foundation hands them out as a boolean NSNumber subclass).
    var isBool: Bool {
        value is NSNumber && String(describing: type(of: value)).contains("Bool")
    }

    /// `true`/`false`; nil for null or anything else.
    var boolValue: Bool? { isBool ? value as? Bool : nil }

    subscript(key: String) -> JSONNode? {
        guard let d = dictValue, let v = d[key] else { return nil }
        return JSONNode(value: v, path: path.isEmpty ? key : "\(path).\(key)", file: file)
    }

    /// The children of an array (empty for anything else).
    var elements: [JSONNode] {
        (arrayValue ?? []).enumerated().map { JSONNode(value: $1, path: "\(path)[\($0)]", file: file) }
    }

    func dict() throws -> JSONNode {
        guard dictValue != nil else { throw fail("expected an object") }
        return self
    }

    func array() throws -> [JSONNode] {
        guard arrayValue != nil else { throw fail("expected an array") }
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
        guard dictValue != nil else { throw fail("expected an object") }
        guard let v = self[key] else { throw fail("missing field `\(key)`") }
        return v
    }
}
