/// Which objects of a kept kube-proxy table each Service port is read from, so a commit that touches one Service
/// re-reads only that Service. A partition is named by the suffix of the Service port's chains (`ns/name/proto/port`):
/// it holds the elements of the five kube-proxy maps that go to its chains (or, in the no-endpoint maps, name it in
/// their comment), its chains (`service-`, `local-`, `external-`, `firewall-`, `endpoint-…__ip/port`) and its
/// `affinity-` sets. Elements that belong to no partition make every read a full one (`unattributable`).
struct NFTPartitionIndex {
    typealias ElementID = NFTKeptTable.ElementID
    static let maps: Set<String> = ["service-ips", "service-nodeports", "firewall-ips", "no-endpoint-services", "no-endpoint-nodeports"]
    /// Sets whose elements only answer "is this address in it" for the partitions that have that address.
    static let addressSets: Set<String> = ["cluster-ips", "firewall-ips"]

    let addressLength: Int
    /// map → element → partition.
    private(set) var owners: [String: [ElementID: String]] = [:]
    /// map → partition → its elements.
    private(set) var members: [String: [String: Set<ElementID>]] = [:]
    /// Elements of the five maps that belong to no partition.
    private(set) var unattributable = 0
    /// Address → partitions with a service-ips / no-endpoint-services element for it, counted.
    private var byAddress: [[UInt8]: [String: Int]] = [:]
    /// Address → firewall-ips elements for it.
    private(set) var firewallByAddress: [[UInt8]: Set<ElementID>] = [:]
    private(set) var chainsBySuffix: [String: Set<String>] = [:]
    private(set) var setsBySuffix: [String: Set<String>] = [:]
    /// Chain → partitions whose last read included it or looked for it, and the other way round.
    private var chainDeps: [String: Set<String>] = [:]
    private var partitionDeps: [String: Set<String>] = [:]
    /// Partitions to read again; `all` when every one must be.
    var dirty: Set<String> = []
    var all = true

    init(addressLength: Int) { self.addressLength = addressLength }

    /// Every partition that has elements.
    var partitions: Set<String> {
        var out: Set<String> = []
        for m in members.values { out.formUnion(m.keys) }
        return out
    }

    /// `service-…`/`endpoint-…` chain or `affinity-…` set → the partition it belongs to (the part before `__`).
    static func partition(ofObject name: String) -> String? {
        guard let (_, suffix) = NFTablesInterpreter.splitChain(name) else { return nil }
        guard let sep = suffix.firstRange(of: "__") else { return suffix }
        return String(suffix[..<sep.lowerBound])
    }

    private func owner(_ map: String, _ e: NFTNetlink.Element) -> String? {
        switch e.data {
        case .verdict(.goto(let t))?, .verdict(.jump(let t))?:
            if let p = Self.partition(ofObject: t) { return p }
        default: break
        }
        guard map.hasPrefix("no-endpoint-"), let comment = e.comment else { return nil }
        let protoAt = map == "no-endpoint-services" ? addressLength : 0
        guard protoAt < e.key.count, let proto = [6: "tcp", 17: "udp", 132: "sctp"][e.key[protoAt]],
              let spn = ServicePortName(comment, proto: .tcp) else { return nil }
        return "\(spn.namespace)/\(spn.name)/\(proto)/\(spn.port)"
    }

    private func address(_ e: NFTNetlink.Element) -> [UInt8] { Array(e.key.prefix(addressLength)) }

    mutating func elementChanged(set: String, _ e: NFTNetlink.Element, deleted: Bool) {
        let id = ElementID(key: e.key, end: e.isIntervalEnd)
        if set == "cluster-ips" || set == "firewall-ips" {
            dirty.formUnion(byAddress[address(e)].map { Array($0.keys) } ?? [])
            if set == "firewall-ips" {
                if deleted { firewallByAddress[address(e)]?.remove(id) } else { firewallByAddress[address(e), default: []].insert(id) }
            }
        }
        guard Self.maps.contains(set) else { return }
        if let old = owners[set]?.removeValue(forKey: id) {
            if old == Self.noOwner {
                unattributable -= 1
            } else {
                members[set]?[old]?.remove(id)
                if members[set]?[old]?.isEmpty == true { members[set]![old] = nil }
                count(set, e, old, -1)
                dirty.insert(old)
            }
        }
        guard !deleted else { return }
        if let new = owner(set, e) {
            owners[set, default: [:]][id] = new
            members[set, default: [:]][new, default: []].insert(id)
            count(set, e, new, 1)
            dirty.insert(new)
        } else {
            owners[set, default: [:]][id] = Self.noOwner
            unattributable += 1
        }
    }

    /// Stands for "no partition" in `owners` (a suffix never contains NUL).
    static let noOwner = "\u{0}"

    private mutating func count(_ set: String, _ e: NFTNetlink.Element, _ p: String, _ delta: Int) {
        guard set == "service-ips" || set == "no-endpoint-services" else { return }
        let a = address(e)
        byAddress[a, default: [:]][p, default: 0] += delta
        if byAddress[a]?[p] == 0 { byAddress[a]![p] = nil }
        if byAddress[a]?.isEmpty == true { byAddress[a] = nil }
    }

    /// Records the chains the last read of `p` included or looked for.
    mutating func depend(_ p: String, on chains: Set<String>) {
        for c in partitionDeps[p] ?? [] {
            chainDeps[c]?.remove(p)
            if chainDeps[c]?.isEmpty == true { chainDeps[c] = nil }
        }
        partitionDeps[p] = chains.isEmpty ? nil : chains
        for c in chains { chainDeps[c, default: []].insert(p) }
    }

    mutating func chainChanged(_ name: String, deleted: Bool?) {
        if let p = Self.partition(ofObject: name) {
            dirty.insert(p)
            if deleted == true { chainsBySuffix[p]?.remove(name) } else if deleted == false { chainsBySuffix[p, default: []].insert(name) }
        }
        dirty.formUnion(chainDeps[name] ?? [])
    }

    mutating func setChanged(_ name: String, deleted: Bool) {
        if Self.maps.contains(name) || name == "cluster-ips" {
            all = true
            return
        }
        guard name.hasPrefix("affinity-"), let p = Self.partition(ofObject: name) else { return }
        dirty.insert(p)
        if deleted { setsBySuffix[p]?.remove(name) } else { setsBySuffix[p, default: []].insert(name) }
    }
}
