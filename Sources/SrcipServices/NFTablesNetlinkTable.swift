import SrcipJSON

/// One family's `kube-proxy` table, kept from nf_tables netlink messages (a dump, then the notifications of every
/// commit): chains, rules in chain order (as `nft -j` statements, translated once when they arrive), sets with their
/// elements. `view` is the table as `NFTablesInterpreter` reads it. A message this model cannot apply exactly throws
/// `NFTRuleTranslator.Unsupported`; the table must then be read again in full.
struct NFTKeptTable {
    typealias Unsupported = NFTRuleTranslator.Unsupported

    /// An element's identity in its set: the key, and whether it is the end of an interval.
    struct ElementID: Hashable {
        var key: [UInt8]
        var end: Bool
    }

    let family: UInt8
    private(set) var view: NFTablesKubeProxyTable
    private var handles: [String: [UInt64]] = [:]
    private(set) var sets: [String: NFTNetlink.SetInfo] = [:]
    private(set) var elements: [String: [ElementID: NFTNetlink.Element]] = [:]
    /// Named sets whose `view` entry is out of date.
    private var dirty: Set<String> = []
    /// What each Service port is read from, and the Services read so far (`NFTablesIncremental`).
    var index: NFTPartitionIndex
    var cache = NFTServiceCache()
    /// Reads of the whole table (instead of the changed partitions) so far.
    var fullReads = 0

    var familyName: String { family == 10 ? "ip6" : "ip" }

    init(family: UInt8) {
        self.family = family
        view = NFTablesKubeProxyTable(family: family == 10 ? "ip6" : "ip")
        index = NFTPartitionIndex(addressLength: family == 10 ? 16 : 4)
    }

    mutating func apply(_ m: NFTNetlink.Message) throws {
        switch m {
        case .chain(_, _, let name, let deleted):
            if deleted {
                view.chains.remove(name)
                view.rules[name] = nil
                handles[name] = nil
            } else {
                view.chains.insert(name)
            }
            index.chainChanged(name, deleted: deleted)
        case .rule(let r, let deleted):
            try apply(rule: r, deleted: deleted)
            index.chainChanged(r.chain, deleted: nil)
        case .set(let info, let deleted):
            if deleted {
                sets[info.name] = nil
                elements[info.name] = nil
            } else {
                sets[info.name] = info
                if elements[info.name] == nil { elements[info.name] = [:] }
            }
            if !info.isAnonymous {
                dirty.insert(info.name)
                index.setChanged(info.name, deleted: deleted)
            }
        case .elements(_, _, let set, let list, let deleted):
            guard sets[set] != nil else { throw Unsupported(problem: "elements of unknown set \(set)") }
            guard !list.isEmpty || !deleted else { throw Unsupported(problem: "set \(set) flushed without its elements") }
            for e in list {
                let id = ElementID(key: e.key, end: e.isIntervalEnd)
                if deleted {
                    guard elements[set]?.removeValue(forKey: id) != nil else { throw Unsupported(problem: "deleted element unknown in \(set)") }
                } else {
                    elements[set]![id] = e
                }
                index.elementChanged(set: set, e, deleted: deleted)
            }
            if sets[set]?.isAnonymous == false { dirty.insert(set) }
        default:
            throw Unsupported(problem: "message \(m)")
        }
    }

    private mutating func apply(rule r: NFTNetlink.Rule, deleted: Bool) throws {
        guard view.chains.contains(r.chain) else { throw Unsupported(problem: "rule of unknown chain \(r.chain)") }
        var list = handles[r.chain] ?? []
        if deleted {
            guard let i = list.firstIndex(of: r.handle) else { throw Unsupported(problem: "deleted rule \(r.handle) unknown") }
            list.remove(at: i)
            view.rules[r.chain]!.remove(at: i)
            handles[r.chain] = list
            return
        }
        let sets = sets, elements = elements
        var translator = NFTRuleTranslator(family: family) { name in
            sets[name].map { ($0, Array((elements[name] ?? [:]).values)) }
        }
        var body: [String: JSONValue] = ["family": .string(familyName), "table": .string("kube-proxy"), "chain": .string(r.chain),
                                         "handle": .integer(Int64(r.handle)), "expr": .array(try translator.statements(r.expressions))]
        if let c = r.comment { body["comment"] = .string(c) }
        let node = JSONNode(value: .object(body), parent: nil, file: NFTablesFollower.file)
        let at: Int
        if let p = r.position {
            guard let i = list.firstIndex(of: p) else { throw Unsupported(problem: "rule placed after unknown rule \(p)") }
            at = i + 1
        } else {
            at = r.appended ? list.count : 0
        }
        list.insert(r.handle, at: at)
        handles[r.chain] = list
        view.rules[r.chain, default: []].insert(node, at: at)
    }

    /// Brings the named sets of `view` up to date.
    mutating func render() throws {
        for name in dirty {
            view.maps[name] = nil
            view.sets[name] = nil
            guard let info = sets[name] else { continue }
            let node = try body(name, (elements[name] ?? [:]).keys)
            if info.isMap { view.maps[name] = node } else { view.sets[name] = node }
        }
        dirty = []
    }

    /// A named set or map as `nft -j` prints it, with the elements `ids` (those it has).
    func body(_ name: String, _ ids: some Collection<ElementID>) throws -> JSONNode {
        guard let info = sets[name] else { throw Unsupported(problem: "set \(name) unknown") }
        var body: [String: JSONValue] = ["family": .string(familyName), "name": .string(name), "table": .string("kube-proxy")]
        let have = elements[name] ?? [:]
        let list = ids.compactMap { have[$0] }
        if !list.isEmpty {
            body["elem"] = .array(try NFTSetRendering.elements(info, list, kinds: try NFTSetRendering.fields(info)))
        }
        if let t = info.timeoutMs { body["timeout"] = .integer(Int64(t / 1000)) }
        if info.isMap { body["map"] = .string(info.dataType == 0xffffff00 ? "verdict" : "data") }
        return JSONNode(value: .object(body), parent: nil, file: NFTablesFollower.file)
    }
}
