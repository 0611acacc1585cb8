import SrcipCore

/// Which Services a refresh added, removed or changed, by `namespace/name` (a dual-stack Service is one `Service`
/// with both families; grouping by name also counts it once when an input lists it per family).
public struct CatalogChanges: Sendable, Equatable {
    public var added: [String]
    public var removed: [String]
    public var changed: [String]

    public init(added: [String] = [], removed: [String] = [], changed: [String] = []) {
        self.added = added
        self.removed = removed
        self.changed = changed
    }

    /// The difference from `old` to `new`, each list sorted.
    public static func between(_ old: [Service], _ new: [Service]) -> CatalogChanges {
        if let c = walk(old, new) { return c }
        let before = Dictionary(grouping: old, by: \.id).mapValues(Set.init)
        let after = Dictionary(grouping: new, by: \.id).mapValues(Set.init)
        var c = CatalogChanges()
        for (id, s) in after {
            if let b = before[id] { if b != s { c.changed.append(id) } } else { c.added.append(id) }
        }
        c.removed = before.keys.filter { after[$0] == nil }
        c.added.sort()
        c.removed.sort()
        c.changed.sort()
        return c
    }

    /// Both lists sorted by id, each id once (what discovery returns): one pass comparing neighbours, instead of
    /// hashing every Service. Nil otherwise.
    private static func walk(_ old: [Service], _ new: [Service]) -> CatalogChanges? {
        let a = old.map(\.id), b = new.map(\.id)
        guard zip(a, a.dropFirst()).allSatisfy({ $0 < $1 }), zip(b, b.dropFirst()).allSatisfy({ $0 < $1 }) else { return nil }
        var c = CatalogChanges()
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if j == b.count || (i < a.count && a[i] < b[j]) {
                c.removed.append(a[i])
                i += 1
            } else if i == a.count || b[j] < a[i] {
                c.added.append(b[j])
                j += 1
            } else {
                if old[i] != new[j] { c.changed.append(a[i]) }
                i += 1
                j += 1
            }
        }
        return c
    }

    public var isEmpty: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty }

    /// `+2 -1 ~3 Services (added: a/b, c/d; removed: …)`, listing at most `limit` names per kind.
    public func summary(limit: Int = 10) -> String {
        func list(_ label: String, _ ids: [String]) -> String? {
            guard !ids.isEmpty else { return nil }
            let shown = ids.prefix(limit).joined(separator: ", ")
            return "\(label): \(shown)" + (ids.count > limit ? " and \(ids.count - limit) more" : "")
        }
        let parts = [list("added", added), list("removed", removed), list("changed", changed)].compactMap { $0 }
        return "+\(added.count) -\(removed.count) ~\(changed.count) Services"
            + (parts.isEmpty ? "" : " (" + parts.joined(separator: "; ") + ")")
    }
}

/// A catalog re-read after the rules or the dump file changed.
public struct CatalogRefresh: Sendable {
    /// What was read now.
    public var services: DiscoveredServices
    /// CLOCK_MONOTONIC nanoseconds when the change was first noticed: flows starting from then on use this catalog.
    public var validFromNs: UInt64
    public var changes: CatalogChanges
    /// What noticed the change: `nf_tables`, `iptables-legacy`, `file`.
    public var trigger: String
}

/// What a `CatalogWatcher` reports.
public enum CatalogWatchEvent: Sendable {
    /// A change was noticed at `sinceNs` (CLOCK_MONOTONIC) and will be read: hold flows started since then.
    case changing(sinceNs: UInt64)
    /// The Services changed; install `services` from `validFromNs` on.
    case refreshed(CatalogRefresh)
    /// The change left the Services as they were, or could not be read: stop holding flows.
    case unchanged
    /// Re-reading failed; the previous catalog stays. `suppressed`: failures since the last report (rate limit).
    case failed(String, suppressed: Int)
}
