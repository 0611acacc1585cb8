import SrcipLabCluster
/// The base-chain hooks of iptables mode: kube-proxy's `iptablesJumpChains` (installed with `iptables -I`, i.e. prepended,
/// in code order) plus kubelet's KUBE-FIREWALL jumps. The chains must exist first: apply these after the
/// `KubeProxyIPTables.render` restore input has been loaded (it declares every target chain, KUBE-FIREWALL included
/// when `localhostNodePorts` is on).
extension KubeProxyIPTables {
    /// One jump: table, base chain, match arguments, comment, target chain.
    public struct BaseChainJump: Hashable, Sendable {
        public var table: String
        public var chain: String
        public var match: [String]
        public var comment: String?
        public var target: String

        /// Arguments after `-A <chain>` / `-I <chain>`.
        public var ruleArguments: [String] {
            match + (comment.map { ["-m", "comment", "--comment", $0] } ?? []) + ["-j", target]
        }
    }

    static let newConn = ["-m", "conntrack", "--ctstate", "NEW"]

    /// kube-proxy's jumps in code order (proxier.go `iptablesJumpChains`), then kubelet's KUBE-FIREWALL jumps.
    public static let baseChainJumpList: [BaseChainJump] = [
        BaseChainJump(table: "filter", chain: "INPUT", match: newConn, comment: "kubernetes externally-visible service portals", target: "KUBE-EXTERNAL-SERVICES"),
        BaseChainJump(table: "filter", chain: "FORWARD", match: newConn, comment: "kubernetes externally-visible service portals", target: "KUBE-EXTERNAL-SERVICES"),
        BaseChainJump(table: "filter", chain: "INPUT", match: [], comment: "kubernetes health check service ports", target: "KUBE-NODEPORTS"),
        BaseChainJump(table: "filter", chain: "FORWARD", match: newConn, comment: "kubernetes service portals", target: "KUBE-SERVICES"),
        BaseChainJump(table: "filter", chain: "OUTPUT", match: newConn, comment: "kubernetes service portals", target: "KUBE-SERVICES"),
        BaseChainJump(table: "filter", chain: "FORWARD", match: [], comment: "kubernetes forwarding rules", target: "KUBE-FORWARD"),
        BaseChainJump(table: "filter", chain: "INPUT", match: newConn, comment: "kubernetes load balancer firewall", target: "KUBE-PROXY-FIREWALL"),
        BaseChainJump(table: "filter", chain: "OUTPUT", match: newConn, comment: "kubernetes load balancer firewall", target: "KUBE-PROXY-FIREWALL"),
        BaseChainJump(table: "filter", chain: "FORWARD", match: newConn, comment: "kubernetes load balancer firewall", target: "KUBE-PROXY-FIREWALL"),
        BaseChainJump(table: "nat", chain: "OUTPUT", match: [], comment: "kubernetes service portals", target: "KUBE-SERVICES"),
        BaseChainJump(table: "nat", chain: "PREROUTING", match: [], comment: "kubernetes service portals", target: "KUBE-SERVICES"),
        BaseChainJump(table: "nat", chain: "POSTROUTING", match: [], comment: "kubernetes postrouting rules", target: "KUBE-POSTROUTING"),
        BaseChainJump(table: "filter", chain: "INPUT", match: [], comment: nil, target: "KUBE-FIREWALL"),
        BaseChainJump(table: "filter", chain: "OUTPUT", match: [], comment: nil, target: "KUBE-FIREWALL"),
    ]

    /// `iptables` argument arrays, to run in order (each prepends with `-I`, like kube-proxy's EnsureRule(Prepend)).
    /// Pass `kubeletFirewall: false` when the restore input was rendered with `localhostNodePorts: false` (no KUBE-FIREWALL chain).
    public static func baseChainJumps(kubeletFirewall: Bool = true) -> [[String]] {
        baseChainJumpList
            .filter { kubeletFirewall || $0.target != "KUBE-FIREWALL" }
            .map { ["-w", "-t", $0.table, "-I", $0.chain] + $0.ruleArguments }
    }

    /// The same jumps as an `iptables-restore --noflush` snippet with `-A` lines in the order the prepends produce
    /// (what `iptables-save` shows afterwards). Apply it once per node, after the main restore input.
    public static func baseChainJumpsRestore(kubeletFirewall: Bool = true) -> String {
        let jumps = baseChainJumpList.filter { kubeletFirewall || $0.target != "KUBE-FIREWALL" }
        var out: [String] = []
        for table in ["filter", "nat"] {
            out.append("*\(table)")
            // Prepending in list order leaves each base chain in reverse list order.
            for j in jumps.reversed() where j.table == table {
                out.append((["-A", j.chain] + j.ruleArguments.map(quoteIfNeeded)).joined(separator: " "))
            }
            out.append("COMMIT")
        }
        return out.joined(separator: "\n") + "\n"
    }

    static func quoteIfNeeded(_ s: String) -> String { s.contains(" ") ? "\"\(s)\"" : s }
}

extension KubeProxyIPTables {
    /// Sysctls kube-proxy itself sets on a node in iptables mode: `route_localnet=1` when localhost NodePorts are on
    /// (IPv4). Forwarding (`net.ipv4.ip_forward=1`) is the CNI's/kubelet's job and is not included.
    public static func requiredSysctls(options: KubeProxyOptions = .lab) -> [(key: String, value: String)] {
        options.localhostNodePorts ? [("net.ipv4.conf.all.route_localnet", "1")] : []
    }
}
