import Foundation
import SrcipCore
import SrcipLabCluster
import SrcipLabKubeProxy
import SrcipSystem

/// Programs each node namespace like kube-proxy would: `iptables-restore --noflush` of the full-sync input followed by the
/// base-chain jumps (iptables mode), or `nft -f` of the `ip kube-proxy` table (nftables mode). Nodes load in parallel.
public enum KubeProxyLoader {
    /// The texts loaded into `node` and the commands that load them, one proxier per family of the lab as kube-proxy runs
    /// them: `iptables-restore` / `ip6tables-restore` (the IPv6 one without kubelet's localnet KUBE-FIREWALL), or one
    /// `nft -f` transaction with the `ip` and `ip6 kube-proxy` tables.
    public static func rulesets(_ state: ClusterState, node: LabNode, mode: ProxyMode) -> [(tool: String, args: [String], input: String)] {
        switch mode {
        case .iptables:
            return state.families.map { f in
                (f == .ipv4 ? "iptables-restore" : "ip6tables-restore", ["--noflush"],
                 KubeProxyIPTables.render(state, node: node, family: f)
                    + KubeProxyIPTables.baseChainJumpsRestore(kubeletFirewall: f == .ipv4))
            }
        case .nftables:
            return [("nft", ["-f", "-"], state.families.map { KubeProxyNFTables.render(state, node: node, family: $0) }.joined())]
        }
    }

    static func load(_ record: LabRecord, naming: LabNaming) throws {
        let nodes = record.state.nodes
        let errors = ErrorCollector()
        DispatchQueue.concurrentPerform(iterations: nodes.count) { i in
            do {
                for (tool, args, input) in rulesets(record.state, node: nodes[i], mode: record.proxyMode) {
                    try Command.check("ip", ["netns", "exec", naming.nodeNamespace(nodes[i].name), tool] + args, input: input)
                }
            } catch {
                errors.append(error)
            }
        }
        if let first = errors.first { throw first }
    }
}

extension KubeProxyLoader {
    /// A full resync of every node after the state changed, as kube-proxy does: nftables mode reloads the `ip kube-proxy`
    /// table in one transaction (`render` deletes and re-adds it); iptables mode restores the full-sync input with
    /// `--noflush` plus the flush and `-X` of chains that are no longer rendered (found with `iptables-save`). The
    /// base-chain jumps are already in place and other rules are not touched.
    static func resync(_ record: LabRecord, naming: LabNaming) throws {
        let nodes = record.state.nodes
        let errors = ErrorCollector()
        DispatchQueue.concurrentPerform(iterations: nodes.count) { i in
            do {
                let ns = naming.nodeNamespace(nodes[i].name)
                switch record.proxyMode {
                case .nftables:
                    for (tool, args, input) in rulesets(record.state, node: nodes[i], mode: .nftables) {
                        try Command.check("ip", ["netns", "exec", ns, tool] + args, input: input)
                    }
                case .iptables:
                    for f in record.state.families {
                        let v = f == .ipv4 ? "iptables" : "ip6tables"
                        let existing = try Command.check("ip", ["netns", "exec", ns, "\(v)-save"])
                        let input = KubeProxyIPTables.resyncInput(
                            rendered: KubeProxyIPTables.render(record.state, node: nodes[i], family: f), existingSave: existing)
                        try Command.check("ip", ["netns", "exec", ns, "\(v)-restore", "--noflush"], input: input)
                    }
                }
            } catch {
                errors.append(error)
            }
        }
        if let first = errors.first { throw first }
    }
}

/// Collects errors from concurrent work. `@unchecked Sendable` is safe: `errors` is only touched under `lock`.
final class ErrorCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [Error] = []
    func append(_ e: Error) { lock.withLock { errors.append(e) } }
    var first: Error? { lock.withLock { errors.first } }
}
