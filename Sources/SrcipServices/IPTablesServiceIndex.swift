import SrcipCore

/// What lets a change of a few chains re-assemble only the Services it touches (iptables-nft, `IPTablesModel`):
/// which Service claims each per-service chain, which chains jump to each endpoint chain, the cluster-CIDR notes of
/// each nat chain and the Services as last assembled. Built from a full interpretation of one rule set that had no
/// warnings of its own besides cluster-CIDR ones (the order of other warnings depends on every Service's rules); a
/// re-assembly that would warn, or anything it cannot place, returns nil and the caller interprets everything.
struct IPTablesServiceIndex {
    /// A chain the notifications named and that was listed again: its rules before (nil when it did not exist).
    struct Change {
        var table: String
        var chain: String
        var old: [IPTablesRule]?
    }

    let file: String
    /// Per-service chain hash → the Service (`ns/name`) that claims it, and the hashes each Service claims.
    private var owners: [String: String] = [:]
    private var claims: [String: [String]] = [:]
    /// Endpoint chain (`KUBE-SEP-…`) → the nat chains that jump to it.
    private var endpointUsers: [String: Set<String>] = [:]
    private var cidrNotes: [String: [IPTablesInterpreter.CIDRNote]]
    /// The keys of `cidrNotes`, sorted (the interpreter reads chains in name order).
    private var cidrChains: [String]
    private var cidrs: [IPPrefix]
    private var cidrWarnings: [String]
    private var structures: KubeProxyStructures
    /// Sorted by id, as the assembler returns them.
    private(set) var services: [Service]

    /// The index of a full run; nil when that run had warnings besides the cluster-CIDR ones.
    init?(_ run: IPTablesInterpreter, services: [Service], warnings: [String]) {
        guard warnings == run.cidrWarnings else { return nil }
        file = run.file
        cidrNotes = run.cidrNotes
        cidrChains = run.cidrNotes.keys.sorted()
        cidrs = run.clusterCIDRs
        cidrWarnings = run.cidrWarnings
        structures = run.structures
        self.services = services
        for (hash, spn) in run.owner { claim(hash, for: spn.serviceID) }
        for (chain, rules) in run.nat?.rules ?? [:] where Self.jumpsToEndpoints(chain) {
            for sep in Self.endpointTargets(rules) { endpointUsers[sep, default: []].insert(chain) }
        }
    }

    /// What the interpreter would return for the whole rule set, with the Services of `services`.
    var result: DiscoveredServices {
        var d = DiscoveredServices(services: [], source: "iptables")
        d.merge(DiscoveredServices(services: [], clusterCIDRs: cidrs, source: "iptables", warnings: cidrWarnings,
                                   structures: structures))
        d.services = services
        return d
    }

    /// Re-assembles the Services the changed chains touch from the tables as they are now; nil when only a full
    /// interpretation can tell (see the type's description). On nil the index is stale: build a new one.
    mutating func reassemble(nat: IPTablesTable?, filter: IPTablesTable?, changes: [Change]) -> DiscoveredServices? {
        guard IPTablesInterpreter.structures(nat: nat, filter: filter) == structures, structures.contains(.iptablesNAT),
              let nat else { return nil }
        var touched: Set<String> = []
        var cidrsChanged = false
        for c in changes {
            let now = (c.table == "nat" ? nat : filter)?.rules(c.chain) ?? []
            if IPTablesInterpreter.needsTargets(c.chain), now.contains(where: { $0.target == nil }) { return nil }
            if IPTablesInterpreter.topLevelChains.contains(c.table + "/" + c.chain) {
                touched.formUnion(Self.servicesChanged(c.old ?? [], now))
            }
            guard c.table == "nat" else { continue }
            if let hash = Self.serviceChainHash(c.chain), let id = owners[hash] { touched.insert(id) }
            if c.chain.hasPrefix("KUBE-SEP-") {
                for user in endpointUsers[c.chain] ?? [] {
                    if let hash = Self.serviceChainHash(user), let id = owners[hash] { touched.insert(id) }
                }
            }
            if Self.jumpsToEndpoints(c.chain) {
                for sep in Self.endpointTargets(c.old ?? []) { endpointUsers[sep]?.remove(c.chain) }
                for sep in Self.endpointTargets(now) { endpointUsers[sep, default: []].insert(c.chain) }
            }
            cidrsChanged = updateCIDRNotes(c.chain, IPTablesInterpreter.cidrNotes(now, file: file)) || cidrsChanged
        }
        if cidrsChanged { (cidrs, cidrWarnings) = IPTablesInterpreter.foldCIDRNotes(cidrChains.map { cidrNotes[$0]! }) }
        guard !touched.isEmpty else { return result }
        guard let fresh = assemble(touched, nat: nat, filter: filter) else { return nil }
        replace(touched, with: fresh)
        return result
    }

    /// Runs the interpreter on the top-level rules of `touched` only; nil when it warns, throws or claims a chain
    /// another Service claims.
    private mutating func assemble(_ touched: Set<String>, nat: IPTablesTable, filter: IPTablesTable?) -> [Service]? {
        var top: [String: [IPTablesRule]] = [:]
        for key in IPTablesInterpreter.topLevelChains {
            let parts = key.split(separator: "/", maxSplits: 1)
            guard let table = parts[0] == "nat" ? nat : filter else { continue }
            let rules = table.rules(String(parts[1])).filter { r in r.serviceID.map { touched.contains($0) } ?? false }
            if !rules.isEmpty { top[key] = rules }
        }
        var run = IPTablesInterpreter(nat: nat, filter: filter, file: file)
        run.topLevel = top
        guard (try? run.run()) != nil, run.warnings.isEmpty else { return nil }
        var warnings: [String] = []
        let fresh = run.assembler.services(warnings: &warnings)
        guard warnings.isEmpty else { return nil }
        for (hash, spn) in run.owner {
            if let have = owners[hash], have != spn.serviceID, !touched.contains(have) { return nil }
        }
        for id in touched {
            for hash in claims[id] ?? [] where owners[hash] == id { owners[hash] = nil }
            claims[id] = nil
        }
        for (hash, spn) in run.owner { claim(hash, for: spn.serviceID) }
        return fresh
    }

    /// Puts `fresh` (sorted by id) in place of the Services with ids in `touched`.
    private mutating func replace(_ touched: Set<String>, with fresh: [Service]) {
        for id in touched.sorted() {
            let i = Self.position(of: id, in: services)
            let new = fresh.first { $0.id == id }
            let present = i < services.count && services[i].id == id
            switch (present, new) {
            case (true, let s?): services[i] = s
            case (true, nil): services.remove(at: i)
            case (false, let s?): services.insert(s, at: i)
            case (false, nil): break
            }
        }
    }

    /// The first index whose id is not below `id` (`services` is sorted by id).
    private static func position(of id: String, in services: [Service]) -> Int {
        var lo = 0, hi = services.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if services[mid].id < id { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    private mutating func claim(_ hash: String, for id: String) {
        owners[hash] = id
        claims[id, default: []].append(hash)
    }

    /// Whether the chain's notes changed (and records them).
    private mutating func updateCIDRNotes(_ chain: String, _ notes: [IPTablesInterpreter.CIDRNote]) -> Bool {
        guard (cidrNotes[chain] ?? []) != notes else { return false }
        let i = cidrChains.partitioningIndex { $0 >= chain }
        let listed = i < cidrChains.count && cidrChains[i] == chain
        if notes.isEmpty {
            cidrNotes[chain] = nil
            if listed { cidrChains.remove(at: i) }
        } else {
            cidrNotes[chain] = notes
            if !listed { cidrChains.insert(chain, at: i) }
        }
        return true
    }

    /// The Services whose rules in one top-level chain differ between `old` and `new` (added, removed or moved
    /// among themselves). A common head and tail are equal for every Service, so only the middles are compared.
    static func servicesChanged(_ old: [IPTablesRule], _ new: [IPTablesRule]) -> Set<String> {
        var head = 0
        while head < old.count, head < new.count, old[head].text == new[head].text { head += 1 }
        var tail = 0
        while tail < old.count - head, tail < new.count - head,
              old[old.count - 1 - tail].text == new[new.count - 1 - tail].text { tail += 1 }
        func byService(_ rules: ArraySlice<IPTablesRule>) -> [String: [String]] {
            var out: [String: [String]] = [:]
            for r in rules { if let id = r.serviceID { out[id, default: []].append(r.text) } }
            return out
        }
        let a = byService(old[head..<(old.count - tail)]), b = byService(new[head..<(new.count - tail)])
        var out: Set<String> = []
        for (id, texts) in a where b[id] != texts { out.insert(id) }
        for id in b.keys where a[id] == nil { out.insert(id) }
        return out
    }

    /// The hash of a per-service chain (`KUBE-SVC-<hash>` etc.).
    static func serviceChainHash(_ chain: String) -> String? {
        guard let p = IPTablesInterpreter.serviceChainPrefixes.first(where: { chain.hasPrefix($0) }) else { return nil }
        return String(chain.dropFirst(p.count))
    }

    /// The chains the interpreter follows to endpoint chains.
    static func jumpsToEndpoints(_ chain: String) -> Bool {
        chain.hasPrefix("KUBE-SVC-") || chain.hasPrefix("KUBE-SVL-") || chain.hasPrefix("KUBE-XLB-")
    }

    static func endpointTargets(_ rules: [IPTablesRule]) -> [String] {
        rules.compactMap { r in r.target.flatMap { $0.hasPrefix("KUBE-SEP-") ? $0 : nil } }
    }
}

extension ServicePortName {
    /// `namespace/name`, the `Service.id` of its Service.
    var serviceID: String { namespace + "/" + name }
}

extension Array {
    /// The first index whose element satisfies `belongs` (the elements that do must all come after those that do not).
    func partitioningIndex(where belongs: (Element) -> Bool) -> Int {
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if belongs(self[mid]) { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}
