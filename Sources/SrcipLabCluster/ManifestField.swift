import SrcipCore
import Yams

/// Collects warnings while one manifest is decoded.
final class ManifestDiagnosticsSink {
    let source: String
    private(set) var warnings: [ManifestWarning] = []

    init(source: String) { self.source = source }

    func warn(object: String, field: String, _ message: String) {
        warnings.append(ManifestWarning(source: source, object: object, field: field, message: message))
    }
}

/// A YAML node with the field path and object it belongs to, for typed reads with precise errors.
struct ManifestField {
    let node: Node
    let path: String
    let object: String
    let sink: ManifestDiagnosticsSink

    /// The path of a child key, e.g. `spec` + `ports` → `spec.ports`.
    func childPath(_ key: String) -> String {
        let k = key.contains(".") || key.contains("/") ? "\"\(key)\"" : key
        return path.isEmpty ? k : "\(path).\(k)"
    }

    func error(_ problem: String) -> ManifestError {
        .invalidValue(source: sink.source, object: object, field: path, problem: problem)
    }

    /// A required child is missing.
    func missing(_ key: String, _ hint: String = "") -> ManifestError {
        .invalidValue(source: sink.source, object: object, field: childPath(key),
                      problem: "required field is missing" + (hint.isEmpty ? "" : " (\(hint))"))
    }

    /// The same node reported under another object label (once the object's name is known).
    func relabelled(_ object: String) -> ManifestField {
        ManifestField(node: node, path: path, object: object, sink: sink)
    }

    var isNull: Bool {
        if case .scalar(let s) = node { return node.tag.rawValue == Tag.Name.null.rawValue || (s.style == .plain && s.string.isEmpty) }
        return false
    }

    /// Requires a mapping, warns about keys outside `known` (and outside `tolerated`, which are silently ignored).
    func mapping(known: Set<String>, tolerated: Set<String> = []) throws -> [String: ManifestField] {
        guard case .mapping(let m) = node else { throw error("expected a mapping, found \(kindName)") }
        var out: [String: ManifestField] = [:]
        for (k, v) in m {
            guard let key = k.string else { throw error("mapping keys must be strings") }
            let child = ManifestField(node: v, path: childPath(key), object: object, sink: sink)
            if known.contains(key) {
                if !child.isNull { out[key] = child }
            } else if !tolerated.contains(key) {
                sink.warn(object: object, field: child.path, "unknown field, ignored")
            }
        }
        return out
    }

    func sequence() throws -> [ManifestField] {
        guard case .sequence(let s) = node else { throw error("expected a list, found \(kindName)") }
        return s.enumerated().map { ManifestField(node: $1, path: "\(path)[\($0)]", object: object, sink: sink) }
    }

    func string() throws -> String {
        guard case .scalar(let s) = node else { throw error("expected a string, found \(kindName)") }
        return s.string
    }

    /// A plain (unquoted) YAML integer.
    var isInteger: Bool {
        if case .scalar = node { return node.tag.rawValue == Tag.Name.int.rawValue }
        return false
    }

    func int() throws -> Int {
        guard isInteger, let v = node.int else {
            throw error("expected an integer, found \(describeValue)")
        }
        return v
    }

    func bool() throws -> Bool {
        guard case .scalar = node, node.tag.rawValue == Tag.Name.bool.rawValue, let v = node.bool else {
            throw error("expected true or false, found \(describeValue)")
        }
        return v
    }

    func port(_ range: ClosedRange<Int> = 1...65535) throws -> UInt16 {
        let v = try int()
        guard range.contains(v) else { throw error("\(v) is out of range \(range.lowerBound)-\(range.upperBound)") }
        return UInt16(v)
    }

    func ipv4() throws -> IPAddress {
        let s = try string().trimmingSpaces
        guard let ip = IPAddress(s) else { throw error("\"\(s)\" is not an IP address") }
        guard ip.isIPv4 else { throw error("\"\(s)\" is IPv6; an IPv4 address is required here") }
        return ip
    }

    /// An IPv4 or IPv6 address.
    func ip() throws -> IPAddress {
        let s = try string().trimmingSpaces
        guard let ip = IPAddress(s) else { throw error("\"\(s)\" is not an IP address") }
        return ip
    }

    func stringMap() throws -> [String: String] {
        guard case .mapping(let m) = node else { throw error("expected a mapping of strings, found \(kindName)") }
        var out: [String: String] = [:]
        for (k, v) in m {
            guard let key = k.string, case .scalar(let s) = v else { throw error("expected a mapping of strings") }
            out[key] = s.string
        }
        return out
    }

    func stringList() throws -> [ManifestField] { try sequence() }

    private var kindName: String {
        switch node {
        case .scalar: return "a scalar \(describeValue)"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    private var describeValue: String {
        if case .scalar(let s) = node { return "\"\(s.string)\"" }
        return "a non-scalar"
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs.
    public var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
