import SrcipCore

/// Reads one family's nat + filter tables into per-port facts.
struct IPTablesInterpreter {
    let nat: IPTablesTable?
    let filter: IPTablesTable?
    let file: String
    var assembler = ServiceAssembler()
    var clusterCIDRs: [IPPrefix] = []
    var warnings: [String] = []
    /// The kube-proxy chains this family's tables have.
    private(set) var structures: KubeProxyStructures = []
    /// Per-service chain hash (the 16 characters after `KUBE-SVC-` etc.) → its service port.
    private(set) var owner: [String: ServicePortName] = [:]
    private var ownerOrder: [String] = []
    /// What each nat chain says about the cluster CIDRs (chains that say nothing are left out).
    private(set) var cidrNotes: [String: [CIDRNote]] = [:]
    /// The warnings of `cidrNotes` (also in `warnings`).
    private(set) var cidrWarnings: [String] = []
    /// When set, the rules of the top-level chains (`IPTablesInterpreter.topLevelChains`, by `table/chain`) to read
    /// instead of the tables' own: a partial run that assembles only the Services these rules name. It leaves the
    /// cluster CIDRs and the target check to its caller.
    var topLevel: [String: [IPTablesRule]]?

    static let serviceChainPrefixes = ["KUBE-SVC-", "KUBE-SVL-", "KUBE-EXT-", "KUBE-FW-", "KUBE-XLB-"]
    /// The chains whose rules name Services in their comments, as `table/chain`.
    static let topLevelChains: Set<String> = ["nat/KUBE-SERVICES", "nat/KUBE-NODEPORTS", "filter/KUBE-NODEPORTS",
                                              "filter/KUBE-SERVICES", "filter/KUBE-EXTERNAL-SERVICES",
                                              "filter/KUBE-PROXY-FIREWALL"]

    init(nat: IPTablesTable?, filter: IPTablesTable?, file: String) {
        self.nat = nat
        self.filter = filter
        self.file = file
    }

    /// The rules of a top-level chain this run reads.
    private func topRules(_ table: IPTablesTable, _ chain: String) -> [IPTablesRule] {
        guard let topLevel else { return table.rules(chain) }
        return topLevel[table.name + "/" + chain] ?? []
    }

    /// The kube-proxy chains of one family's tables.
    static func structures(nat: IPTablesTable?, filter: IPTablesTable?) -> KubeProxyStructures {
        var s: KubeProxyStructures = []
        if nat?.chains["KUBE-SERVICES"] != nil { s.insert(.iptablesNAT) }
        if filter.map({ $0.chains.keys.contains { $0.hasPrefix("KUBE-") } }) ?? false { s.insert(.iptablesFilter) }
        return s
    }

    mutating func run() throws {
        structures = Self.structures(nat: nat, filter: filter)
        let natHasKube = structures.contains(.iptablesNAT)
        if structures.isEmpty {
            warnings.append("\(file): no kube-proxy chains (KUBE-SERVICES) in this rule set")
            return
        }
        if !natHasKube {
            warnings.append("\(file): nat table \(nat == nil ? "missing" : "has no KUBE-SERVICES chain"); "
                            + "only Services without endpoints (filter table) are visible")
        }
        if topLevel == nil { try Self.requireTargets([nat, filter].compactMap { $0 }, file: file) }
        // filter first: its "has no local endpoints" rules tell Local policies that nat rules may not show.
        if let filter { try readFilter(filter) }
        if let nat {
            try readServiceFrontends(nat)
            try readNodePorts(nat)
            if topLevel == nil {
                for (chain, rules) in nat.rules {
                    let notes = Self.cidrNotes(rules, file: file)
                    if !notes.isEmpty { cidrNotes[chain] = notes }
                }
                let (cidrs, w) = Self.foldCIDRNotes(cidrNotes.keys.sorted().map { cidrNotes[$0]! })
                clusterCIDRs = cidrs
                warnings += w
                cidrWarnings = w
            }
            for hash in ownerOrder { try readServiceChains(nat, hash: hash, spn: owner[hash]!) }
        }
    }

    /// Every kube-proxy rule that srcip reads ends in `-j`; one without (a line cut before its target) would silently
    /// drop an endpoint or frontend. KUBE-FW's "other traffic … will be dropped" rule is the one legitimate exception.
    static func requireTargets(_ tables: [IPTablesTable], file: String) throws {
        let bad = tables.flatMap { table in
            table.rules.filter { chain, _ in needsTargets(chain) }.flatMap { $0.value.filter { $0.target == nil } }
        }
        if let first = bad.min(by: { $0.line < $1.line }) {
            throw ServiceSourceError.malformedLine(file: file, line: first.line, problem: "rule in \(first.chain) has no -j target (line cut?)")
        }
    }

    /// Whether every rule of `chain` must end in `-j` (see `requireTargets`).
    static func needsTargets(_ chain: String) -> Bool {
        let prefixes = ["KUBE-SVC-", "KUBE-SVL-", "KUBE-EXT-", "KUBE-XLB-", "KUBE-SEP-"]
        let fixed: Set<String> = ["KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-EXTERNAL-SERVICES", "KUBE-PROXY-FIREWALL"]
        return fixed.contains(chain) || prefixes.contains { chain.hasPrefix($0) }
    }

    // MARK: nat

    private mutating func readServiceFrontends(_ nat: IPTablesTable) throws {
        for rule in topRules(nat, "KUBE-SERVICES") {
            guard let comment = rule.comment else { continue }
            let kinds = [" cluster IP", " external IP", " loadbalancer IP"]
            guard let kind = kinds.first(where: { comment.hasSuffix($0) }) else { continue }
            let spnText = comment.dropLast(kind.count)
            let (spn, ip, port) = try frontend(rule, spnText: spnText)
            guard let spn else { continue }
            let target = rule.target ?? ""
            assembler.update(spn) { f in
                f.port = f.port ?? port
                switch kind {
                case " cluster IP":
                    f.clusterIP = ip
                    if target.hasPrefix("KUBE-SVL-") { f.internalPolicy = .local }
                case " external IP": f.addExternalIP(ip)
                default: f.addLoadBalancerIP(ip)
                }
            }
            claim(target, for: spn)
        }
    }

    private mutating func readNodePorts(_ nat: IPTablesTable) throws {
        for rule in topRules(nat, "KUBE-NODEPORTS") {
            guard let comment = rule.comment, let (spn, nodePort) = try nodePort(rule, spnText: comment) else { continue }
            assembler.update(spn) { $0.nodePort = nodePort }
            claim(rule.target ?? "", for: spn)
        }
    }

    /// What one nat rule says about the cluster CIDRs.
    enum CIDRNote: Equatable {
        case prefix(IPPrefix)
        /// A warning: the rule names something that is not a prefix.
        case notPrefix(String)
        /// A warning: kube-proxy tells pods by interface (only the first such rule is reported).
        case interface(String)
    }

    /// `! -s <cidr> -j KUBE-MARK-MASQ` (cluster-IP masquerade) and `-s <cidr>` in "pod traffic for" short-circuits,
    /// of one chain's rules.
    static func cidrNotes(_ rules: [IPTablesRule], file: String) -> [CIDRNote] {
        var notes: [CIDRNote] = []
        for rule in rules {
            var text: String?
            if rule.target == "KUBE-MARK-MASQ", let s = rule.negatedValue("-s") {
                text = s
            } else if let c = rule.comment, c.hasPrefix("pod traffic for ") || c.hasPrefix("Redirect pods trying to reach external loadbalancer VIP"),
                      let s = rule.value("-s") {
                text = s
            }
            if text == nil, rule.target == "KUBE-MARK-MASQ", let i = rule.negatedValue("-i") {
                notes.append(.interface("\(file):\(rule.line): kube-proxy tells pods by interface (`! -i \(i)`), "
                                        + "not by cluster CIDR; pod clients cannot be told by address"))
            }
            guard let text else { continue }
            if let prefix = IPPrefix(text) {
                notes.append(.prefix(prefix))
            } else {
                notes.append(.notPrefix("\(file):\(rule.line): cluster CIDR `\(text)` is not a prefix; ignored"))
            }
        }
        return notes
    }

    /// The cluster CIDRs (first seen first) and warnings of the chains' notes, chains in name order.
    static func foldCIDRNotes(_ chains: some Sequence<[CIDRNote]>) -> ([IPPrefix], [String]) {
        var cidrs: [IPPrefix] = [], warnings: [String] = []
        var interfaceDetector = false
        for notes in chains {
            for note in notes {
                switch note {
                case .prefix(let p): if !cidrs.contains(p) { cidrs.append(p) }
                case .notPrefix(let w): warnings.append(w)
                case .interface(let w):
                    if !interfaceDetector { warnings.append(w) }
                    interfaceDetector = true
                }
            }
        }
        return (cidrs, warnings)
    }

    /// Follows KUBE-SVC/SVL/EXT/FW/XLB-<hash> to the endpoints and reads the policies the chains encode.
    private mutating func readServiceChains(_ nat: IPTablesTable, hash: String, spn: ServicePortName) throws {
        let svc = "KUBE-SVC-" + hash, svl = "KUBE-SVL-" + hash, ext = "KUBE-EXT-" + hash
        let fw = "KUBE-FW-" + hash, xlb = "KUBE-XLB-" + hash
        var affinity: Int?
        func endpointChains(_ chain: String) -> [(String, Int)] {
            var out: [(String, Int)] = []
            for rule in nat.rules(chain) {
                guard let t = rule.target, t.hasPrefix("KUBE-SEP-") else { continue }
                if rule.has("--rcheck"), let s = rule.value("--seconds"), let secs = Int(s) { affinity = secs }
                if !out.contains(where: { $0.0 == t }) { out.append((t, rule.line)) }
            }
            return out
        }
        let clusterSEPs = endpointChains(svc)
        let localSEPs = endpointChains(svl) + endpointChains(xlb)
        let hasLocalChain = nat.chains[svl] != nil || nat.chains[xlb] != nil
        let extRules = nat.rules(ext)
        let externalLocal = nat.chains[xlb] != nil || extRules.contains { r in
            if let c = r.comment, c.hasPrefix("pod traffic for ") || c.hasPrefix("route LOCAL traffic for ") { return true }
            return r.target == svl
        }
        var ranges: [String] = []
        for rule in nat.rules(fw) {
            guard let s = rule.value("-s"), let t = rule.target,
                  t == ext || t == xlb || t == svc else { continue }
            ranges.append(s)
        }
        var endpoints: [ServiceEndpoint] = []
        let policyLocal = externalLocal || assembler.facts[spn]?.internalPolicy == .local
            || assembler.facts[spn]?.externalPolicy == .local
        for (sep, line) in clusterSEPs + localSEPs {
            guard let (ip, port) = try destination(of: sep, in: nat, referencedAt: line, spn: spn) else { continue }
            if endpoints.contains(where: { $0.ip == ip && $0.port == port }) { continue }
            // A local chain lists exactly this node's endpoints; Local policy without one means there are none here.
            let isLocal: Bool? = hasLocalChain ? localSEPs.contains { $0.0 == sep } : (policyLocal ? false : nil)
            endpoints.append(ServiceEndpoint(ip: ip, port: port, isLocal: isLocal))
        }
        assembler.update(spn) { f in
            if externalLocal { f.externalPolicy = .local }
            for ep in endpoints { f.addEndpoint(ep) }
            if let affinity { f.affinityTimeout = affinity }
            for r in ranges {
                if let host = AddressText.host(r), f.loadBalancerIPs.contains(host) { continue }
                if !f.sourceRanges.contains(r) { f.sourceRanges.append(r) }
            }
        }
    }

    /// The DNAT target of a KUBE-SEP chain; nil (with a warning) when the chain or its DNAT rule is missing.
    private mutating func destination(of sep: String, in nat: IPTablesTable, referencedAt line: Int,
                                      spn: ServicePortName) throws -> (IPAddress, UInt16)? {
        guard nat.chains[sep] != nil else {
            warnings.append("\(file):\(line): chain \(sep) is referenced but not defined; an endpoint of \(spn) is unknown")
            return nil
        }
        guard let rule = nat.rules(sep).first(where: { $0.target == "DNAT" }) else {
            warnings.append("\(file):\(nat.chains[sep]!): chain \(sep) has no DNAT rule; an endpoint of \(spn) is unknown")
            return nil
        }
        guard let text = rule.value("--to-destination") else {
            throw ServiceSourceError.malformedLine(file: file, line: rule.line, problem: "DNAT without --to-destination")
        }
        guard let dest = AddressText.hostPort(text) else {
            throw ServiceSourceError.malformedLine(file: file, line: rule.line, problem: "DNAT target `\(text)` is not ip:port")
        }
        return dest
    }

    // MARK: filter

    private mutating func readFilter(_ filter: IPTablesTable) throws {
        for rule in topRules(filter, "KUBE-NODEPORTS") {
            guard let c = rule.comment, c.hasSuffix(" health check node port") else { continue }
            let spnText = c.dropLast(" health check node port".count)
            guard let proto = try protocolOf(rule), let spn = ServicePortName(spnText, proto: proto) else { continue }
            guard let p = rule.value("--dport"), let port = AddressText.port(p) else {
                throw ServiceSourceError.malformedLine(file: file, line: rule.line, problem: "health check rule without a valid --dport")
            }
            assembler.update(spn) { $0.healthCheckNodePort = port }
        }
        for chain in ["KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES"] {
            for rule in topRules(filter, chain) {
                guard let c = rule.comment else { continue }
                let local = c.hasSuffix(" has no local endpoints")
                guard local || c.hasSuffix(" has no endpoints") else { continue }
                let spnText = c.dropLast(local ? " has no local endpoints".count : " has no endpoints".count)
                if rule.value("-d") == nil {
                    // `-m addrtype --dst-type LOCAL --dport <nodePort>`
                    guard let (spn, nodePort) = try nodePort(rule, spnText: spnText) else { continue }
                    assembler.update(spn) { f in
                        f.nodePort = nodePort
                        if local { f.externalPolicy = .local }
                    }
                    continue
                }
                let (spnOpt, ip, port) = try frontend(rule, spnText: spnText)
                guard let spn = spnOpt else { continue }
                assembler.update(spn) { f in
                    f.port = f.port ?? port
                    if chain == "KUBE-SERVICES" {
                        f.clusterIP = f.clusterIP ?? ip
                        if local { f.internalPolicy = .local }
                    } else {
                        f.addExternalIP(ip)
                        if local { f.externalPolicy = .local }
                    }
                }
            }
        }
        for rule in topRules(filter, "KUBE-PROXY-FIREWALL") {
            guard let c = rule.comment, let r = c.firstRange(of: " traffic not accepted by ") else { continue }
            let (spnOpt, ip, port) = try frontend(rule, spnText: c[..<r.lowerBound])
            guard let spn = spnOpt else { continue }
            assembler.update(spn) { f in
                f.port = f.port ?? port
                f.addLoadBalancerIP(ip)
            }
        }
    }

    // MARK: helpers

    /// Records that the per-service chain `target` belongs to `spn`.
    private mutating func claim(_ target: String, for spn: ServicePortName) {
        guard let prefix = IPTablesInterpreter.serviceChainPrefixes.first(where: { target.hasPrefix($0) }) else { return }
        let hash = String(target.dropFirst(prefix.count))
        if let have = owner[hash] {
            if have != spn { warnings.append("\(file): chain \(target) is used by both \(have) and \(spn); kept \(have)") }
            return
        }
        owner[hash] = spn
        ownerOrder.append(hash)
    }

    /// `-p`: nil with a warning for protocols srcip does not follow (SCTP).
    private mutating func protocolOf(_ rule: IPTablesRule) throws -> L4Protocol? {
        guard let p = rule.value("-p") else {
            throw ServiceSourceError.malformedLine(file: file, line: rule.line, problem: "Service rule without -p")
        }
        guard let proto = L4Protocol(name: p), proto.hasPorts else {
            warnings.append("\(file):\(rule.line): protocol \(p) is not traced; rule skipped")
            return nil
        }
        return proto
    }

    /// spn, `-d` host and `--dport` of a frontend rule; throws when one is missing or bad.
    private mutating func frontend(_ rule: IPTablesRule, spnText: some StringProtocol) throws -> (ServicePortName?, IPAddress, UInt16) {
        guard let d = rule.value("-d"), let ip = AddressText.host(d) else {
            throw ServiceSourceError.malformedLine(file: file, line: rule.line,
                                                   problem: "Service rule `\(rule.comment ?? "")` without a host address in -d")
        }
        guard let p = rule.value("--dport"), let port = AddressText.port(p) else {
            throw ServiceSourceError.malformedLine(file: file, line: rule.line, problem: "Service rule without a valid --dport")
        }
        guard let proto = try protocolOf(rule) else { return (nil, ip, port) }
        guard let spn = ServicePortName(spnText, proto: proto) else {
            throw ServiceSourceError.malformedLine(file: file, line: rule.line, problem: "`\(spnText)` is not a service port name ns/name:port")
        }
        return (spn, ip, port)
    }

    /// spn and `--dport` of a NodePort rule.
    private mutating func nodePort(_ rule: IPTablesRule, spnText: some StringProtocol) throws -> (ServicePortName, UInt16)? {
        guard let proto = try protocolOf(rule) else { return nil }
        guard let spn = ServicePortName(spnText, proto: proto) else {
            throw ServiceSourceError.malformedLine(file: file, line: rule.line, problem: "`\(spnText)` is not a service port name ns/name:port")
        }
        guard let p = rule.value("--dport"), let port = AddressText.port(p) else {
            throw ServiceSourceError.malformedLine(file: file, line: rule.line, problem: "NodePort rule without a valid --dport")
        }
        return (spn, port)
    }
}
