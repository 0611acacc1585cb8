import SrcipCore
import SrcipLabCluster

/// kube-proxy settings that change the rendered rules. Defaults are kube-proxy's defaults on a lab node.
public struct KubeProxyOptions: Hashable, Sendable, Codable {
    /// `--masquerade-all`: SNAT every ClusterIP connection.
    public var masqueradeAll: Bool
    /// `--iptables-masquerade-bit` (mark `1 << bit`, 0x4000 by default).
    public var masqueradeBit: Int
    /// Detect-local mode ClusterCIDR with the state's clusterCIDR; false = no local detector.
    public var detectLocal: Bool
    /// iptables `--iptables-localhost-nodeports` (IPv4 NodePorts on 127.0.0.0/8, plus the KUBE-FIREWALL localnet guard).
    public var localhostNodePorts: Bool
    /// iptables: kube-proxy found its nfacct counters (`localhost_nps_accepted_pkts`, `ct_state_invalid_dropped_pkts`),
    /// so it adds `-m nfacct` matches. Off in the lab: loading needs the nfacct objects to exist.
    public var nfacctCounters: Bool
    /// iptables: the MASQUERADE rule gets `--random-fully` (iptables ≥ 1.6.2 on a kernel that supports it).
    public var randomFully: Bool
    /// `net.netfilter.nf_conntrack_tcp_be_liberal` is set: kube-proxy then omits the ctstate INVALID drop.
    public var conntrackTCPLiberal: Bool

    public init(masqueradeAll: Bool = false, masqueradeBit: Int = 14, detectLocal: Bool = true,
                localhostNodePorts: Bool = true, nfacctCounters: Bool = false, randomFully: Bool = true,
                conntrackTCPLiberal: Bool = false) {
        self.masqueradeAll = masqueradeAll
        self.masqueradeBit = masqueradeBit
        self.detectLocal = detectLocal
        self.localhostNodePorts = localhostNodePorts
        self.nfacctCounters = nfacctCounters
        self.randomFully = randomFully
        self.conntrackTCPLiberal = conntrackTCPLiberal
    }

    /// What the lab loads: kube-proxy defaults, without nfacct matches.
    public static let lab = KubeProxyOptions()
    /// The fake iptables/nfacct of kube-proxy's unit tests (nfacct counters present, no `--random-fully`).
    public static let upstreamUnitTest = KubeProxyOptions(nfacctCounters: true, randomFully: false)

    /// The masquerade mark as kube-proxy's unit tests print it, e.g. `0x4000`.
    var masqueradeMark: String { "0x" + String(1 << masqueradeBit, radix: 16) }
}
