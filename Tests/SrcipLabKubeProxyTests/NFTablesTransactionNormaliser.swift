/// Port of kube-proxy's test helper `sortNFTablesTransaction` (pkg/proxy/nftables/helpers_test.go): drops blank and `#`
/// lines, then stable-sorts by object type (table, chain, rule, set, map, element), then object name; rules keep their
/// order, other objects of the same type and name sort by the whole line.
enum NFTablesTransactionNormaliser {
    static let objectOrder = ["table": 10, "chain": 9, "rule": 8, "set": 7, "map": 6, "element": 5]

    static func normalise(_ lines: [String]) -> [String] {
        let kept = lines.filter { !$0.isEmpty && !$0.hasPrefix("#") }
        return kept.enumerated().sorted { l, r in
            let c = compare(l.element, r.element)
            return c != 0 ? c < 0 : l.offset < r.offset
        }.map(\.element)
    }

    static func normalise(_ text: String) -> [String] {
        normalise(text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init))
    }

    /// -1 when `a` sorts first, 1 when `b` does, 0 when the upstream comparator leaves them in place.
    static func compare(_ a: String, _ b: String) -> Int {
        let wa = a.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        let wb = b.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard wa.count >= 5, wb.count >= 5 else { return 0 }
        if wa[1] != wb[1] {
            return (objectOrder[wa[1]] ?? 0) > (objectOrder[wb[1]] ?? 0) ? -1 : 1
        }
        if wa[4] != wb[4] { return wa[4] < wb[4] ? -1 : 1 }
        if wa[1] == "rule" { return 0 }
        return a == b ? 0 : (a < b ? -1 : 1)
    }
}
