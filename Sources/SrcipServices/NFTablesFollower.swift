/// Follows kube-proxy's nftables tables (`ip kube-proxy`, `ip6 kube-proxy`) from nf_tables notifications, so a refresh
/// needs no `nft` process: `seed` dumps the tables over netlink at a known generation, `feed` collects each commit's
/// messages and applies them when its NEWGEN arrives (commits the dump already holds are skipped), `services` runs
/// `NFTablesInterpreter` on the kept tables. Whatever cannot be applied exactly (lost messages, a table created or
/// deleted, an expression or set type the translation does not know, a message that does not fit) makes the follower
/// `stale`: only a new `seed` (with a full read) makes it usable again.
struct NFTablesFollower {
    static let file = "nf_tables notifications"
    static let table = "kube-proxy"

    private var tables: [UInt8: NFTKeptTable] = [:]
    private var seededGeneration: UInt32 = 0
    private var transaction: [NFTNetlink.Message] = []
    /// Why the kept tables cannot be used (nil when they can).
    private(set) var staleReason: String? = "not read yet"
    /// Commits applied since the last `services()`.
    private(set) var applied = 0

    var isUsable: Bool { staleReason == nil }

    /// Reads of a whole kept table (a partition without owner, differing cluster CIDRs) since the last seed.
    var fullTableReads: Int { tables.values.reduce(0) { $0 + $1.fullReads } }

    mutating func markStale(_ why: String) {
        if staleReason == nil { staleReason = why }
        tables = [:]
        transaction = []
    }

    /// Reads both families' tables with `dumper` (retried when a commit lands during the dump).
    mutating func seed(_ dumper: NFTablesNetlinkDumper) throws {
        var lastProblem = ""
        for _ in 0..<3 {
            let before = try dumper.generation()
            var read: [UInt8: NFTKeptTable] = [:]
            do {
                for family: UInt8 in [2, 10] { read[family] = try Self.dumpTable(dumper, family: family) }
            } catch let e as NFTRuleTranslator.Unsupported {
                markStale(e.description)
                return
            }
            guard try dumper.generation() == before else {
                lastProblem = "the ruleset changed during every dump"
                continue
            }
            tables = read.compactMapValues { $0 }
            // Read every Service port now, as part of this full read, so that the next change reads only its own.
            for f in tables.keys { _ = try? tables[f]!.services() }
            seededGeneration = before
            transaction = []
            staleReason = nil
            return
        }
        markStale(lastProblem)
    }

    private static func dumpTable(_ dumper: NFTablesNetlinkDumper, family: UInt8) throws -> NFTKeptTable? {
        guard try dumper.tableExists(family: family, table: table),
              let chains = try dumper.dump(.getChain, family: family, table: table),
              let sets = try dumper.dump(.getSet, family: family, table: table) else { return nil }
        var kept = NFTKeptTable(family: family)
        for m in chains { if case .chain(_, table, _, false) = m { try kept.apply(m) } }
        for m in sets {
            guard case .set(let info, false) = m, info.table == table else { continue }
            try kept.apply(m)
            for e in try dumper.elements(family: family, table: table, set: info.name) ?? [] { try kept.apply(e) }
        }
        for m in try dumper.dump(.getRule, family: family, table: table) ?? [] {
            if case .rule(let r, false) = m, r.table == table { try kept.apply(m) }
        }
        return kept
    }

    /// Takes a buffer of notifications (ignored while stale: the next `seed` dumps the tables anyway).
    mutating func feed(_ buffer: UnsafeRawBufferPointer) {
        // Stale tables wait for a new seed: whatever is queued now belongs to commits that seed will skip.
        guard isUsable else { return }
        let messages: [NFTNetlink.Message]
        do {
            messages = try NFTNetlink.decode(buffer)
        } catch {
            return markStale("\(error)")
        }
        for m in messages {
            guard case .generation(let id) = m else {
                transaction.append(m)
                continue
            }
            let commit = transaction
            transaction = []
            // Generations wrap; a commit at or before the dumped one is already in the tables.
            guard isUsable, Int32(bitPattern: id &- seededGeneration) > 0 else { continue }
            apply(commit)
        }
    }

    private mutating func apply(_ commit: [NFTNetlink.Message]) {
        for m in commit {
            let target: (family: UInt8, table: String)?
            switch m {
            case .table(let f, let t, _):
                if t == Self.table, f == 2 || f == 10 { return markStale("table \(t) created or deleted") }
                target = nil
            case .chain(let f, let t, _, _): target = (f, t)
            case .rule(let r, _): target = (r.family, r.table)
            case .set(let s, _): target = (s.family, s.table)
            case .elements(let f, let t, _, _, _): target = (f, t)
            case .other(let kind): return markStale("nf_tables message \(kind)")
            default: target = nil
            }
            guard let target, target.table == Self.table, target.family == 2 || target.family == 10 else { continue }
            guard tables[target.family] != nil else { return markStale("\(Self.table) table of family \(target.family) appeared") }
            do {
                try tables[target.family]!.apply(m)
            } catch {
                return markStale("\(error)")
            }
        }
        applied += 1
    }

    /// The Services of the kept tables, as `NFTablesRulesParser` reads them from `nft -j list ruleset`.
    mutating func services() throws -> DiscoveredServices {
        applied = 0
        var result = DiscoveredServices(services: [], source: "nftables")
        if tables.isEmpty {
            result.warnings.append("\(Self.file): no `table ip kube-proxy` / `table ip6 kube-proxy` in the ruleset")
        }
        let families: [UInt8] = [2, 10].filter { tables[$0] != nil }
        for family in families {
            let found = try tables[family]!.services()
            if families.count == 1 {
                // What `merge` does to the first family, without folding thousands of Services into an empty list.
                result.services = found.services
                result.clusterCIDRs = found.clusterCIDRs
                result.warnings = found.warnings.map { InputLimits.excerpt($0, limit: 400) }
                result.structures = found.structures
            } else {
                result.merge(found)
            }
        }
        return result
    }
}
