import Foundation
import SrcipCore
import SrcipLabCluster

/// Renders, for one node, the `iptables-restore` input kube-proxy's iptables-mode `syncProxyRules` writes on a full sync
/// (pkg/proxy/iptables/proxier.go @531be812): `*filter … COMMIT *nat … COMMIT`, restore syntax, unquoted one-word comments.
///
/// Load it with `iptables-restore --noflush` (as kube-proxy does), then apply `baseChainJumps()` once.
/// Services are emitted sorted by service-port name (kube-proxy walks a Go map, so its order is arbitrary).
/// "Local" endpoints are those whose `nodeName` equals the node's name; detect-local is ClusterCIDR.
public enum KubeProxyIPTables {
    public static func render(_ state: ClusterState, node: LabNode) -> String {
        render(state, node: node, options: .lab)
    }

    /// The input for `iptables-restore` (`family` IPv4) or `ip6tables-restore` (IPv6): kube-proxy runs one proxier per
    /// family; the IPv6 one has no localhost NodePorts (`! -d ::1/128`) and no kubelet localnet guard.
    public static func render(_ state: ClusterState, node: LabNode, options: KubeProxyOptions = .lab, family: IPFamily) -> String {
        var o = options
        if family == .ipv6 { o.localhostNodePorts = false }
        var w = IPTablesRestoreWriter(state: state, node: node, options: o, family: family)
        w.writeStatic()
        for plan in KubeProxyServicePlan.plans(state, node: node, family: family) { w.write(plan) }
        w.writeTail()
        return w.output
    }

    public static func render(_ state: ClusterState, node: LabNode, options: KubeProxyOptions) -> String {
        var w = IPTablesRestoreWriter(state: state, node: node, options: options)
        w.writeStatic()
        for plan in KubeProxyServicePlan.plans(state, node: node) { w.write(plan) }
        w.writeTail()
        return w.output
    }
}

/// Accumulates the four line buffers of syncProxyRules (filter/nat × chains/rules).
struct IPTablesRestoreWriter {
    let state: ClusterState
    let node: LabNode
    let options: KubeProxyOptions
    var filterChains: [String] = []
    var filterRules: [String] = []
    var natChains: [String] = []
    var natRules: [String] = []
    let family: IPFamily

    init(state: ClusterState, node: LabNode, options: KubeProxyOptions, family: IPFamily = .ipv4) {
        self.state = state
        self.node = node
        self.options = options
        self.family = family
    }

    var mark: String { options.masqueradeMark }
    var localCIDR: String? { options.detectLocal ? state.clusterCIDR(family).description : nil }
    var nodeIP: IPAddress { node.ip(family) ?? node.ip }

    static func chainLine(_ name: String) -> String { ":\(name) - [0:0]" }

    mutating func writeStatic() {
        for c in ["KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-FORWARD", "KUBE-NODEPORTS", "KUBE-PROXY-FIREWALL"] {
            filterChains.append(Self.chainLine(c))
        }
        for c in ["KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"] {
            natChains.append(Self.chainLine(c))
        }
        natRules.append("-A KUBE-POSTROUTING -m mark ! --mark \(mark)/\(mark) -j RETURN")
        natRules.append("-A KUBE-POSTROUTING -j MARK --xor-mark \(mark)")
        natRules.append("-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE"
                        + (options.randomFully ? " --random-fully" : ""))
        natRules.append("-A KUBE-MARK-MASQ -j MARK --or-mark \(mark)")
        if options.localhostNodePorts {
            filterChains.append(Self.chainLine("KUBE-FIREWALL"))
            filterRules.append("-A KUBE-FIREWALL -m comment --comment \"block incoming localnet connections\" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP")
        }
    }

    mutating func writeTail() {
        let localhost = family == .ipv6 ? " ! -d ::1/128" : options.localhostNodePorts ? "" : " ! -d 127.0.0.0/8"
        natRules.append("-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL\(localhost) -j KUBE-NODEPORTS")
        if !options.conntrackTCPLiberal {
            let nfacct = options.nfacctCounters ? " -m nfacct --nfacct-name ct_state_invalid_dropped_pkts" : ""
            filterRules.append("-A KUBE-FORWARD -m conntrack --ctstate INVALID\(nfacct) -j DROP")
        }
        filterRules.append("-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark \(mark)/\(mark) -j ACCEPT")
        filterRules.append("-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
    }

    var output: String {
        (["*filter"] + filterChains + filterRules + ["COMMIT", "*nat"] + natChains + natRules + ["COMMIT"])
            .joined(separator: "\n") + "\n"
    }

    /// A comment argument: quoted unless it is a single word (kube-proxy writes `"…"` itself for multi-word comments).
    static func comment(_ text: String) -> String { text.contains(" ") ? "\"\(text)\"" : text }

    mutating func write(_ p: KubeProxyServicePlan) {
        let spn = p.servicePortName
        let proto = p.proto
        let h = KubeProxyNames.iptablesServiceHash(servicePortName: spn, proto: p.port.proto)
        let svcChain = "KUBE-SVC-" + h, svlChain = "KUBE-SVL-" + h
        let extChain = "KUBE-EXT-" + h, fwChain = "KUBE-FW-" + h
        let sep = { (ep: ServiceEndpoint) in
            KubeProxyNames.iptablesEndpointChain(servicePortName: spn, proto: p.port.proto, endpoint: KubeProxyServicePlan.endpointString(ep))
        }
        let internalChain = p.internalPolicyLocal ? svlChain : svcChain
        let externalPolicyChain = p.externalPolicyLocal ? svlChain : svcChain
        let usesFW = p.hasEndpoints && !p.loadBalancerVIPs.isEmpty && !p.sourceRanges.isEmpty
        let lbChain = usesFW ? fwChain : extChain
        let port = String(p.port.port)

        var internalFilter: (target: String, comment: String)?
        var externalFilter: (target: String, comment: String)?
        if !p.hasEndpoints {
            internalFilter = ("REJECT", "\"\(spn) has no endpoints\"")
            externalFilter = internalFilter
        } else {
            if !p.hasInternalEndpoints { internalFilter = ("DROP", "\"\(spn) has no local endpoints\"") }
            if !p.hasExternalEndpoints { externalFilter = ("DROP", "\"\(spn) has no local endpoints\"") }
        }
        let match = "-m \(proto) -p \(proto)"

        // Capture the clusterIP.
        if p.hasInternalEndpoints {
            natRules.append("-A KUBE-SERVICES -m comment --comment \"\(spn) cluster IP\" \(match) -d \(p.clusterIP) --dport \(port) -j \(internalChain)")
        } else if let f = internalFilter {
            filterRules.append("-A KUBE-SERVICES -m comment --comment \(f.comment) \(match) -d \(p.clusterIP) --dport \(port) -j \(f.target)")
        }
        // Capture externalIPs.
        for ip in p.externalIPs {
            if p.hasEndpoints {
                natRules.append("-A KUBE-SERVICES -m comment --comment \"\(spn) external IP\" \(match) -d \(ip) --dport \(port) -j \(extChain)")
            }
            if !p.hasExternalEndpoints, let f = externalFilter {
                filterRules.append("-A KUBE-EXTERNAL-SERVICES -m comment --comment \(f.comment) \(match) -d \(ip) --dport \(port) -j \(f.target)")
            }
        }
        // Capture load-balancer ingress.
        for ip in p.loadBalancerVIPs {
            if p.hasEndpoints {
                natRules.append("-A KUBE-SERVICES -m comment --comment \"\(spn) loadbalancer IP\" \(match) -d \(ip) --dport \(port) -j \(lbChain)")
            }
            if usesFW {
                filterRules.append("-A KUBE-PROXY-FIREWALL -m comment --comment \"\(spn) traffic not accepted by \(fwChain)\" \(match) -d \(ip) --dport \(port) -j DROP")
            }
        }
        if !p.hasExternalEndpoints, let f = externalFilter {
            for ip in p.loadBalancerVIPs {
                filterRules.append("-A KUBE-EXTERNAL-SERVICES -m comment --comment \(f.comment) \(match) -d \(ip) --dport \(port) -j \(f.target)")
            }
        }
        // Capture nodeports.
        if let np = p.nodePort {
            if p.hasEndpoints {
                if options.localhostNodePorts && options.nfacctCounters {
                    natRules.append("-A KUBE-NODEPORTS -m comment --comment \(Self.comment(spn)) \(match) -d 127.0.0.0/8 --dport \(np) -m nfacct --nfacct-name localhost_nps_accepted_pkts -j \(extChain)")
                }
                natRules.append("-A KUBE-NODEPORTS -m comment --comment \(Self.comment(spn)) \(match) --dport \(np) -j \(extChain)")
            }
            if !p.hasExternalEndpoints, let f = externalFilter {
                filterRules.append("-A KUBE-EXTERNAL-SERVICES -m comment --comment \(f.comment) -m addrtype --dst-type LOCAL \(match) --dport \(np) -j \(f.target)")
            }
        }
        // Capture healthCheckNodePorts.
        if let hc = p.healthCheckNodePort {
            filterRules.append("-A KUBE-NODEPORTS -m comment --comment \"\(spn) health check node port\" -m tcp -p tcp --dport \(hc) -j ACCEPT")
        }

        // Internal traffic handling.
        if p.hasInternalEndpoints {
            let args = "-m comment --comment \"\(spn) cluster IP\" \(match) -d \(p.clusterIP) --dport \(port)"
            if options.masqueradeAll {
                natRules.append("-A \(internalChain) \(args) -j KUBE-MARK-MASQ")
            } else if let cidr = localCIDR {
                natRules.append("-A \(internalChain) \(args) ! -s \(cidr) -j KUBE-MARK-MASQ")
            }
        }
        // External traffic handling.
        if p.usesExternalTrafficChain {
            natChains.append(Self.chainLine(extChain))
            if !p.externalPolicyLocal {
                natRules.append("-A \(extChain) -m comment --comment \"masquerade traffic for \(spn) external destinations\" -j KUBE-MARK-MASQ")
            } else {
                if let cidr = localCIDR {
                    natRules.append("-A \(extChain) -m comment --comment \"pod traffic for \(spn) external destinations\" -s \(cidr) -j \(svcChain)")
                }
                natRules.append("-A \(extChain) -m comment --comment \"masquerade LOCAL traffic for \(spn) external destinations\" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ")
                natRules.append("-A \(extChain) -m comment --comment \"route LOCAL traffic for \(spn) external destinations\" -m addrtype --src-type LOCAL -j \(svcChain)")
            }
            if p.hasExternalEndpoints {
                natRules.append("-A \(extChain) -j \(externalPolicyChain)")
            }
        }
        // Firewall chain (loadBalancerSourceRanges).
        if usesFW {
            natChains.append(Self.chainLine(fwChain))
            let args = "-A \(fwChain) -m comment --comment \"\(spn) loadbalancer IP\""
            var allowFromNode = false
            for cidr in p.sourceRanges {
                natRules.append("\(args) -s \(cidr) -j \(extChain)")
                if cidr.contains(nodeIP) { allowFromNode = true }
            }
            if allowFromNode {
                for ip in p.loadBalancerVIPs { natRules.append("\(args) -s \(ip) -j \(extChain)") }
            }
            natRules.append("-A \(fwChain) -m comment --comment \"other traffic to \(spn) will be dropped by KUBE-PROXY-FIREWALL\"")
        }
        if p.usesClusterPolicyChain {
            natChains.append(Self.chainLine(svcChain))
            writeServiceToEndpointRules(p, chain: svcChain, endpoints: p.clusterEndpoints, sep: sep)
        }
        if p.usesLocalPolicyChain {
            natChains.append(Self.chainLine(svlChain))
            writeServiceToEndpointRules(p, chain: svlChain, endpoints: p.localEndpoints, sep: sep)
        }
        // Per-endpoint chains.
        for ep in p.allReachableEndpoints {
            let chain = sep(ep)
            natChains.append(Self.chainLine(chain))
            let head = "-A \(chain) -m comment --comment \(Self.comment(spn))"
            natRules.append("\(head) -s \(ep.ip) -j KUBE-MARK-MASQ")
            let recent = p.affinityTimeout != nil ? " -m recent --name \(chain) --set" : ""
            natRules.append("\(head)\(recent) \(match) -j DNAT --to-destination \(KubeProxyServicePlan.endpointString(ep))")
        }
    }

    mutating func writeServiceToEndpointRules(_ p: KubeProxyServicePlan, chain: String, endpoints: [ServiceEndpoint],
                                              sep: (ServiceEndpoint) -> String) {
        let spn = p.servicePortName
        if let timeout = p.affinityTimeout {
            for ep in endpoints {
                let c = "\"\(spn) -> \(KubeProxyServicePlan.endpointString(ep))\""
                natRules.append("-A \(chain) -m comment --comment \(c) -m recent --name \(sep(ep)) --rcheck --seconds \(timeout) --reap -j \(sep(ep))")
            }
        }
        for (i, ep) in endpoints.enumerated() {
            let c = "\"\(spn) -> \(KubeProxyServicePlan.endpointString(ep))\""
            var line = "-A \(chain) -m comment --comment \(c)"
            if i < endpoints.count - 1 {
                line += " -m statistic --mode random --probability " + String(format: "%0.10f", 1.0 / Double(endpoints.count - i))
            }
            natRules.append(line + " -j \(sep(ep))")
        }
    }
}
