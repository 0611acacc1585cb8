import SrcipCore

/// kube-proxy's service-port name `ns/name:port` (or `ns/name` for an unnamed port) plus the protocol:
/// the unit that every rule of a Service port is keyed by.
struct ServicePortName: Hashable, Comparable, CustomStringConvertible {
    var namespace: String
    var name: String
    /// Empty for an unnamed port.
    var port: String
    var proto: L4Protocol

    /// Parses `ns/name:port`, `ns/name` and legacy `ns/name:`; nil for anything else (e.g. a multi-word comment).
    init?(_ text: some StringProtocol, proto: L4Protocol) {
        let s = String(text)
        guard !s.contains(" "), let slash = s.firstIndex(of: "/") else { return nil }
        let ns = s[..<slash]
        let rest = s[s.index(after: slash)...]
        let name: Substring
        let port: Substring
        if let colon = rest.firstIndex(of: ":") {
            name = rest[..<colon]
            port = rest[rest.index(after: colon)...]
        } else {
            name = rest
            port = ""
        }
        guard !ns.isEmpty, !name.isEmpty, !name.contains("/"), !port.contains("/"), !port.contains(":") else { return nil }
        self.init(namespace: String(ns), name: String(name), port: String(port), proto: proto)
    }

    init(namespace: String, name: String, port: String, proto: L4Protocol) {
        self.namespace = namespace
        self.name = name
        self.port = port
        self.proto = proto
    }

    var description: String { port.isEmpty ? "\(namespace)/\(name)" : "\(namespace)/\(name):\(port)" }

    static func < (a: Self, b: Self) -> Bool {
        (a.namespace, a.name, a.port, a.proto.rawValue) < (b.namespace, b.name, b.port, b.proto.rawValue)
    }
}
