/// The facts the §4 truth table (docs/kube-proxy-nat.md) depends on.
public struct ExpectationInput: Hashable, Sendable {
    public var frontend: Frontend
    public var externalTrafficPolicy: TrafficPolicy
    public var internalTrafficPolicy: TrafficPolicy
    /// The client as kube-proxy's rules on the receiving node classify it (source in the cluster CIDR: `.pod`).
    public var client: ClientKind
    /// The source is an address of the receiving node itself (`--src-type LOCAL`); only meaningful for `.node` clients.
    /// A `.node` client that is not local is another cluster node: neither LOCAL nor in the cluster CIDR, so treated
    /// like an external client.
    public var sourceIsLocal: Bool
    /// The pod reached itself through the Service.
    public var hairpin: Bool
    /// The Service port has ready endpoints anywhere.
    public var hasEndpoints: Bool
    /// The receiving node has ready endpoints of the Service port.
    public var hasLocalEndpoints: Bool
    /// For LB IPs with loadBalancerSourceRanges: whether the source is inside them; nil when no ranges apply.
    public var sourceAllowedByRanges: Bool?
    /// LoadBalancer ingress `ipMode: Proxy` (kube-proxy installs nothing for the IP).
    public var ipModeProxy: Bool
    /// kube-proxy settings; the defaults are detect-local ClusterCIDR and masqueradeAll=false.
    public var masqueradeAll: Bool
    public var detectLocal: Bool
    /// kube-proxy runs in nftables mode (its `firewall-ips` check does not depend on endpoints; see row 21).
    public var nftables: Bool

    public init(frontend: Frontend, externalTrafficPolicy: TrafficPolicy = .cluster, internalTrafficPolicy: TrafficPolicy = .cluster,
                client: ClientKind, sourceIsLocal: Bool = false, hairpin: Bool = false, hasEndpoints: Bool = true, hasLocalEndpoints: Bool = true,
                sourceAllowedByRanges: Bool? = nil, ipModeProxy: Bool = false, masqueradeAll: Bool = false, detectLocal: Bool = true, nftables: Bool = false) {
        self.frontend = frontend
        self.externalTrafficPolicy = externalTrafficPolicy
        self.internalTrafficPolicy = internalTrafficPolicy
        self.client = client
        self.sourceIsLocal = sourceIsLocal
        self.hairpin = hairpin
        self.hasEndpoints = hasEndpoints
        self.hasLocalEndpoints = hasLocalEndpoints
        self.sourceAllowedByRanges = sourceAllowedByRanges
        self.ipModeProxy = ipModeProxy
        self.masqueradeAll = masqueradeAll
        self.detectLocal = detectLocal
        self.nftables = nftables
    }
}

/// What Kubernetes documents for a flow: a verdict and the §4 row it comes from.
public struct Expectation: Hashable, Sendable, CustomStringConvertible {
    public var verdict: Verdict
    public var row: Int
    public var reason: String

    public var description: String { "\(verdict) (row \(row): \(reason))" }

    /// The documented outcome for `input`, per docs/kube-proxy-nat.md §4 rows 1–23 (iptables/nftables kube-proxy).
    /// nil for row 22 (LB `ipMode: Proxy`): kube-proxy is not involved, the LB decides.
    public static func expected(_ i: ExpectationInput) -> Expectation? {
        let localHost = i.client == .node && i.sourceIsLocal
        if i.ipModeProxy && i.frontend == .loadBalancer { return nil }
        let outsideRanges = i.frontend == .loadBalancer && i.sourceAllowedByRanges == false
        if !i.hasEndpoints, outsideRanges, i.nftables {
            // nftables mode: `firewall-ips` is evaluated before DNAT and does not depend on endpoints.
            return Expectation(verdict: .dropped, row: 21, reason: "source outside loadBalancerSourceRanges (nftables: before the no-endpoint reject)")
        }
        if !i.hasEndpoints {
            return Expectation(verdict: .rejected, row: 23, reason: "Service has no endpoints: REJECT")
        }
        if outsideRanges {
            return Expectation(verdict: .dropped, row: 21, reason: "source outside loadBalancerSourceRanges")
        }
        if i.hairpin {
            return Expectation(verdict: .snat, row: 2, reason: "pod reached itself through its Service: hairpin masquerade")
        }
        switch i.frontend {
        case .clusterIP:
            if i.internalTrafficPolicy == .local && !i.hasLocalEndpoints {
                return Expectation(verdict: .dropped, row: 7, reason: "internalTrafficPolicy Local and no local endpoints")
            }
            if i.masqueradeAll { return Expectation(verdict: .snat, row: 5, reason: "masqueradeAll") }
            if !i.detectLocal {
                return Expectation(verdict: .preserved, row: 6, reason: "no local-traffic detector: only hairpin is masqueraded")
            }
            if i.client == .pod { return Expectation(verdict: .preserved, row: 1, reason: "pod to ClusterIP is never masqueraded") }
            if localHost { return Expectation(verdict: .snat, row: 3, reason: "host to ClusterIP: source not in clusterCIDR") }
            return Expectation(verdict: .snat, row: 4, reason: "off-cluster source to ClusterIP is masqueraded")
        case .nodePort:
            if i.externalTrafficPolicy == .cluster {
                let row = i.client == .pod ? 9 : localHost ? 10 : 8
                return Expectation(verdict: .snat, row: row, reason: "NodePort eTP Cluster masquerades all traffic")
            }
            if i.client == .pod, i.detectLocal {
                return Expectation(verdict: .preserved, row: 13, reason: "eTP Local: pod traffic short-circuits to the Service chain")
            }
            if localHost { return Expectation(verdict: .snat, row: 14, reason: "eTP Local: host traffic is still masqueraded") }
            if i.hasLocalEndpoints {
                return Expectation(verdict: .preserved, row: 11, reason: "eTP Local with a local endpoint keeps the client IP")
            }
            return Expectation(verdict: .dropped, row: 12, reason: "eTP Local and no endpoint on this node: DROP")
        case .loadBalancer, .externalIP:
            if localHost {
                return Expectation(verdict: .snat, row: 20, reason: "host to LB/external IP is masqueraded")
            }
            if i.externalTrafficPolicy == .cluster {
                if i.client == .pod { return Expectation(verdict: .snat, row: 18, reason: "pod to LB/external IP with eTP Cluster") }
                return Expectation(verdict: .snat, row: 15, reason: "LB/external IP with eTP Cluster masquerades")
            }
            if i.client == .pod, i.detectLocal {
                return Expectation(verdict: .preserved, row: 19, reason: "eTP Local: pod traffic short-circuits to the Service chain")
            }
            if i.hasLocalEndpoints {
                return Expectation(verdict: .preserved, row: 16, reason: "eTP Local with local endpoints keeps the client IP")
            }
            return Expectation(verdict: .dropped, row: 17, reason: "eTP Local and no local endpoints: DROP")
        }
    }
}
