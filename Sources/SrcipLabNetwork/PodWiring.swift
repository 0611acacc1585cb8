import SrcipCore
import SrcipLabCluster
import SrcipLabKubeProxy

/// How one pod is attached to its node, per CNI: the veth, the node side (bridge port, or /32 route and proxy ARP) and the
/// pod side (address, default route). Shared by `lab up` and `lab apply`, so a pod added later is wired like the first ones.
struct PodWiring {
    let pod: LabPod
    let node: LabNode
    let cni: LabCNI
    let naming: LabNaming

    /// Link-local gateway of routed pods, answered by proxy ARP on the node's veth (as Calico does).
    static let routedGateway = "169.254.1.1"

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
        case .bridge:
            return ["link set \(hostVeth) master \(LabNaming.podBridge)", "link set \(hostVeth) type bridge_slave hairpin on",
                    "link set \(hostVeth) up", "neigh flush to \(pod.ip) dev \(LabNaming.podBridge)"]
        case .routed:
            return ["link set \(hostVeth) up", "route add \(pod.ip)/32 dev \(hostVeth) scope link"]
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
        case .bridge:
            return ["link set lo up", "addr add \(pod.ip)/\(node.podCIDR.length) dev \(eth0)", "link set \(eth0) up",
                    "route add default via \(node.bridgeIP)"]
        case .routed:
            return ["link set lo up", "addr add \(pod.ip)/32 dev \(eth0)", "link set \(eth0) up",
                    "route add \(Self.routedGateway) dev \(eth0) scope link", "route add default via \(Self.routedGateway) dev \(eth0)"]
        }
    }

    /// Node-level lines of the CNI, before any pod: the `cni0` bridge, or (routed) a blackhole for the node's own block
    /// so that unknown pod addresses are not sent to the default route (Calico's block route).
    static func nodeBaseLines(_ node: LabNode, cni: LabCNI) -> [String] {
        switch cni {
        case .bridge:
            return ["link add \(LabNaming.podBridge) type bridge",
                    "addr add \(node.bridgeIP)/\(node.podCIDR.length) dev \(LabNaming.podBridge)",
                    "link set \(LabNaming.podBridge) up"]
        case .routed:
            return ["route add blackhole \(node.podCIDR)"]
        }
    }

    /// Node sysctls of the CNI.
    static func nodeSysctls(cni: LabCNI) -> [String] {
        ["net.ipv4.ip_forward=1", "net.ipv4.conf.all.route_localnet=1"]
            + (cni == .bridge ? ["net.bridge.bridge-nf-call-iptables=1"] : [])
    }
}

extension LabNaming {
    /// The node-side veth of `pod`: stable across `lab apply` (derived from the pod's namespace and name, like Calico's
    /// `cali` + 11 hex digits of a hash of the workload), `cali…` when routed, `veth…` on the bridge.
    public static func podVeth(_ pod: LabPod, cni: LabCNI) -> String {
        (cni == .routed ? "cali" : "veth") + String(labSHA256Hex("\(pod.namespace).\(pod.name)").prefix(11))
    }
}
