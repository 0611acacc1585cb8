import SrcipJSON
import SrcipCore

/// Reads one family's kube-proxy table into per-port facts.
struct NFTablesInterpreter {
    let table: NFTablesKubeProxyTable
    let file: String
    var assembler = ServiceAssembler()
    var clusterCIDRs: [IPPrefix] = []
    var warnings: [String] = []
    /// Per-service chain suffix (`ns/svc/proto/port`) → its service port, for every chain reached from a map.
    private var chainOwners: [String: ServicePortName] = [:]
    private var ownerOrder: [String] = []

    /// kind (`service`, `local`, …) → chain suffix → chain name.
    private let chainIndex: [String: [String: String]]
    /// service chain suffix → its `affinity-…` sets.
    private let affinitySets: [String: [String]]

    init(table: NFTablesKubeProxyTable, file: String) {
        self.table = table
        self.file = file
        var index: [String: [String: String]] = [:]
        for c in table.chains {
            if let (kind, suffix) = NFTablesInterpreter.splitChain(c) { index[kind, default: [:]][suffix] = c }
        }
        chainIndex = index
        var aff: [String: [String]] = [:]
        for name in table.sets.keys {
            guard let (kind, rest) = NFTablesInterpreter.splitChain(name), kind == "affinity",
                  let sep = rest.firstRange(of: "__") else { continue }
            aff[String(rest[..<sep.lowerBound]), default: []].append(name)
        }
        affinitySets = aff
    }

    mutating func run() throws {
        let clusterIPs = Set(try table.elements(table.sets["cluster-ips"]).compactMap { AddressText.host($0.key.stringValue ?? "") })
        let firewalled = try frontendKeys("firewall-ips").map(\.ip)
        for (ip, proto, port, target, _) in try frontendKeys("service-ips") {
            guard let target, let (kind, spn) = try chainService(target, proto: proto) else { continue }
            assembler.update(spn) { f in
                f.port = f.port ?? port
                switch kind {
                case "service": f.clusterIP = ip
                case "local": f.clusterIP = ip; f.internalPolicy = .local
                default: firewalled.contains(ip) ? f.addLoadBalancerIP(ip) : f.addExternalIP(ip)
                }
            }
        }
        for (proto, nodePort, target, _) in try nodePortKeys("service-nodeports") {
            guard let target, let (_, spn) = try chainService(target, proto: proto) else { continue }
            assembler.update(spn) { $0.nodePort = nodePort }
        }
        for (ip, proto, port, verdict, comment) in try frontendKeys("no-endpoint-services") {
            guard let spn = noEndpointOwner(comment, proto: proto) else { continue }
            let local = verdict == nil   // `drop`: Local policy without local endpoints; `goto reject-chain`: none at all
            assembler.update(spn) { f in
                f.port = f.port ?? port
                if clusterIPs.contains(ip) {
                    f.clusterIP = f.clusterIP ?? ip
                    if local { f.internalPolicy = .local }
                } else {
                    firewalled.contains(ip) ? f.addLoadBalancerIP(ip) : f.addExternalIP(ip)
                    if local { f.externalPolicy = .local }
                }
            }
        }
        for (proto, nodePort, verdict, comment) in try nodePortKeys("no-endpoint-nodeports") {
            guard let spn = noEndpointOwner(comment, proto: proto) else { continue }
            assembler.update(spn) { f in
                f.nodePort = nodePort
                if verdict == nil { f.externalPolicy = .local }
            }
        }
        for suffix in ownerOrder { try readServiceChains(suffix, spn: chainOwners[suffix]!) }
        let ambiguous = assembler.facts.values.reduce(0) { $0 + $1.externalIPs.count }
        if ambiguous > 0 {
            warnings.append("nftables rules do not tell externalIPs from LoadBalancer IPs; \(ambiguous) address(es) "
                            + "without source ranges are reported as externalIPs")
        }
    }

    // MARK: maps

    private typealias FrontendKey = (ip: IPAddress, proto: L4Protocol, port: UInt16, target: String?, comment: String?)

    /// Elements `ip . proto . port : verdict` of a kube-proxy map; `target` is nil for `drop`.
    private mutating func frontendKeys(_ map: String) throws -> [FrontendKey] {
        var out: [FrontendKey] = []
        for (key, value, comment) in try table.elements(table.maps[map]) {
            let parts = try key.require("concat").array()
            guard parts.count == 3 else { throw key.fail("expected address . protocol . port") }
            guard let ip = AddressText.host(try parts[0].string()) else { throw parts[0].fail("not an IP address") }
            guard let proto = try protocolOf(parts[1]) else { continue }
            guard let port = UInt16(exactly: try parts[2].int()) else { throw parts[2].fail("not a port number") }
            out.append((ip, proto, port, value.flatMap(NFTablesInterpreter.verdictTarget), comment))
        }
        return out
    }

    private mutating func nodePortKeys(_ map: String) throws -> [(L4Protocol, UInt16, String?, String?)] {
        var out: [(L4Protocol, UInt16, String?, String?)] = []
        for (key, value, comment) in try table.elements(table.maps[map]) {
            let parts = try key.require("concat").array()
            guard parts.count == 2 else { throw key.fail("expected protocol . port") }
            guard let proto = try protocolOf(parts[0]) else { continue }
            guard let port = UInt16(exactly: try parts[1].int()) else { throw parts[1].fail("not a port number") }
            out.append((proto, port, value.flatMap(NFTablesInterpreter.verdictTarget), comment))
        }
        return out
    }

    private mutating func protocolOf(_ node: JSONNode) throws -> L4Protocol? {
        let name = try node.string()
        guard let proto = L4Protocol(name: name), proto.hasPorts else {
            warnings.append("\(file): \(node.path): protocol \(name) is not traced; element skipped")
            return nil
        }
        return proto
    }

    private static func verdictTarget(_ v: JSONNode) -> String? {
        (v["goto"] ?? v["jump"])?["target"]?.stringValue
    }

    /// `service-<H8>-ns/svc/proto/port` → ("service", spn); also claims the chain for endpoint reading.
    private mutating func chainService(_ chain: String, proto: L4Protocol) throws -> (String, ServicePortName)? {
        guard let (kind, suffix) = NFTablesInterpreter.splitChain(chain) else {
            warnings.append("\(file): map entry points to chain \(chain), which is not a kube-proxy service chain; ignored")
            return nil
        }
        let parts = suffix.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4, let p = L4Protocol(name: parts[2]), p == proto else {
            warnings.append("\(file): chain name \(chain) is not service-<hash>-ns/name/proto/port; ignored")
            return nil
        }
        let spn = ServicePortName(namespace: String(parts[0]), name: String(parts[1]), port: String(parts[3]), proto: p)
        if chainOwners[suffix] == nil { chainOwners[suffix] = spn; ownerOrder.append(suffix) }
        return (kind, spn)
    }

    /// `kind-<H8>-rest` for the per-service chain kinds.
    static func splitChain(_ chain: String) -> (String, String)? {
        for kind in ["service", "local", "external", "firewall", "endpoint", "affinity"] where chain.hasPrefix(kind + "-") {
            let rest = chain.dropFirst(kind.count + 1)
            guard rest.count > 9, rest[rest.index(rest.startIndex, offsetBy: 8)] == "-" else { return nil }
            return (kind, String(rest.dropFirst(9)))
        }
        return nil
    }

    private mutating func noEndpointOwner(_ comment: String?, proto: L4Protocol) -> ServicePortName? {
        guard let comment, let spn = ServicePortName(comment, proto: proto) else {
            warnings.append("\(file): no-endpoint element without a `ns/name:port` comment; ignored")
            return nil
        }
        return spn
    }

    // MARK: chains

    private mutating func readServiceChains(_ suffix: String, spn: ServicePortName) throws {
        let index = chainIndex
        let chainOf = { (kind: String) in index[kind]?[suffix] }
        let serviceChain = chainOf("service"), localChain = chainOf("local")
        let externalChain = chainOf("external"), firewallChain = chainOf("firewall")
        let clusterEPs = try endpointChains(serviceChain)
        let localEPs = try endpointChains(localChain)
        for c in [serviceChain, localChain].compactMap({ $0 }) {
            for r in table.rules[c] ?? [] { try noteCIDR(r, op: "!=") }
        }
        var externalLocal = false
        for r in table.rules[externalChain ?? ""] ?? [] {
            let targets = NFTablesInterpreter.targets(in: r.value)
            if r["comment"]?.stringValue?.hasPrefix("short-circuit") == true || targets.contains(where: { $0.hasPrefix("local-") })
                || NFTablesInterpreter.contains(key: "fib", in: r.value) {
                externalLocal = true
            }
            if targets.contains(where: { $0.hasPrefix("service-") }) { try noteCIDR(r, op: "==") }
        }
        var ranges: [IPPrefix] = []
        for r in table.rules[firewallChain ?? ""] ?? [] {
            for m in (r["expr"]?.elements ?? []).compactMap({ $0["match"] }) where m["op"]?.stringValue == "!=" {
                ranges += NFTablesInterpreter.prefixes(m["right"])
            }
        }
        var affinity: Int?
        for name in affinitySets[suffix] ?? [] { affinity = table.sets[name]?["timeout"]?.intValue ?? affinity }
        let hasLocalChain = localChain != nil
        let policyLocal = externalLocal || assembler.facts[spn]?.internalPolicy == .local || assembler.facts[spn]?.externalPolicy == .local
        var endpoints: [ServiceEndpoint] = []
        for (chain, via) in clusterEPs + localEPs {
            guard let (ip, port) = try dnatTarget(chain, via: via, spn: spn) else { continue }
            let isLocal: Bool? = hasLocalChain ? localEPs.contains { $0.0 == chain } : (policyLocal ? false : nil)
            if !endpoints.contains(where: { $0.ip == ip && $0.port == port }) {
                endpoints.append(ServiceEndpoint(ip: ip, port: port, isLocal: isLocal))
            }
        }
        assembler.update(spn) { f in
            if externalLocal { f.externalPolicy = .local }
            for ep in endpoints { f.addEndpoint(ep) }
            if let affinity { f.affinityTimeout = affinity }
            for r in ranges where !(r.length == (r.address.isIPv4 ? 32 : 128) && f.loadBalancerIPs.contains(r.address)) {
                if !f.sourceRanges.contains(r.description) { f.sourceRanges.append(r.description) }
            }
        }
    }

    /// `endpoint-…` chains a service/local chain dispatches to, with the chain they were seen in.
    private func endpointChains(_ chain: String?) throws -> [(String, String)] {
        guard let chain else { return [] }
        var out: [(String, String)] = []
        for r in table.rules[chain] ?? [] {
            for t in NFTablesInterpreter.targets(in: r.value) where t.hasPrefix("endpoint-") && !out.contains(where: { $0.0 == t }) {
                out.append((t, chain))
            }
        }
        return out
    }

    private mutating func dnatTarget(_ chain: String, via: String, spn: ServicePortName) throws -> (IPAddress, UInt16)? {
        guard table.chains.contains(chain) else {
            warnings.append("\(file): chain \(chain) is referenced by \(via) but not defined; an endpoint of \(spn) is unknown")
            return nil
        }
        for r in table.rules[chain] ?? [] {
            for e in r["expr"]?.elements ?? [] {
                guard let d = e["dnat"] else { continue }
                guard let a = d["addr"]?.stringValue, let ip = IPAddress(a) else { throw (d["addr"] ?? d).fail("dnat without an address") }
                guard let p = d["port"]?.intValue, let port = UInt16(exactly: p) else { throw (d["port"] ?? d).fail("dnat without a port") }
                return (ip, port)
            }
        }
        warnings.append("\(file): chain \(chain) has no dnat statement; an endpoint of \(spn) is unknown")
        return nil
    }

    /// `ip saddr != 10.0.0.0/8` (masquerade rule) or `ip saddr 10.0.0.0/8 goto service-…` (short-circuit): the cluster CIDR.
    private mutating func noteCIDR(_ rule: JSONNode, op: String) throws {
        for m in (rule["expr"]?.elements ?? []).compactMap({ $0["match"] }) where m["op"]?.stringValue == op {
            guard m["left"]?["payload"]?["field"]?.stringValue == "saddr" else { continue }
            for p in NFTablesInterpreter.prefixes(m["right"]) where p.length < (p.address.isIPv4 ? 32 : 128) {
                if !clusterCIDRs.contains(p) { clusterCIDRs.append(p) }
            }
        }
    }

    // MARK: JSON helpers

    /// Prefixes in `"10.0.0.0/8"`, `{"prefix": {"addr", "len"}}` or `{"set": [ … ]}`.
    static func prefixes(_ node: JSONNode?) -> [IPPrefix] {
        guard let node else { return [] }
        if let s = node.stringValue { return IPPrefix(s).map { [$0] } ?? [] }
        if let p = node["prefix"], let a = p["addr"]?.stringValue, let l = p["len"]?.intValue, let ip = IPAddress(a) {
            return l >= 0 && l <= (ip.isIPv4 ? 32 : 128) ? [IPPrefix(address: ip, length: l)] : []
        }
        if let set = node["set"] { return set.elements.flatMap { prefixes($0) } }
        return []
    }

    /// Every `goto`/`jump` target anywhere inside a rule (verdict maps included).
    static func targets(in value: JSONValue) -> [String] {
        switch value {
        case .object(let d):
            var out: [String] = []
            for (k, v) in d {
                if k == "goto" || k == "jump", case .object(let t) = v, case .string(let name)? = t["target"] {
                    out.append(name)
                } else {
                    out += targets(in: v)
                }
            }
            return out
        case .array(let a):
            return a.flatMap { targets(in: $0) }
        default:
            return []
        }
    }

    static func contains(key: String, in value: JSONValue) -> Bool {
        switch value {
        case .object(let d): return d[key] != nil || d.values.contains { contains(key: key, in: $0) }
        case .array(let a): return a.contains { contains(key: key, in: $0) }
        default: return false
        }
    }
}
