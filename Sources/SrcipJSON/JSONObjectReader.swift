/// Why a JSON value does not have the shape a reader expects: the dotted path of the member (`service.port`) and what
/// is wrong with it.
public struct JSONShapeError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Problem: Sendable, Equatable {
        /// The member is absent.
        case missing
        /// The member is `null`; `expected` names the type, e.g. "a string".
        case null(expected: String)
        /// The member has another JSON type.
        case type(expected: String)
        /// The member has the right type but an unusable value (a message saying why).
        case invalid(String)
    }

    /// Dotted path of the member; empty when the value itself is not an object.
    public var path: String
    public var problem: Problem

    public init(path: String, problem: Problem) {
        self.path = path
        self.problem = problem
    }

    /// The problem in words, without the path.
    public var message: String {
        switch problem {
        case .missing: return "missing"
        case .null(let e): return "is null, expected \(e)"
        case .type(let e): return "expected \(e)"
        case .invalid(let why): return why
        }
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// Typed access to the members of one JSON object; every failure is a `JSONShapeError` naming the member's path.
///
/// Per type, `string(k)` needs a non-null value and `nullableString(k)` needs the member but allows `null`; a member
/// that may also be absent reads as `r.contains(k) ? try r.nullableString(k) : nil`.
public struct JSONObjectReader: Sendable {
    public let members: [String: JSONValue]
    /// Path of this object inside the document (empty at the top level).
    public let path: String

    /// Fails with `.type(expected: "an object")` when `value` is not an object.
    public init(_ value: JSONValue, path: String = "") throws(JSONShapeError) {
        guard case .object(let o) = value else { throw JSONShapeError(path: path, problem: .type(expected: "an object")) }
        members = o
        self.path = path
    }

    /// Parses `bytes` and reads the top-level object; syntax errors are `JSONTextParser.Failure`, shape errors
    /// `JSONShapeError`.
    public static func parse(_ bytes: [UInt8]) throws -> JSONObjectReader {
        try JSONObjectReader(try JSONTextParser.parse(bytes))
    }

    /// The path of member `k`.
    public func path(_ k: String) -> String { path.isEmpty ? k : path + "." + k }

    /// An `.invalid` error for member `k`.
    public func invalid(_ k: String, _ why: String) -> JSONShapeError { JSONShapeError(path: path(k), problem: .invalid(why)) }

    /// Whether member `k` is present and not `null`.
    public func contains(_ k: String) -> Bool {
        guard let v = members[k] else { return false }
        if case .null = v { return false }
        return true
    }

    /// Member `k`, or nil when it is `null`; absent members fail with `.missing`.
    @inlinable public func nullable(_ k: String) throws(JSONShapeError) -> JSONValue? {
        guard let v = members[k] else { throw JSONShapeError(path: path(k), problem: .missing) }
        if case .null = v { return nil }
        return v
    }

    @inlinable func required(_ k: String, _ expected: String) throws(JSONShapeError) -> JSONValue {
        guard let v = try nullable(k) else { throw JSONShapeError(path: path(k), problem: .null(expected: expected)) }
        return v
    }

    public func nullableString(_ k: String) throws(JSONShapeError) -> String? {
        guard let v = try nullable(k) else { return nil }
        guard case .string(let s) = v else { throw JSONShapeError(path: path(k), problem: .type(expected: "a string")) }
        return s
    }

    public func string(_ k: String) throws(JSONShapeError) -> String {
        guard case .string(let s) = try required(k, "a string") else {
            throw JSONShapeError(path: path(k), problem: .type(expected: "a string"))
        }
        return s
    }

    public func nullableBool(_ k: String) throws(JSONShapeError) -> Bool? {
        guard let v = try nullable(k) else { return nil }
        guard case .bool(let b) = v else { throw JSONShapeError(path: path(k), problem: .type(expected: "true or false")) }
        return b
    }

    public func bool(_ k: String) throws(JSONShapeError) -> Bool {
        guard case .bool(let b) = try required(k, "true or false") else {
            throw JSONShapeError(path: path(k), problem: .type(expected: "true or false"))
        }
        return b
    }

    /// An integer member that fits `T`; fractions and values outside `T`'s range name the value and the range.
    @inlinable public func nullableInteger<T: FixedWidthInteger>(_ k: String, as type: T.Type = T.self) throws(JSONShapeError) -> T? {
        guard let v = try nullable(k) else { return nil }
        return try JSONObjectReader.integer(v, T.self, path: path(k))
    }

    @inlinable public func integer<T: FixedWidthInteger>(_ k: String, as type: T.Type = T.self) throws(JSONShapeError) -> T {
        try JSONObjectReader.integer(try required(k, "an integer"), T.self, path: path(k))
    }

    @usableFromInline static func integer<T: FixedWidthInteger>(_ v: JSONValue, _: T.Type, path: String) throws(JSONShapeError) -> T {
        switch v {
        case .integer(let n):
            if let t = T(exactly: n) { return t }
            throw JSONShapeError(path: path, problem: .invalid("\(n) is out of range (\(T.min) to \(T.max))"))
        case .number(let d):
            let text = d == d.rounded() && abs(d) < 1e18 ? String(Int64(d)) : "\(d)"
            guard d == d.rounded() else { throw JSONShapeError(path: path, problem: .invalid("\(text) is not an integer")) }
            if let t = T(exactly: d) { return t }
            throw JSONShapeError(path: path, problem: .invalid("\(text) is out of range (\(T.min) to \(T.max))"))
        default:
            throw JSONShapeError(path: path, problem: .type(expected: "an integer"))
        }
    }

    /// A string member naming one case of `T` (`"snat"` → `Verdict.snat`).
    public func nullableEnum<T: RawRepresentable & CaseIterable>(_ k: String, as type: T.Type = T.self) throws(JSONShapeError) -> T?
    where T.RawValue == String {
        guard let s = try nullableString(k) else { return nil }
        guard let t = T(rawValue: s) else {
            throw invalid(k, "expected one of \(T.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")), got \"\(s)\"")
        }
        return t
    }

    public func `enum`<T: RawRepresentable & CaseIterable>(_ k: String, as type: T.Type = T.self) throws(JSONShapeError) -> T
    where T.RawValue == String {
        guard let t = try nullableEnum(k, as: T.self) else { throw JSONShapeError(path: path(k), problem: .null(expected: "a string")) }
        return t
    }

    /// A nested object, or nil when the member is `null`.
    public func nullableObject(_ k: String) throws(JSONShapeError) -> JSONObjectReader? {
        guard let v = try nullable(k) else { return nil }
        return try JSONObjectReader(v, path: path(k))
    }

    public func object(_ k: String) throws(JSONShapeError) -> JSONObjectReader {
        try JSONObjectReader(try required(k, "an object"), path: path(k))
    }

    /// An array of strings.
    public func strings(_ k: String) throws(JSONShapeError) -> [String] {
        guard case .array(let a) = try required(k, "an array") else {
            throw JSONShapeError(path: path(k), problem: .type(expected: "an array"))
        }
        var out: [String] = []
        out.reserveCapacity(a.count)
        for (n, v) in a.enumerated() {
            guard case .string(let s) = v else { throw JSONShapeError(path: path(k) + "[\(n)]", problem: .type(expected: "a string")) }
            out.append(s)
        }
        return out
    }

    /// A number member (integer or not) as a `Double`.
    public func double(_ k: String) throws(JSONShapeError) -> Double {
        switch try required(k, "a number") {
        case .integer(let n): return Double(n)
        case .number(let d): return d
        default: throw JSONShapeError(path: path(k), problem: .type(expected: "a number"))
        }
    }
}
