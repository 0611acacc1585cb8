import SrcipCore
import SrcipLabCluster
import SrcipLabKubeProxy

/// How one pod is attached to its node, per CNI: the veth, the node side (bridge port, or /32 route and proxy ARP) and the
/// pod side (addresses, default routes), for each of the lab's families. Shared by `lab up` and `lab apply`, so a pod
/// added later is wired like the first ones. IPv6 addresses are added with `nodad` (no 1 s duplicate detection).
struct PodWiring {
    let pod: LabPod
    let node: LabNode
    let cni: LabCNI
    let naming: LabNaming

    /// Link-local gateway of routed pods, answered by proxy ARP on the node's veth (as Calico does).
    static let routedGateway = "169.254.1.1"
    /// IPv6 link-local gateway of routed pods: an address of every `cali…` veth on the node.
    static let routedGateway6 = "fe80::1"

    var podNamespace: String { naming.podNamespace(pod) }
    var nodeNamespace: String { naming.nodeNamespace(node.name) }
    var hostVeth: String { LabNaming.podVeth(pod, cni: cni) }

    /// Root-namespace batch line creating the veth pair directly inside both namespaces, with distinct interface indexes
    /// (`index` for the pod side, `index + 1` for the node side; see `LabTopology`).
    func vethLine(index: Int) -> String {
        "link add \(LabNaming.uplink) index \(index) netns \(podNamespace) type veth peer name \(hostVeth) index \(index + 1) netns \(nodeNamespace)"
    }

    /// Lines for the node's `ip -batch`. On the bridge, a neighbour entry left by an earlier pod with the same IP is
    /// flushed (the bridge plugin's gratuitous ARP does this on a real node); a routed pod's entries died with its veth.
    var nodeLines: [String] {
        switch cni {
        case .bridge, .vxlan:
            return ["link set \(hostVeth) master \(LabNaming.podBridge)", "link set \(hostVeth) type bridge_slave hairpin on",
                    "link set \(hostVeth) up"] + [pod.ip, pod.ip6].compactMap { $0 }.map { "neigh flush to \($0) dev \(LabNaming.podBridge)" }
        case .routed:
            return ["link set \(hostVeth) up", "route add \(pod.ip)/32 dev \(hostVeth) scope link"]
                + (pod.ip6.map { ["addr add \(Self.routedGateway6)/64 dev \(hostVeth) nodad", "route add \($0)/128 dev \(hostVeth)"] } ?? [])
        }
    }

    /// Sysctls of the node for this pod's veth (routed: proxy ARP answering the pod's gateway, without delay).
    var nodeSysctls: [String] {
        cni == .routed ? ["net.ipv4.conf.\(hostVeth).proxy_arp=1", "net.ipv4.neigh.\(hostVeth).proxy_delay=0"] : []
    }

    /// Lines for the pod's `ip -batch`.
    var podLines: [String] {
        let eth0 = LabNaming.uplink
        switch cni {
        case .bridge, .vxlan:
            var lines = ["link set lo up", "addr add \(pod.ip)/\(node.podCIDR.length) dev \(eth0)"]
            if let ip6 = pod.ip6, let cidr6 = node.podCIDR6 { lines.append("addr add \(ip6)/\(cidr6.length) dev \(eth0) nodad") }
            lines += ["link set \(eth0) up", "route add default via \(node.bridgeIP)"]
            if pod.ip6 != nil, let gw6 = node.bridgeIP(.ipv6) { lines.append("route add ::/0 via \(gw6)") }
            return lines
        case .routed:
            var lines = ["link set lo up", "addr add \(pod.ip)/32 dev \(eth0)"]
            if let ip6 = pod.ip6 { lines.append("addr add \(ip6)/128 dev \(eth0) nodad") }
            lines += ["link set \(eth0) up",
                      "route add \(Self.routedGateway) dev \(eth0) scope link", "route add default via \(Self.routedGateway) dev \(eth0)"]
            if pod.ip6 != nil { lines.append("route add ::/0 via \(Self.routedGateway6) dev \(eth0)") }
            return lines
        }
    }

    /// Node-level lines of the CNI, before any pod: the `cni0` bridge (and with VXLAN the overlay devices), or (routed) a
    /// blackhole for the node's own block so that unknown pod addresses are not sent to the default route (Calico's block route).
    static func nodeBaseLines(_ node: LabNode, cni: LabCNI) -> [String] {
        switch cni {
        case .bridge, .vxlan:
            var lines = ["link add \(LabNaming.podBridge) type bridge mcast_snooping 0",
                         "addr add \(node.bridgeIP)/\(node.podCIDR.length) dev \(LabNaming.podBridge)"]
            if let gw6 = node.bridgeIP(.ipv6), let cidr6 = node.podCIDR6 {
                lines.append("addr add \(gw6)/\(cidr6.length) dev \(LabNaming.podBridge) nodad")
            }
            lines.append("link set \(LabNaming.podBridge) up")
            return lines + (cni == .vxlan ? VXLANOverlay.deviceLines(node) : [])
        case .routed:
            return ["route add blackhole \(node.podCIDR)"] + (node.podCIDR6.map { ["route add blackhole \($0)"] } ?? [])
        }
    }

    /// Node sysctls of the CNI.
    static func nodeSysctls(cni: LabCNI, ipv6: Bool) -> [String] {
        ["net.ipv4.ip_forward=1", "net.ipv4.conf.all.route_localnet=1"]
            + (ipv6 ? ["net.ipv6.conf.all.forwarding=1"] : [])
            + (cni == .routed ? [] : ["net.bridge.bridge-nf-call-iptables=1"] + (ipv6 ? ["net.bridge.bridge-nf-call-ip6tables=1"] : []))
    }
}

extension LabNaming {
    /// The node-side veth of `pod`: stable across `lab apply` (derived from the pod's namespace and name, like Calico's
    /// `cali` + 11 hex digits of a hash of the workload), `cali…` when routed, `veth…` on the bridge.
    public static func podVeth(_ pod: LabPod, cni: LabCNI) -> String {
        (cni == .routed ? "cali" : "veth") + String(labSHA256Hex("\(pod.namespace).\(pod.name)").prefix(11))
    }
}
