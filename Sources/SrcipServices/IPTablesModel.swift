import Foundation
import SrcipSystem

/// kube-proxy's iptables rules as last read, kept up to date chain by chain. On iptables-nft every sync names the
/// chains it rewrote in nf_tables notifications (`NFTablesChanges`); only those are listed again
/// (`iptables -t TABLE -S CHAIN`, which fetches that chain alone), and only the Services those chains touch are
/// re-assembled from the kept tables (`IPTablesServiceIndex`; all of the family's when it cannot tell). Legacy tables
/// send no notifications and are only ever read whole.
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
        /// `TABLE/CHAIN` → the `IPTablesRuleLog` keys of its rules, in order, when known (see `learnKeys`).
        var keys: [String: [[UInt8]]] = [:]
        /// Keys of listed chains, known once the next log does not touch them (`confirmKeys`).
        var unconfirmedKeys: [String: [[UInt8]]] = [:]
        /// Chains listed with the list tool, and rules printed from notifications, since the full read.
        var listedChains = 0
        var translatedRules = 0
        /// What re-assembles only the Services a change touches; nil when every change is interpreted in full.
        var index: IPTablesServiceIndex?

        init(save: String, text: String) throws {
            self.save = save
            sets = try IPTablesSaveReader.read(text, file: save)
            listTool = save.hasSuffix("-save") ? String(save.dropLast(5)) : nil
            (interpreted, index) = try IPTablesRulesParser.interpretIndexed(sets, file: save)
        }

        /// Re-assembles the Services after `changes` (chains listed again): only those the changes touch when the
        /// index can tell, else all of them.
        mutating func reinterpret(_ changes: [IPTablesServiceIndex.Change]) throws {
            // Taken out of `index`: a second reference would make the index copy its tables when it changes.
            if sets.count == 1, var i = index.take(), let d = i.reassemble(nat: sets[0]["nat"], filter: sets[0]["filter"], changes: changes) {
                index = i
                interpreted = d
                partialCount += 1
                return
            }
            (interpreted, index) = try IPTablesRulesParser.interpretIndexed(sets, file: save)
        }
        /// Re-assemblies that read only the touched Services.
        var partialCount = 0

        var hasKubeProxyRules: Bool { interpreted.hasKubeProxyRules }
        var result: DiscoveredServices {
            var d = interpreted
            d.warnings += notes
            return d
        }

        enum Reread { case same, changed, failed }

        /// Applies `chains` from the `log` where it suffices (`replay`), lists the others again (learning their keys
        /// when `generation()`, read after the listings, is the log's), and re-assembles the Services they touch; false
        /// when a chain cannot be listed.
        mutating func follow(_ chains: [NFTablesChanges.Object], deleted: Set<NFTablesChanges.Object>, log: IPTablesRuleLog,
                             generation: () -> UInt32?, tools: ServiceDiscovery.Tools) throws -> Bool {
            var changed: [IPTablesServiceIndex.Change] = []
            var listed: [NFTablesChanges.Object] = []
            confirmKeys(chains)
            for c in chains.sorted() {
                let old = sets.first?[c.table]?.chains[c.name] == nil ? nil : sets.first?[c.table]?.rules[c.name] ?? []
                var result: Reread
                if !deleted.contains(c), !log.broken, let r = replay(c, log: log.chains[c]) {
                    result = r
                } else {
                    keys[c.table + "/" + c.name] = nil
                    result = try reread(c, deleted: deleted.contains(c), tools: tools)
                    if !deleted.contains(c) { listed.append(c) }
                }
                switch result {
                case .failed: return false
                case .changed: changed.append(IPTablesServiceIndex.Change(table: c.table, chain: c.name, old: old))
                case .same: break
                }
            }
            if !listed.isEmpty {
                listedChains += listed.count
                learnKeys(listed, log: log, current: generation())
            }
            if !changed.isEmpty { try reinterpret(changed) }
            return true
        }

        /// Lists `chain` again (or drops it when its last event was its deletion). `.same` when it was rewritten with
        /// the rules it had (kube-proxy rewrites its top-level chains in every sync); `.failed` when it cannot be listed.
        mutating func reread(_ chain: NFTablesChanges.Object, deleted: Bool, tools: ServiceDiscovery.Tools) throws -> Reread {
            guard let listTool, sets.count == 1 else { return .failed }
            // Out of `sets` while it changes: a second reference would copy its rule dictionary.
            var table = sets[0].removeValue(forKey: chain.table) ?? IPTablesTable(name: chain.table)
            defer { sets[0][chain.table] = table }
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
                let file = ([listTool] + args).joined(separator: " ")
                guard let rules = try Self.rules(of: chain, listing: r.stdout, had: table.rules(chain.name), file: file) else {
                    return .failed
                }
                table.chains[chain.name] = table.chains[chain.name] ?? 0
                table.rules[chain.name] = rules.isEmpty ? nil : rules
            }
            return .changed
        }

        /// The `-A` rules of one chain's listing; rules whose text the chain already had are reused, not parsed
        /// again (kube-proxy rewrites its top-level chains whole on every sync, mostly with the rules they had: the
        /// equal head and tail are matched in order, the rest by text). Nil when a rule is for another chain.
        static func rules(of chain: NFTablesChanges.Object, listing: String, had: [IPTablesRule], file: String) throws -> [IPTablesRule]? {
            var lines: [(number: Int, text: Substring)] = []
            var number = 0
            for bytes in listing.utf8.split(separator: UInt8(ascii: "\n")) {   // bytes: splitting Characters is slow
                number += 1
                let line = Substring(bytes)
                if line.hasPrefix("-A ") { lines.append((number, line.dropFirst(3))) }
            }
            func same(_ rule: IPTablesRule, _ text: Substring) -> Bool {
                let fast = rule.text.utf8.withContiguousStorageIfAvailable { a in
                    text.utf8.withContiguousStorageIfAvailable { b in a.count == b.count && (a.isEmpty || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0) }
                }
                return (fast ?? nil) ?? rule.text.utf8.elementsEqual(text.utf8)
            }
            var head = 0
            while head < had.count, head < lines.count, same(had[head], lines[head].text) { head += 1 }
            var tail = 0
            while tail < had.count - head, tail < lines.count - head,
                  same(had[had.count - 1 - tail], lines[lines.count - 1 - tail].text) { tail += 1 }
            var known: [String: IPTablesRule] = [:]
            for r in had[head..<(had.count - tail)] { known[r.text] = r }
            var rules: [IPTablesRule] = []
            rules.reserveCapacity(lines.count)
            for (i, line) in lines.enumerated() {
                var rule: IPTablesRule
                if i < head {
                    rule = had[i]
                } else if i >= lines.count - tail {
                    rule = had[had.count - (lines.count - i)]
                } else {
                    rule = try known[String(line.text)] ?? IPTablesRule(table: chain.table, text: line.text, line: line.number, file: file)
                }
                guard rule.chain == chain.name else { return nil }
                rule.line = line.number
                rules.append(rule)
            }
            return rules
        }
    }

    var v4: Family
    var v6: Family?
    /// Why IPv6 was not read, when it was not.
    var v6Problem: String?

    /// Chains listed again, and rules printed from notifications instead, so far.
    var listedChains: Int { v4.listedChains + (v6?.listedChains ?? 0) }
    var translatedRules: Int { v4.translatedRules + (v6?.translatedRules ?? 0) }

    /// Re-assemblies so far that read only the Services the changed chains touch.
    var partialReassemblies: Int { v4.partialCount + (v6?.partialCount ?? 0) }

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
    mutating func apply(_ changes: NFTablesChanges, log: IPTablesRuleLog = IPTablesRuleLog(), generation: () -> UInt32? = { nil },
                        tools: ServiceDiscovery.Tools) throws -> Bool {
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
            // In place: a copy of a family would copy its tables' rule dictionaries on the first change.
            if family == NFTablesChanges.familyIPv6, v6 != nil {
                guard try v6!.follow(chains, deleted: changes.deletedChains, log: log, generation: generation, tools: tools) else { return false }
            } else if family == NFTablesChanges.familyIPv4 {
                guard try v4.follow(chains, deleted: changes.deletedChains, log: log, generation: generation, tools: tools) else { return false }
            } else if chains.contains(where: { $0.name.hasPrefix("KUBE-") }) {
                return false
            }
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
