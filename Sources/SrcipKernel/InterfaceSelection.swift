import Foundation

/// Which interfaces a trace attaches to: shell patterns (`eth0`, `veth*`, `cali*`) to include and to exclude.
/// No include pattern means every interface except loopback. Applied to the interfaces present at start and to
/// every interface that appears later.
public struct InterfaceSelection: Hashable, Sendable, CustomStringConvertible {
    public var include: [String]
    public var exclude: [String]

    public init(include: [String] = [], exclude: [String] = []) {
        self.include = include
        self.exclude = exclude
    }

    /// Whether `name` is selected (fnmatch(3) patterns; loopback only when included by name or pattern).
    public func matches(_ name: String) -> Bool {
        if exclude.contains(where: { Self.glob($0, name) }) { return false }
        if include.isEmpty { return name != "lo" }
        return include.contains { Self.glob($0, name) }
    }

    /// The selected interfaces among `interfaces`, each once: in the order of the first include entry each
    /// matches (`-i b -i a` lists b first), then in their given order.
    public func select(_ interfaces: [NetworkInterface]) -> [NetworkInterface] {
        var seen = Set<UInt32>()
        let chosen = interfaces.filter { matches($0.name) && seen.insert($0.index).inserted }
        guard !include.isEmpty else { return chosen }
        let rank = { (name: String) in include.firstIndex { Self.glob($0, name) } ?? include.count }
        return chosen.enumerated().sorted { (rank($0.1.name), $0.0) < (rank($1.1.name), $1.0) }.map(\.1)
    }

    /// Include entries without pattern characters: names the user expects to exist at start.
    public var literalNames: [String] {
        var seen = Set<String>()
        return include.filter { !Self.isPattern($0) && seen.insert($0).inserted }
    }

    public var description: String {
        (include.isEmpty ? "every interface but lo" : include.joined(separator: ", "))
            + (exclude.isEmpty ? "" : " except " + exclude.joined(separator: ", "))
    }

    static func isPattern(_ s: String) -> Bool { s.contains { "*?[".contains($0) } }

    static func glob(_ pattern: String, _ name: String) -> Bool { fnmatch(pattern, name, 0) == 0 }
}
