import SrcipCore
import SrcipLabCluster
import SrcipLabWorkloads
import SrcipSystem

/// The `ip` commands that build one lab's namespaces and links, grouped so that they run as a handful of `ip -batch` calls.
///
/// Layout: a bridge `br0` in the "net" namespace is the node network; each node namespace attaches with `eth0`, wires its
/// pods as `PodWiring` says for the state's CNI (bridge `cni0` with hairpin ports, or routed /32 veths) and has host-gw
/// routes to the other nodes' pod CIDRs. The router joins the node network
/// (192.168.10.1, plus 192.168.10.2 for the proxy load balancer) and the external network (203.0.113.1 ↔ client .10).
public struct LabTopology: Sendable {
    /// Namespaces in creation order.
    public var namespaces: [String]
    /// Lines for `ip -batch` in the root namespace, once the namespaces exist: veth creation (each veth created directly
    /// inside its namespaces).
    public var rootBatch: [String]
    /// Lines for `ip -n NS -batch` per namespace: addresses, bridges, routes.
    public var namespaceBatches: [(namespace: String, lines: [String])]
    /// `sysctl -w` assignments per namespace.
    public var sysctls: [(namespace: String, settings: [String])]
    /// Lines for `bridge -n NS -batch` per namespace, after the `ip` batches (the VXLAN CNI's FDB entries).
    public var bridgeBatches: [(namespace: String, lines: [String])]
    /// Whether the lab has IPv6 (`namespaceDefaults` apply).
    public var ipv6: Bool

    public init(state: ClusterState, naming: LabNaming, entryNode: String? = nil) throws {
        let net = naming.netNamespace, router = naming.routerNamespace, client = naming.clientNamespace
        let uplink = LabNaming.uplink
        namespaces = [net, router, client]
        rootBatch = []
        namespaceBatches = []
        sysctls = []
        bridgeBatches = []
        let v6 = state.ipFamily.hasIPv6
        ipv6 = v6

        // Both ends of a veth get distinct interface indexes: with equal ones (2 and 2 in two fresh namespaces) the kernel
        // treats their carrier-up as non-urgent and may leave the link without a qdisc (dropping packets) for up to 1 s.
        var nextIndex = 100
        func veth(_ a: String, in nsA: String, _ b: String, in nsB: String) -> String {
            defer { nextIndex += 2 }
            return "link add \(a) index \(nextIndex) netns \(nsA) type veth peer name \(b) index \(nextIndex + 1) netns \(nsB)"
        }
        var netLines = ["link set lo up", "link add \(LabNaming.nodeBridge) type bridge mcast_snooping 0", "link set \(LabNaming.nodeBridge) up"]
        // Router <-> node network, router <-> client.
        rootBatch.append(veth(uplink, in: router, LabNaming.netRouterPort, in: net))
        rootBatch.append(veth(LabNaming.routerExternal, in: router, uplink, in: client))
        netLines.append("link set \(LabNaming.netRouterPort) master \(LabNaming.nodeBridge) up")

        let nodeLen = LabNaming.nodeNetwork.length
        var routerLines = [
            "link set lo up",
            "addr add \(LabNaming.routerNodeIP)/\(nodeLen) dev \(uplink)",
            "addr add \(LabNaming.loadBalancerProxyIP)/\(nodeLen) dev \(uplink)",
            "link set \(uplink) up",
            "addr add \(LabNaming.routerExternalIP)/\(LabNaming.externalNetwork.length) dev \(LabNaming.routerExternal)",
            "link set \(LabNaming.routerExternal) up",
        ]
        if v6 {
            let len6 = LabAddressing6.nodeNetwork.length
            routerLines += ["addr add \(LabAddressing6.routerNodeIP)/\(len6) dev \(uplink) nodad",
                            "addr add \(LabAddressing6.loadBalancerProxyIP)/\(len6) dev \(uplink) nodad",
                            "addr add \(LabAddressing6.routerExternalIP)/\(LabAddressing6.externalClientNetwork.length) dev \(LabNaming.routerExternal) nodad"]
        }
        let podNames = Set(state.pods.map(\.name))
        guard podNames.count == state.pods.count else { throw LabError.unsupported("pod names must be unique in a lab") }

        for (i, node) in state.nodes.enumerated() {
            let nodeNS = naming.nodeNamespace(node.name)
            namespaces.append(nodeNS)
            rootBatch.append(veth(uplink, in: nodeNS, LabNaming.netPort(nodeIndex: i + 1), in: net))
            netLines.append("link set \(LabNaming.netPort(nodeIndex: i + 1)) master \(LabNaming.nodeBridge) up")
            var lines = [
                "link set lo up",
                "addr add \(node.ip)/\(nodeLen) dev \(uplink)",
                "link set \(uplink) up",
            ]
            if let ip6 = node.ip6 { lines.insert("addr add \(ip6)/\(LabAddressing6.nodeNetwork.length) dev \(uplink) nodad", at: 2) }
            lines += PodWiring.nodeBaseLines(node, cni: state.cni)
            var fdb: [String] = []
            for other in state.nodes where other.name != node.name {
                if state.cni == .vxlan {
                    lines += VXLANOverlay.peerLines(node, to: other)
                    fdb += VXLANOverlay.fdbLines(node, to: other)
                } else {
                    lines.append("route add \(other.podCIDR) via \(other.ip)")
                    if let cidr6 = other.podCIDR6, let ip6 = other.ip6 { lines.append("route add \(cidr6) via \(ip6)") }
                }
            }
            if !fdb.isEmpty { bridgeBatches.append((nodeNS, fdb)) }
            lines.append("route add default via \(LabNaming.routerNodeIP)")
            if v6 { lines.append("route add ::/0 via \(LabAddressing6.routerNodeIP)") }
            var nodeSysctls = PodWiring.nodeSysctls(cni: state.cni, ipv6: v6)
            for pod in state.pods(on: node.name) {
                let wiring = PodWiring(pod: pod, node: node, cni: state.cni, naming: naming)
                namespaces.append(wiring.podNamespace)
                rootBatch.append(wiring.vethLine(index: nextIndex))
                nextIndex += 2
                lines += wiring.nodeLines
                nodeSysctls += wiring.nodeSysctls
                namespaceBatches.append((wiring.podNamespace, wiring.podLines))
            }
            namespaceBatches.append((nodeNS, lines))
            sysctls.append((nodeNS, nodeSysctls))
            routerLines.append("route add \(node.podCIDR) via \(node.ip)")
            if let cidr6 = node.podCIDR6, let ip6 = node.ip6 { routerLines.append("route add \(cidr6) via \(ip6)") }
        }
        let entry = try Self.entryNode(entryNode, in: state)
        routerLines += Self.entryRoutes(state, entry: entry, verb: "add")
        namespaceBatches.insert((net, netLines), at: 0)
        namespaceBatches.insert((router, routerLines), at: 1)
        var clientLines = [
            "link set lo up",
            "addr add \(LabNaming.clientIP)/\(LabNaming.externalNetwork.length) dev \(uplink)",
            "link set \(uplink) up",
            "route add default via \(LabNaming.routerExternalIP)",
        ]
        if v6 {
            clientLines.insert("addr add \(LabAddressing6.externalClient)/\(LabAddressing6.externalClientNetwork.length) dev \(uplink) nodad", at: 2)
            clientLines.append("route add ::/0 via \(LabAddressing6.routerExternalIP)")
        }
        namespaceBatches.insert((client, clientLines), at: 2)
        sysctls.append((router, ["net.ipv4.ip_forward=1"] + (v6 ? ["net.ipv6.conf.all.forwarding=1"] : [])))
    }

    /// Sysctls of every lab namespace before any of its interfaces exists: no duplicate address detection on the
    /// IPv6 link-local addresses interfaces get when they come up. While a link-local address is tentative (~1 s) the
    /// node's neighbour solicitations for a pod go unanswered and a fresh lab's first request to a pod lost its SYN (a
    /// 1–2 s retransmission); CNI plugins likewise keep DAD from delaying a pod's first packets. (Global addresses are
    /// added `nodad`.)
    public static let namespaceDefaults = ["net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf.all.accept_dad=0"]

    /// The router's routes sending the service CIDRs and every externalIP to `entry` (`verb` add or replace).
    static func entryRoutes(_ state: ClusterState, entry: LabNode, verb: String) -> [String] {
        var lines: [String] = []
        for f in state.families {
            guard let via = entry.ip(f) else { continue }
            lines.append("route \(verb) \(state.serviceCIDR(f)) via \(via)")
            for ip in Set(state.services.flatMap(\.externalIPs)).sorted() where IPFamily.of(ip) == f {
                lines.append("route \(verb) \(ip)/\(f == .ipv4 ? 32 : 128) via \(via)")
            }
        }
        return lines
    }

    /// The node that receives routed ClusterIP/externalIP traffic from outside: `name`, or the first node.
    static func entryNode(_ name: String?, in state: ClusterState) throws -> LabNode {
        guard let first = state.nodes.first else { throw LabError.unsupported("a lab needs at least one node") }
        guard let name else { return first }
        guard let node = state.nodes.first(where: { $0.name == name }) else {
            throw LabError.unknownTarget(name: name, known: state.nodes.map(\.name))
        }
        return node
    }

    /// The `n`-th address of an IPv4 prefix (n = 1 is the bridge gateway).
    public static func host(_ prefix: IPPrefix, _ n: UInt32) -> IPAddress {
        if case .v4(let base) = prefix.address { return .v4(base + n) }
        return prefix.address
    }
}
