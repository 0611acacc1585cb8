import SrcipCore
import SrcipJSON

/// The Services read from each partition of a kept table (`NFTPartitionIndex`) and the Services assembled from them.
struct NFTServiceCache {
    struct Part {
        var facts: [ServicePortName: ServicePortFacts]
        var cidrs: [IPPrefix]
        var warnings: [String]
    }

    var parts: [String: Part] = [:]
    /// Partitions with warnings (a few; sorted when the result is put together).
    var warned: Set<String> = []
    /// `namespace/name` → the partitions with facts for it.
    var groupParts: [String: Set<String>] = [:]
    var groups: [String: (services: [Service], warnings: [String])] = [:]
    var sortedGroups: [String] = []
    /// Addresses reported as externalIPs (`NFTablesInterpreter`'s closing warning counts them).
    var ambiguous = 0
}

extension NFTKeptTable {
    static let ambiguousPrefix = "nftables rules do not tell externalIPs from LoadBalancer IPs"

    /// The Services of the table as `NFTablesInterpreter` reads them from the whole table, reading again only the
    /// partitions that changed since the last call; a full read when some element belongs to no partition.
    mutating func services() throws -> DiscoveredServices {
        do {
            return try incremental()
        } catch {
            index.all = true   // partitions may have been read halfway: read them all next time
            throw error
        }
    }

    private mutating func incremental() throws -> DiscoveredServices {
        var dirty = index.dirty
        if index.all {
            rebuildIndex()
            cache = NFTServiceCache()
            dirty = index.partitions
        }
        guard index.unattributable == 0 else { return try fullRead() }
        index.dirty = []
        index.all = false
        var dirtyGroups: Set<String> = []
        for p in dirty {
            if let old = cache.parts.removeValue(forKey: p) {
                for spn in old.facts.keys { dirtyGroups.insert(Self.group(spn)); cache.groupParts[Self.group(spn)]?.remove(p) }
                cache.ambiguous -= old.facts.values.reduce(0) { $0 + $1.externalIPs.count }
            }
            cache.warned.remove(p)
            let part = try read(partition: p)
            for spn in part.facts.keys {
                guard Self.partition(of: spn) == p else { return try fullRead() }
                dirtyGroups.insert(Self.group(spn))
                cache.groupParts[Self.group(spn), default: []].insert(p)
            }
            cache.ambiguous += part.facts.values.reduce(0) { $0 + $1.externalIPs.count }
            if !part.warnings.isEmpty { cache.warned.insert(p) }
            if !part.facts.isEmpty || !part.warnings.isEmpty { cache.parts[p] = part }
        }
        for g in dirtyGroups { assemble(g) }
        // Cluster CIDRs in the interpreter's order: only the same list everywhere can be put together without it.
        var cidrs: [IPPrefix] = []
        for part in cache.parts.values where !part.cidrs.isEmpty && part.cidrs != cidrs {
            guard cidrs.isEmpty else { return try fullRead() }
            cidrs = part.cidrs
        }
        var warnings = cache.warned.sorted().flatMap { cache.parts[$0]?.warnings ?? [] }
        if cache.ambiguous > 0 {
            warnings.append(Self.ambiguousPrefix + "; \(cache.ambiguous) address(es) without source ranges are reported as externalIPs")
        }
        var services: [Service] = []
        services.reserveCapacity(cache.sortedGroups.count)
        for g in cache.sortedGroups {
            guard let entry = cache.groups[g] else { continue }
            services += entry.services
            warnings += entry.warnings
        }
        return DiscoveredServices(services: services, clusterCIDRs: cidrs, source: "nftables", warnings: warnings,
                                  structures: family == 10 ? .nftablesIPv6 : .nftablesIPv4)
    }

    static func group(_ spn: ServicePortName) -> String { "\(spn.namespace)/\(spn.name)" }

    static func partition(of spn: ServicePortName) -> String {
        "\(spn.namespace)/\(spn.name)/\(spn.proto.description)/\(spn.port)"
    }

    private mutating func assemble(_ g: String) {
        var assembler = ServiceAssembler()
        for p in cache.groupParts[g] ?? [] {
            for (spn, f) in cache.parts[p]?.facts ?? [:] where Self.group(spn) == g { assembler.update(spn) { $0 = f } }
        }
        var warnings: [String] = []
        let services = assembler.services(warnings: &warnings)
        let (at, present) = Self.search(cache.sortedGroups, g)
        if services.isEmpty && warnings.isEmpty {
            cache.groups[g] = nil
            cache.groupParts[g] = nil
            if present { cache.sortedGroups.remove(at: at) }
        } else {
            cache.groups[g] = (services, warnings)
            if !present { cache.sortedGroups.insert(g, at: at) }
        }
    }

    /// Binary search: where `key` is or would go.
    private static func search(_ list: [String], _ key: String) -> (Int, Bool) {
        var lo = 0, hi = list.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if list[mid] < key { lo = mid + 1 } else { hi = mid }
        }
        return (lo, lo < list.count && list[lo] == key)
    }

    /// The whole table read at once (and every partition read again next time).
    private mutating func fullRead() throws -> DiscoveredServices {
        index.all = true
        fullReads += 1
        try render()
        var interpreter = NFTablesInterpreter(table: view, file: NFTablesFollower.file)
        try interpreter.run()
        var warnings = interpreter.warnings
        let services = interpreter.assembler.services(warnings: &warnings)
        return DiscoveredServices(services: services, clusterCIDRs: interpreter.clusterCIDRs, source: "nftables",
                                  warnings: warnings, structures: family == 10 ? .nftablesIPv6 : .nftablesIPv4)
    }

    /// Runs the interpreter on the objects of one partition.
    private mutating func read(partition p: String) throws -> NFTServiceCache.Part {
        var t = NFTablesKubeProxyTable(family: view.family)
        var addresses: Set<[UInt8]> = []
        var noEndpointAddresses: Set<[UInt8]> = []
        for m in ["service-ips", "no-endpoint-services"] {
            for id in index.members[m]?[p] ?? [] {
                addresses.insert(Array(id.key.prefix(index.addressLength)))
                if m == "no-endpoint-services" { noEndpointAddresses.insert(Array(id.key.prefix(index.addressLength))) }
            }
        }
        for m in NFTPartitionIndex.maps where sets[m] != nil {
            var ids = index.members[m]?[p] ?? []
            if m == "firewall-ips" { for a in addresses { ids.formUnion(index.firewallByAddress[a] ?? []) } }
            t.maps[m] = try body(m, ids)
        }
        if sets["cluster-ips"] != nil {
            let ids = noEndpointAddresses.map { ElementID(key: $0, end: false) }.filter { elements["cluster-ips"]?[$0] != nil }
            t.sets["cluster-ips"] = try body("cluster-ips", ids)
        }
        var chains = index.chainsBySuffix[p] ?? []
        var queue = Array(chains)
        var looked: Set<String> = chains
        while let c = queue.popLast() {
            for r in view.rules[c] ?? [] {
                for target in NFTablesInterpreter.targets(in: r.value) where looked.insert(target).inserted {
                    if view.chains.contains(target) { chains.insert(target); queue.append(target) }
                }
            }
        }
        index.depend(p, on: looked)
        for c in chains {
            t.chains.insert(c)
            t.rules[c] = view.rules[c]
        }
        for name in index.setsBySuffix[p] ?? [] { t.sets[name] = try body(name, []) }
        var interpreter = NFTablesInterpreter(table: t, file: NFTablesFollower.file)
        try interpreter.run()
        return NFTServiceCache.Part(facts: interpreter.assembler.facts, cidrs: interpreter.clusterCIDRs,
                                    warnings: interpreter.warnings.filter { !$0.hasPrefix(Self.ambiguousPrefix) })
    }

    /// Builds the index from the kept objects (after a set of the five maps was created or deleted).
    private mutating func rebuildIndex() {
        var fresh = NFTPartitionIndex(addressLength: index.addressLength)
        for c in view.chains { fresh.chainChanged(c, deleted: false) }
        for (name, info) in sets where !info.isAnonymous {
            fresh.setChanged(name, deleted: false)
            for e in (elements[name] ?? [:]).values { fresh.elementChanged(set: name, e, deleted: false) }
        }
        index = fresh
    }
}
