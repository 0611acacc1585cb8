/// Port of kube-proxy's test helper `sortIPTablesRules` (proxier_test.go): tables by name; chains KUBE-NODEPORTS,
/// KUBE-SERVICES, other KUBE-* alphabetically, then the rest; rules grouped by chain in emission order, except
/// KUBE-NODEPORTS and KUBE-SERVICES which are stable-sorted by comment (the nat "must be the last rule" line stays last).
enum IPTablesRestoreNormaliser {
    struct Table { var name: String; var chains: [String] = []; var rules: [String: [String]] = [:] }

    static func normalise(_ text: String) -> [String] {
        var tables: [Table] = []
        for raw in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = String(raw)
            if line.hasPrefix("#") { continue }
            if line.hasPrefix("*") {
                tables.append(Table(name: String(line.dropFirst())))
            } else if line.hasPrefix(":") {
                let name = String(line.dropFirst().split(separator: " ")[0])
                tables[tables.count - 1].chains.append(name)
            } else if line.hasPrefix("-A ") {
                let chain = String(line.split(separator: " ")[1])
                tables[tables.count - 1].rules[chain, default: []].append(line)
            }
        }
        tables.sort { $0.name < $1.name }
        var out: [String] = []
        for var t in tables {
            t.chains.sort(by: chainOrder)
            out.append("*\(t.name)")
            out += t.chains.map { ":\($0) - [0:0]" }
            for c in t.chains {
                var rules = t.rules[c] ?? []
                if c == "KUBE-NODEPORTS" || c == "KUBE-SERVICES" {
                    rules = stableSorted(rules) { a, b in
                        let ca = comment(a), cb = comment(b)
                        if t.name == "nat" && c == "KUBE-SERVICES" {
                            if ca.hasPrefix("kubernetes service nodeports") { return false }
                            if cb.hasPrefix("kubernetes service nodeports") { return true }
                        }
                        return ca < cb
                    }
                }
                out += rules
            }
            out.append("COMMIT")
        }
        return out
    }

    static func chainOrder(_ a: String, _ b: String) -> Bool {
        for first in ["KUBE-NODEPORTS", "KUBE-SERVICES"] {
            if a == first { return b != first }
            if b == first { return false }
        }
        let ka = a.hasPrefix("KUBE-"), kb = b.hasPrefix("KUBE-")
        if ka != kb { return ka }
        return a < b
    }

    /// The `--comment` value, unquoted.
    static func comment(_ rule: String) -> String {
        guard let r = rule.range(of: "--comment ") else { return "" }
        let rest = rule[r.upperBound...]
        if rest.first == "\"" {
            let body = rest.dropFirst()
            return String(body.prefix { $0 != "\"" })
        }
        return String(rest.prefix { $0 != " " })
    }

    static func stableSorted(_ xs: [String], by less: (String, String) -> Bool) -> [String] {
        xs.enumerated().sorted { l, r in
            if less(l.element, r.element) { return true }
            if less(r.element, l.element) { return false }
            return l.offset < r.offset
        }.map(\.element)
    }
}
