import SrcipSystem

/// kube-proxy's iptables rules as last read, kept up to date chain by chain. On iptables-nft every sync names the
/// chains it rewrote in nf_tables notifications (`NFTablesChanges`); only those are listed again
/// (`iptables -t TABLE -S CHAIN`, which fetches that chain alone) and the family's Services are re-assembled from the
/// kept tables. Legacy tables send no notifications and are only ever read whole.
struct IPTablesModel {
    /// One family's tables as read by one tool.
    struct Family {
        /// The save tool the tables were first read with (`iptables-save`, `ip6tables-nft-save`, …).
        let save: String
        /// The tool that lists one chain of the same backend; nil when chains cannot be followed (legacy backend).
        var listTool: String?
        /// nat and filter tables per rule set (one set per save run).
        var sets: [[String: IPTablesTable]]
        /// Notes about how the tables were read (another backend), appended to the warnings.
        var notes: [String] = []
        /// The Services of `sets`.
        var interpreted: DiscoveredServices
        /// `TABLE/CHAIN` → the listing it was last read from (chains listed since the full read only).
        var listings: [String: String] = [:]

        init(save: String, text: String) throws {
            self.save = save
            sets = try IPTablesSaveReader.read(text, file: save)
            listTool = save.hasSuffix("-save") ? String(save.dropLast(5)) : nil
            interpreted = try IPTablesRulesParser.interpret(sets, file: save)
        }

        var hasKubeProxyRules: Bool { interpreted.hasKubeProxyRules }
        var result: DiscoveredServices {
            var d = interpreted
            d.warnings += notes
            return d
        }

        enum Reread { case same, changed, failed }

        /// Lists `chain` again (or drops it when its last event was its deletion). `.same` when it was rewritten with
        /// the rules it had (kube-proxy rewrites its top-level chains in every sync); `.failed` when it cannot be listed.
        mutating func reread(_ chain: NFTablesChanges.Object, deleted: Bool, tools: ServiceDiscovery.Tools) throws -> Reread {
            guard let listTool, sets.count == 1 else { return .failed }
            var table = sets[0][chain.table] ?? IPTablesTable(name: chain.table)
            let key = chain.table + "/" + chain.name
            if deleted {
                listings[key] = nil
                table.rules[chain.name] = nil
                table.chains[chain.name] = nil
            } else {
                let args = ["-t", chain.table, "-S", chain.name]
                let r = try tools.result(listTool, args, aptPackage: "iptables")
                guard r.status == 0 else { return .failed }
                if listings[key] == r.stdout, table.chains[chain.name] != nil { return .same }
                listings[key] = r.stdout
                table.rules[chain.name] = nil
                let file = ([listTool] + args).joined(separator: " ")
                table.chains[chain.name] = table.chains[chain.name] ?? 0
                var line = 0
                for text in r.stdout.split(separator: "\n") {
                    line += 1
                    guard text.hasPrefix("-A ") else { continue }
                    let rule = try IPTablesRule(table: chain.table, text: text.dropFirst(3), line: line, file: file)
                    guard rule.chain == chain.name else { return .failed }
                    table.rules[chain.name, default: []].append(rule)
                }
            }
            sets[0][chain.table] = table
            return .changed
        }
    }

    var v4: Family
    var v6: Family?
    /// Why IPv6 was not read, when it was not.
    var v6Problem: String?

    /// The Services of both families. A family without kube-proxy chains adds nothing, not even its "no kube-proxy
    /// chains" warning, when the other has them: an IPv6-only cluster is read from ip6tables alone.
    func services() -> DiscoveredServices {
        var d: DiscoveredServices
        switch (v4.hasKubeProxyRules, v6?.hasKubeProxyRules ?? false) {
        case (_, false): d = v4.result
        case (false, true): d = v6!.result
        case (true, true):
            d = v4.result
            d.merge(v6!.result)
        }
        if let v6Problem { d.warnings.append(v6Problem) }
        return d
    }

    /// Applies what the notifications name: lists the changed nat/filter chains again and re-assembles the families
    /// they belong to. False when that is not enough (lost notifications, a table created or deleted, a family not
    /// followed, a chain that cannot be listed, kube-proxy's nftables table appearing): read everything then.
    mutating func apply(_ changes: NFTablesChanges, tools: ServiceDiscovery.Tools) throws -> Bool {
        guard !changes.unknown else { return false }
        let ipFamilies: Set<UInt8> = [NFTablesChanges.familyIPv4, NFTablesChanges.familyIPv6]
        let followed: Set<String> = ["nat", "filter"]
        if changes.tables.contains(where: { ipFamilies.contains($0.family) && (followed.contains($0.table) || $0.table == "kube-proxy") }) {
            return false
        }
        var byFamily: [UInt8: [NFTablesChanges.Object]] = [:]
        for c in changes.chains where ipFamilies.contains(c.family) {
            if c.table == "kube-proxy" { return false }
            if followed.contains(c.table) { byFamily[c.family, default: []].append(c) }
        }
        for (family, chains) in byFamily {
            let isV6 = family == NFTablesChanges.familyIPv6
            guard var f = isV6 ? v6 : v4 else {
                if chains.contains(where: { $0.name.hasPrefix("KUBE-") }) { return false }
                continue
            }
            var changed = false
            for c in chains.sorted() {
                switch try f.reread(c, deleted: changes.deletedChains.contains(c), tools: tools) {
                case .failed: return false
                case .changed: changed = true
                case .same: break
                }
            }
            guard changed else { continue }
            f.interpreted = try IPTablesRulesParser.interpret(f.sets, file: f.save)
            if isV6 { v6 = f } else { v4 = f }
        }
        return true
    }
}

extension ServiceDiscovery.Tools {
    /// Status and output of `tool args…` (in the netns, if any), whatever the status.
    func result(_ tool: String, _ args: [String], aptPackage: String) throws(ServiceSourceError) -> CommandResult {
        guard Command.locate(tool) != nil else { throw .toolMissing(tool: tool, aptPackage: aptPackage) }
        do {
            if let netns { return try Command.run("ip", ["netns", "exec", netns, tool] + args) }
            return try Command.run(tool, args)
        } catch {
            throw ServiceSourceError(error)
        }
    }
}
