import Foundation

/// kube-proxy's partial syncs: after a full sync, kube-proxy writes only what changed since its previous sync.
/// iptables mode (`MinimizeIPTablesRestore`, the default since 1.27) restores the top-level chains in full plus the
/// per-service/per-endpoint chains whose rules changed, and flushes and deletes the chains that went away.
/// nftables mode adds/flushes the chains that changed, adds and deletes map/set elements, and deletes stale chains.
/// Built by comparing two full renders, so the result is exactly what turns the old rules into the new ones.
public enum KubeProxyPartialSync {
    /// Chains kube-proxy's iptables proxier rewrites on every sync (proxier.go: filterChains/natChains buffers).
    public static let alwaysWritten: Set<String> = ["KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-NODEPORTS",
                                                    "KUBE-POSTROUTING", "KUBE-MARK-MASQ", "KUBE-FORWARD",
                                                    "KUBE-PROXY-FIREWALL"]

    /// The `iptables-restore --noflush` input that turns `old` into `new` (both `KubeProxyIPTables.render` outputs).
    public static func iptables(old: String, new: String) -> String {
        let before = restoreTables(old), after = restoreTables(new)
        var out: [String] = []
        for (table, chains) in after.sorted(by: { $0.key < $1.key }) {
            let previous = before[table] ?? [:]
            let write = chains.keys.filter { alwaysWritten.contains($0) || previous[$0] != chains[$0] }.sorted()
            let gone = previous.keys.filter { chains[$0] == nil }.sorted()
            out.append("*\(table)")
            out += (write + gone).map { ":\($0) - [0:0]" }
            for c in write { out += chains[c]! }
            out += gone.map { "-X \($0)" }
            out.append("COMMIT")
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// Table → chain → its `-A` lines, in order, of a restore input.
    static func restoreTables(_ text: String) -> [String: [String: [String]]] {
        var tables: [String: [String: [String]]] = [:]
        var table = ""
        for line in text.split(separator: "\n") {
            if line.hasPrefix("*") {
                table = String(line.dropFirst())
            } else if line.hasPrefix(":"), let name = line.dropFirst().split(separator: " ").first {
                tables[table, default: [:]][String(name), default: []] += []
            } else if line.hasPrefix("-A "), let name = line.dropFirst(3).split(separator: " ").first {
                tables[table, default: [:]][String(name), default: []].append(String(line))
            }
        }
        return tables
    }

    /// The `nft -f` script that turns `old` into `new` (both `KubeProxyNFTables.transaction` line lists).
    public static func nftables(old: [String], new: [String]) -> String {
        let a = NFTObjects(old), b = NFTObjects(new)
        var out: [String] = []
        out += b.definitions.filter { !a.definitions.contains($0) }
        for c in b.chainOrder where a.rules[c] != b.rules[c] {
            if a.rules[c] != nil { out.append("flush chain \(b.chainTable[c]!) \(c)") }
            out += b.rules[c]!
        }
        for (key, line) in a.elements.sorted(by: { $0.key < $1.key }) where b.elements[key] != line {
            out.append("delete element \(key.table) \(key.set) { \(key.element) }")
        }
        for (key, line) in b.elements.sorted(by: { $0.key < $1.key }) where a.elements[key] != line { out.append(line) }
        // Flush every stale chain before deleting any: they jump to each other.
        let stale = a.chainOrder.filter { b.rules[$0] == nil }
        out += stale.map { "flush chain \(a.chainTable[$0]!) \($0)" }
        out += stale.map { "delete chain \(a.chainTable[$0]!) \($0)" }
        for d in a.definitions where !b.definitions.contains(d) && !d.hasPrefix("add chain") {
            let words = d.split(separator: " ")
            if words.count >= 5, words[1] == "set" || words[1] == "map" {
                out.append("delete \(words[1]) \(words[2]) \(words[3]) \(words[4])")
            }
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// The objects of an nftables transaction: definitions (table/chain/set/map lines), rules per chain, elements by key.
    struct NFTObjects {
        struct ElementKey: Hashable, Comparable {
            var table: String
            var set: String
            var element: String
            static func < (l: Self, r: Self) -> Bool { (l.table, l.set, l.element) < (r.table, r.set, r.element) }
        }
        var definitions: [String] = []
        var chainOrder: [String] = []
        var chainTable: [String: String] = [:]
        var rules: [String: [String]] = [:]
        /// Element key (`a . b . c`) → its whole `add element` line (value and comment included).
        var elements: [ElementKey: String] = [:]

        init(_ lines: [String]) {
            for line in lines {
                let words = line.split(separator: " ", maxSplits: 4).map(String.init)
                guard words.count >= 4 else { continue }
                let table = words[2] + " " + words[3]
                switch words[1] {
                case "chain":
                    let name = String(words[4].split(separator: " ")[0])
                    definitions.append(line)
                    if rules[name] == nil { chainOrder.append(name); chainTable[name] = table; rules[name] = [] }
                case "rule":
                    let name = String(words[4].split(separator: " ")[0])
                    rules[name, default: []].append(line)
                case "element":
                    let rest = words[4]
                    guard let open = rest.firstIndex(of: "{"), let close = rest.lastIndex(of: "}") else { continue }
                    let set = rest[..<open].trimmingCharacters(in: " ")
                    let body = rest[rest.index(after: open)..<close]
                    // The key ends at ` comment "…"` or ` : verdict` (IPv6 keys contain `:` themselves).
                    let end = [body.range(of: " comment "), body.range(of: " : ")].compactMap { $0?.lowerBound }.min() ?? body.endIndex
                    let key = String(body[..<end])
                    elements[ElementKey(table: table, set: set, element: key.trimmingCharacters(in: " "))] = line
                default:
                    definitions.append(line)
                }
            }
        }
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}
