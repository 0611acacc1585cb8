import SrcipCore
import SrcipLabCluster
import SrcipLabKubeProxy
import SrcipSystem

/// Which nodes a LoadBalancer Service's frontends go to, and the port mapping; shared by both LB modes.
public struct LoadBalancerFrontend: Sendable, Hashable {
    public var service: String           // namespace/name
    public var vip: IPAddress
    public var port: UInt16
    public var nodePort: UInt16
    public var healthCheckNodePort: UInt16?
}

public enum LoadBalancerPlan {
    /// Source address of the proxy-mode load balancer toward the nodes (its "private IP", like an AWS Classic ELB).
    public static let proxySourceIP = IPAddress("192.168.10.2")!

    /// The proxy LB's source address in `family` (fd00:192:168:10::2 for IPv6).
    public static func proxySourceIP(_ family: IPFamily) -> IPAddress {
        family == .ipv4 ? proxySourceIP : LabAddressing6.loadBalancerProxyIP
    }

    /// The client source ports that make the load balancer (both modes) pick node `index` (1-based) when it is healthy:
    /// `20000 + 100·index … +99`. Other source ports are balanced round-robin.
    public static func steeringPorts(nodeIndex: Int) -> ClosedRange<UInt16> {
        let base = UInt16(20000 + 100 * nodeIndex)
        return base...(base + 99)
    }

    /// Every (LB IP, port) of every LoadBalancer Service with a NodePort.
    public static func frontends(_ state: ClusterState) -> [LoadBalancerFrontend] {
        state.services.filter { $0.type == .loadBalancer }.flatMap { svc in
            svc.loadBalancerIPs.flatMap { vip in
                svc.ports.compactMap { p in
                    p.proto == .tcp ? p.nodePort.map {
                        LoadBalancerFrontend(service: svc.id, vip: vip, port: p.port, nodePort: $0,
                                             healthCheckNodePort: svc.externalTrafficPolicy == .local ? svc.healthCheckNodePort : nil)
                    } : nil
                }
            }
        }
    }

    /// The node a connection goes to: the steered node (client source port in `steeringPorts`) when it is healthy,
    /// otherwise round-robin over the healthy nodes by `counter`. nil when no node is healthy.
    public static func pick(nodes: [LabNode], healthy: Set<String>, sourcePort: UInt16, counter: Int) -> LabNode? {
        for (i, node) in nodes.enumerated() where steeringPorts(nodeIndex: i + 1).contains(sourcePort) {
            if healthy.contains(node.name) { return node }
        }
        let candidates = nodes.filter { healthy.contains($0.name) }
        return candidates.isEmpty ? nil : candidates[counter % candidates.count]
    }

    /// Router `iptables-restore` input for passthrough mode: per frontend, steering DNAT rules then nth round-robin,
    /// VIP:port → nodeIP:nodePort, no SNAT. `healthy[service]` lists the nodes whose health check answered 200
    /// (all nodes for externalTrafficPolicy Cluster).
    /// `family` selects the frontends (and the `ip6tables-restore` input for IPv6, with `[node IP]:port` targets).
    public static func passthroughRules(_ state: ClusterState, healthy: [String: Set<String>], family: IPFamily = .ipv4) -> String {
        var lines = ["*nat", ":SRCIP-LB - [0:0]", "-A PREROUTING -j SRCIP-LB"]
        for fe in frontends(state) where IPFamily.of(fe.vip) == family {
            let ok = state.nodes.enumerated().filter { healthy[fe.service]?.contains($0.element.name) ?? false }
                .compactMap { i, n in n.ip(family).map { (i, $0) } }
            let match = "-A SRCIP-LB -d \(fe.vip)/\(family == .ipv4 ? 32 : 128) -p tcp --dport \(fe.port)"
            for (i, ip) in ok {
                let r = steeringPorts(nodeIndex: i + 1)
                lines.append("\(match) --sport \(r.lowerBound):\(r.upperBound) -j DNAT --to-destination \(Endpoint.format(ip, fe.nodePort))")
            }
            for (k, (_, ip)) in ok.enumerated() {
                let remaining = ok.count - k
                let nth = remaining > 1 ? " -m statistic --mode nth --every \(remaining) --packet 0" : ""
                lines.append("\(match)\(nth) -j DNAT --to-destination \(Endpoint.format(ip, fe.nodePort))")
            }
        }
        lines.append("COMMIT")
        return lines.joined(separator: "\n") + "\n"
    }
}
