import SrcipCore
import SrcipLabCluster

/// Renders, for one node, kube-proxy's nftables-mode ruleset (`table ip kube-proxy`, pkg/proxy/nftables/proxier.go
/// @531be812, the layout with the `mark-for-masquerade` chain) with `--nodeport-addresses primary` (the node IP).
///
/// `transaction` gives the objects in the form of kube-proxy's unit-test dumps (compare with the upstream fixture after
/// `sortNFTablesTransaction`); `render` gives an `nft -f` script: it deletes any previous `ip kube-proxy` table and
/// re-adds everything in a loadable order (table, sets/maps, chains, rules, elements), atomically, so reloading works.
public enum KubeProxyNFTables {
    public static let table = "ip kube-proxy"

    public static func render(_ state: ClusterState, node: LabNode) -> String {
        render(state, node: node, options: .lab)
    }

    /// The kube-proxy table of `family`: `ip kube-proxy` or `ip6 kube-proxy`.
    public static func table(_ family: IPFamily) -> String { family == .ipv4 ? table : "ip6 kube-proxy" }

    public static func render(_ state: ClusterState, node: LabNode, options: KubeProxyOptions) -> String {
        render(state, node: node, options: options, family: .ipv4)
    }

    /// The `nft -f` script of `family`'s proxier (in dual-stack kube-proxy programs `ip` and `ip6 kube-proxy` tables).
    public static func render(_ state: ClusterState, node: LabNode, options: KubeProxyOptions = .lab, family: IPFamily) -> String {
        let lines = transaction(state, node: node, options: options, family: family)
        let prologue = ["add table \(table(family))", "delete table \(table(family))"]
        return (prologue + loadableOrder(lines)).joined(separator: "\n") + "\n"
    }

    /// The `add …` lines of a full sync, in kube-proxy's order.
    public static func transaction(_ state: ClusterState, node: LabNode, options: KubeProxyOptions = .lab,
                                   family: IPFamily = .ipv4) -> [String] {
        var w = NFTablesTransactionWriter(state: state, node: node, options: options, family: family)
        w.writeBase()
        for plan in KubeProxyServicePlan.plans(state, node: node, family: family) { w.write(plan) }
        return w.lines
    }

    /// Orders `add` lines so every object exists before it is referenced: table, sets and maps, chains, rules, elements.
    public static func loadableOrder(_ lines: [String]) -> [String] {
        let rank = ["table": 0, "set": 1, "map": 1, "chain": 2, "rule": 3, "element": 4]
        return lines.enumerated().sorted { a, b in
            let ra = rank[a.element.split(separator: " ")[1].description] ?? 5
            let rb = rank[b.element.split(separator: " ")[1].description] ?? 5
            return ra != rb ? ra < rb : a.offset < b.offset
        }.map(\.element)
    }
}

/// Accumulates the objects kube-proxy adds in one nftables transaction.
struct NFTablesTransactionWriter {
    let state: ClusterState
    let node: LabNode
    let options: KubeProxyOptions
    private(set) var lines: [String] = []
    let family: IPFamily

    init(state: ClusterState, node: LabNode, options: KubeProxyOptions, family: IPFamily = .ipv4) {
        self.state = state
        self.node = node
        self.options = options
        self.family = family
    }

    var t: String { KubeProxyNFTables.table(family) }
    /// `ip` or `ip6` in address matches; `ipv4_addr` or `ipv6_addr` in set types.
    var ipx: String { family == .ipv4 ? "ip" : "ip6" }
    var addrType: String { family == .ipv4 ? "ipv4_addr" : "ipv6_addr" }
    var nodeIP: IPAddress { node.ip(family) ?? node.ip }
    var mark: String { options.masqueradeMark }

    mutating func chain(_ name: String, _ spec: String? = nil) {
        lines.append("add chain \(t) \(name)" + (spec.map { " { \($0) ; }" } ?? ""))
    }

    mutating func rule(_ chain: String, _ rule: String, comment: String? = nil) {
        lines.append("add rule \(t) \(chain) \(rule)" + (comment.map { " comment \"\($0)\"" } ?? ""))
    }

    mutating func element(_ set: String, _ key: String, comment: String? = nil, value: String? = nil) {
        let c = comment.map { " comment \"\($0)\"" } ?? ""
        let v = value.map { " : \($0)" } ?? ""
        lines.append("add element \(t) \(set) { \(key)\(c)\(v) }")
    }

    mutating func writeBase() {
        lines.append("add table \(t) { comment \"rules for kube-proxy\" ; }")
        lines.append("add set \(t) cluster-ips { type \(addrType) ; comment \"Active ClusterIPs\" ; }")
        lines.append("add set \(t) nodeport-ips { type \(addrType) ; comment \"IPs that accept NodePort traffic\" ; }")
        let dest = "\(addrType) . inet_proto . inet_service : verdict"
        lines.append("add map \(t) firewall-ips { type \(dest) ; comment \"destinations that are subject to LoadBalancerSourceRanges\" ; }")
        lines.append("add map \(t) no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment \"vmap to drop or reject packets to service nodeports with no endpoints\" ; }")
        lines.append("add map \(t) no-endpoint-services { type \(dest) ; comment \"vmap to drop or reject packets to services with no endpoints\" ; }")
        lines.append("add map \(t) service-ips { type \(dest) ; comment \"ClusterIP, ExternalIP and LoadBalancer IP traffic\" ; }")
        lines.append("add map \(t) service-nodeports { type inet_proto . inet_service : verdict ; comment \"NodePort traffic\" ; }")

        chain("cluster-ips-check")
        chain("filter-prerouting-pre-dnat", "type filter hook prerouting priority -110")
        chain("filter-output-pre-dnat", "type filter hook output priority -110")
        chain("filter-forward", "type filter hook forward priority 0")
        chain("filter-input", "type filter hook input priority 0")
        chain("filter-output", "type filter hook output priority 0")
        chain("firewall-check")
        chain("mark-for-masquerade")
        chain("masquerading")
        chain("nat-output", "type nat hook output priority -100")
        chain("nat-postrouting", "type nat hook postrouting priority 100")
        chain("nat-prerouting", "type nat hook prerouting priority -100")
        chain("nodeport-endpoints-check")
        lines.append("add chain \(t) reject-chain { comment \"helper for @no-endpoint-services / @no-endpoint-nodeports\" ; }")
        chain("services")
        chain("service-endpoints-check")

        rule("cluster-ips-check", "\(ipx) daddr @cluster-ips reject", comment: "Reject traffic to invalid ports of ClusterIPs")
        rule("cluster-ips-check", "\(ipx) daddr { \(state.serviceCIDR(family)) } drop", comment: "Drop traffic to unallocated ClusterIPs")
        rule("filter-prerouting-pre-dnat", "ct state new jump firewall-check")
        rule("filter-forward", "ct state new jump service-endpoints-check")
        rule("filter-forward", "ct state new jump cluster-ips-check")
        rule("filter-input", "ct state new jump nodeport-endpoints-check")
        rule("filter-input", "ct state new jump service-endpoints-check")
        rule("filter-output", "ct state new jump service-endpoints-check")
        rule("filter-output-pre-dnat", "ct state new jump firewall-check")
        rule("filter-output", "ct state new jump cluster-ips-check")
        rule("firewall-check", "\(ipx) daddr . meta l4proto . th dport vmap @firewall-ips")
        rule("mark-for-masquerade", "mark set mark or \(mark)")
        rule("masquerading", "mark and \(mark) == 0 return")
        rule("masquerading", "mark set mark xor \(mark)")
        rule("masquerading", "masquerade fully-random")
        rule("nat-output", "jump services")
        rule("nat-postrouting", "jump masquerading")
        rule("nat-prerouting", "jump services")
        rule("nodeport-endpoints-check", "\(ipx) daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports")
        rule("reject-chain", "reject")
        rule("services", "\(ipx) daddr . meta l4proto . th dport vmap @service-ips")
        rule("services", "\(ipx) daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports")
        element("nodeport-ips", nodeIP.description)
        rule("service-endpoints-check", "\(ipx) daddr . meta l4proto . th dport vmap @no-endpoint-services")
    }

    mutating func write(_ p: KubeProxyServicePlan) {
        let svc = p.service
        let base = KubeProxyNames.nftablesServiceBase(namespace: svc.namespace, name: svc.name, portName: p.port.name, proto: p.port.proto)
        let clusterChain = "service-" + base, localChain = "local-" + base
        let externalChain = "external-" + base, fwChain = "firewall-" + base
        let epBase = { (ep: ServiceEndpoint) in
            KubeProxyNames.nftablesEndpointBase(namespace: svc.namespace, name: svc.name, portName: p.port.name,
                                                proto: p.port.proto, ip: ep.ip, port: ep.port)
        }
        let spn = p.servicePortName
        let proto = p.proto
        let port = String(p.port.port)
        let localCIDR = options.detectLocal ? state.clusterCIDR(family).description : nil

        for ep in p.allReachableEndpoints { chain("endpoint-" + epBase(ep)) }
        if p.usesClusterPolicyChain { chain(clusterChain) }
        if p.usesLocalPolicyChain { chain(localChain) }
        let internalChain = p.internalPolicyLocal ? localChain : clusterChain
        let externalPolicyChain = p.externalPolicyLocal ? localChain : clusterChain
        if p.usesExternalTrafficChain { chain(externalChain) }

        var internalVerdict: String?
        var externalVerdict: String?
        if !p.hasEndpoints {
            internalVerdict = "goto reject-chain"
            externalVerdict = "goto reject-chain"
        } else {
            if !p.hasInternalEndpoints { internalVerdict = "drop" }
            if !p.hasExternalEndpoints { externalVerdict = "drop" }
        }

        // Capture the clusterIP.
        element("cluster-ips", p.clusterIP.description)
        if p.hasInternalEndpoints {
            element("service-ips", "\(p.clusterIP) . \(proto) . \(port)", value: "goto \(internalChain)")
        } else if let v = internalVerdict {
            element("no-endpoint-services", "\(p.clusterIP) . \(proto) . \(port)", comment: spn, value: v)
        }
        // Capture externalIPs.
        for ip in p.externalIPs {
            if p.hasEndpoints {
                element("service-ips", "\(ip) . \(proto) . \(port)", value: "goto \(externalChain)")
            }
            if !p.hasExternalEndpoints, let v = externalVerdict {
                element("no-endpoint-services", "\(ip) . \(proto) . \(port)", comment: spn, value: v)
            }
        }
        // LoadBalancerSourceRanges firewall.
        let usesFW = !p.loadBalancerVIPs.isEmpty && !p.sourceRanges.isEmpty
        if usesFW {
            chain(fwChain)
            var sources = p.sourceRanges.map(\.description)
            if p.sourceRanges.contains(where: { $0.contains(nodeIP) }) {
                sources += p.loadBalancerVIPs.map(\.description)
            }
            rule(fwChain, "\(ipx) saddr != { \(sources.joined(separator: " , ")) } drop")
        }
        // Capture load-balancer ingress.
        for ip in p.loadBalancerVIPs {
            if p.hasEndpoints {
                element("service-ips", "\(ip) . \(proto) . \(port)", value: "goto \(externalChain)")
            }
            if usesFW {
                element("firewall-ips", "\(ip) . \(proto) . \(port)", value: "goto \(fwChain)")
            }
        }
        if !p.hasExternalEndpoints, let v = externalVerdict {
            for ip in p.loadBalancerVIPs {
                element("no-endpoint-services", "\(ip) . \(proto) . \(port)", comment: spn, value: v)
            }
        }
        // Capture nodeports.
        if let np = p.nodePort {
            if p.hasEndpoints {
                element("service-nodeports", "\(proto) . \(np)", value: "goto \(externalChain)")
            }
            if !p.hasExternalEndpoints, let v = externalVerdict {
                element("no-endpoint-nodeports", "\(proto) . \(np)", comment: spn, value: v)
            }
        }

        // Internal traffic handling.
        if p.hasInternalEndpoints {
            if options.masqueradeAll {
                rule(internalChain, "\(ipx) daddr \(p.clusterIP) jump mark-for-masquerade")
            } else if let cidr = localCIDR {
                rule(internalChain, "\(ipx) daddr \(p.clusterIP) \(ipx) saddr != \(cidr) jump mark-for-masquerade")
            }
        }
        // External traffic handling.
        if p.usesExternalTrafficChain {
            if !p.externalPolicyLocal {
                rule(externalChain, "jump mark-for-masquerade")
            } else {
                if let cidr = localCIDR {
                    rule(externalChain, "\(ipx) saddr \(cidr) goto \(clusterChain)", comment: "short-circuit pod traffic")
                }
                rule(externalChain, "fib saddr type local jump mark-for-masquerade", comment: "masquerade local traffic")
                rule(externalChain, "fib saddr type local goto \(clusterChain)", comment: "short-circuit local traffic")
            }
            if p.hasExternalEndpoints {
                rule(externalChain, "goto \(externalPolicyChain)")
            }
        }
        // Session affinity sets.
        if let timeout = p.affinityTimeout {
            for ep in p.allReachableEndpoints {
                lines.append("add set \(t) affinity-\(epBase(ep)) { type \(addrType) ; flags dynamic,timeout ; timeout \(timeout)s ; }")
            }
        }
        if p.usesClusterPolicyChain { writeServiceToEndpointRules(p, chain: clusterChain, endpoints: p.clusterEndpoints, epBase: epBase) }
        if p.usesLocalPolicyChain { writeServiceToEndpointRules(p, chain: localChain, endpoints: p.localEndpoints, epBase: epBase) }
        // Per-endpoint chains.
        for ep in p.allReachableEndpoints {
            let c = "endpoint-" + epBase(ep)
            rule(c, "\(ipx) saddr \(ep.ip) jump mark-for-masquerade")
            if p.affinityTimeout != nil {
                rule(c, "update @affinity-\(epBase(ep)) { \(ipx) saddr }")
            }
            rule(c, "meta l4proto \(proto) dnat to \(KubeProxyServicePlan.endpointString(ep))")
        }
    }

    mutating func writeServiceToEndpointRules(_ p: KubeProxyServicePlan, chain: String, endpoints: [ServiceEndpoint],
                                              epBase: (ServiceEndpoint) -> String) {
        if p.affinityTimeout != nil {
            for ep in endpoints {
                rule(chain, "\(ipx) saddr @affinity-\(epBase(ep)) goto endpoint-\(epBase(ep))")
            }
        }
        let entries = endpoints.enumerated().map { "\($0.offset) : goto endpoint-\(epBase($0.element))" }
        rule(chain, "numgen random mod \(endpoints.count) vmap { \(entries.joined(separator: " , ")) }")
    }
}
