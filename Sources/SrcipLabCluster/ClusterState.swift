import SrcipCore

/// kube-proxy's mode in the lab.
public enum ProxyMode: String, Sendable, CaseIterable, Codable {
    case iptables
    case nftables
}

/// How pods are wired to their node (the CNI plugin the lab emulates).
public enum LabCNI: String, Sendable, CaseIterable, Codable {
    /// flannel host-gw / the bridge plugin: pods on the node's `cni0` bridge (10.244.N.1), routes to other nodes' pod CIDRs.
    case bridge
    /// Calico-style: one veth per pod with a /32 route toward it and proxy ARP on the node side, no bridge, no address on
    /// the node in the pod network; host routes to other nodes' pod CIDRs.
    case routed
    /// flannel's VXLAN backend: pods on `cni0` as with `bridge`, other nodes' pod CIDRs routed through the VXLAN device
    /// `flannel.1` (VNI 1, UDP 8472, static FDB and neighbour entries) that holds the node's overlay address 10.244.N.0/32.
    case vxlan
}

/// One emulated node: a network namespace on the node network with a pod bridge.
public struct LabNode: Hashable, Sendable, Codable {
    public var name: String          // e.g. "node1"
    public var ip: IPAddress         // address on the node network, e.g. 192.168.10.11
    public var podCIDR: IPPrefix     // e.g. 10.244.1.0/24; the bridge cni0 holds the first address
    /// IPv6 address on the node network (ipv6/dual labs), e.g. fd00:192:168:10::11.
    public var ip6: IPAddress?
    /// IPv6 pod CIDR (ipv6/dual labs), e.g. fd00:10:244:1::/64.
    public var podCIDR6: IPPrefix?

    public init(name: String, ip: IPAddress, podCIDR: IPPrefix, ip6: IPAddress? = nil, podCIDR6: IPPrefix? = nil) {
        self.name = name
        self.ip = ip
        self.podCIDR = podCIDR
        self.ip6 = ip6
        self.podCIDR6 = podCIDR6
    }

    /// The node's address of `family` (nil when the lab has no such family).
    public func ip(_ family: IPFamily) -> IPAddress? { family == .ipv4 ? ip : ip6 }
    /// The node's pod CIDR of `family`.
    public func podCIDR(_ family: IPFamily) -> IPPrefix? { family == .ipv4 ? podCIDR : podCIDR6 }
}

/// One emulated pod: a network namespace attached to its node's `cni0` by a veth pair.
public struct LabPod: Hashable, Sendable, Codable {
    public var namespace: String
    public var name: String
    public var labels: [String: String]
    public var node: String
    public var ip: IPAddress
    /// Container ports by name (unnamed ports under ""), for `targetPort` resolution; the echo server listens on these.
    public var ports: [String: UInt16]
    /// IPv6 address (ipv6/dual labs): the same host index in the node's IPv6 pod CIDR.
    public var ip6: IPAddress?

    public init(namespace: String, name: String, labels: [String: String], node: String, ip: IPAddress, ports: [String: UInt16],
                ip6: IPAddress? = nil) {
        self.namespace = namespace
        self.name = name
        self.labels = labels
        self.node = node
        self.ip = ip
        self.ports = ports
        self.ip6 = ip6
    }

    /// The pod's address of `family`.
    public func ip(_ family: IPFamily) -> IPAddress? { family == .ipv4 ? ip : ip6 }
}

/// The whole desired state of a lab cluster: what `lab up` builds and kube-proxy programs.
public struct ClusterState: Sendable, Codable {
    /// Pod network of the cluster (kube-proxy's --cluster-cidr), e.g. 10.244.0.0/16.
    public var clusterCIDR: IPPrefix
    /// Service network, e.g. 10.96.0.0/16.
    public var serviceCIDR: IPPrefix
    public var nodes: [LabNode]
    public var pods: [LabPod]
    /// Services with ports and resolved endpoints (endpoint nodeName = the pod's node).
    public var services: [Service]
    /// How pods are attached to their nodes.
    public var cni: LabCNI
    /// The cluster's IP families.
    public var ipFamily: LabIPFamily

    public init(clusterCIDR: IPPrefix, serviceCIDR: IPPrefix, nodes: [LabNode], pods: [LabPod], services: [Service],
                cni: LabCNI = .bridge, ipFamily: LabIPFamily = .ipv4) {
        self.ipFamily = ipFamily
        self.clusterCIDR = clusterCIDR
        self.serviceCIDR = serviceCIDR
        self.nodes = nodes
        self.pods = pods
        self.services = services
        self.cni = cni
    }

    enum CodingKeys: String, CodingKey { case clusterCIDR, serviceCIDR, nodes, pods, services, cni, ipFamily }

    /// Decodes state files written before `cni` / `ipFamily` existed as `bridge` / `ipv4`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(clusterCIDR: try c.decode(IPPrefix.self, forKey: .clusterCIDR),
                  serviceCIDR: try c.decode(IPPrefix.self, forKey: .serviceCIDR),
                  nodes: try c.decode([LabNode].self, forKey: .nodes), pods: try c.decode([LabPod].self, forKey: .pods),
                  services: try c.decode([Service].self, forKey: .services),
                  cni: try c.decodeIfPresent(LabCNI.self, forKey: .cni) ?? .bridge,
                  ipFamily: try c.decodeIfPresent(LabIPFamily.self, forKey: .ipFamily) ?? .ipv4)
    }

    /// kube-proxy's --cluster-cidr of `family`.
    public func clusterCIDR(_ family: IPFamily) -> IPPrefix { family == .ipv4 ? clusterCIDR : LabAddressing6.clusterCIDR }
    /// The Service CIDR of `family`.
    public func serviceCIDR(_ family: IPFamily) -> IPPrefix { family == .ipv4 ? serviceCIDR : LabAddressing6.serviceCIDR }
    /// The families the cluster runs (a kube-proxy proxier each).
    public var families: [IPFamily] { ipFamily.families }

    /// The address a node's MASQUERADE gives a connection it sends to a pod on the same node: the address of the egress
    /// device — `cni0` (10.244.N.1) with the bridge CNI; with the routed CNI the pod's veth has no address, so the kernel
    /// picks the node's primary address (`inet_select_addr`), the node IP.
    /// (With IPv6 the same holds by source-address selection: cni0's address, or the node's when routed.)
    public func masqueradeAddressTowardLocalPods(on node: LabNode, family: IPFamily = .ipv4) -> IPAddress {
        cni == .routed ? node.ip(family)! : node.bridgeIP(family)!
    }

    /// The address a node's MASQUERADE gives a connection it sends to a pod on another node: the node IP, or with the
    /// VXLAN CNI the overlay device's address (the route to the other node's pod CIDR leaves through `flannel.1`).
    public func masqueradeAddressTowardRemotePods(on node: LabNode, family: IPFamily = .ipv4) -> IPAddress {
        cni == .vxlan ? node.overlayIP(family)! : node.ip(family)!
    }

    /// The prefix length of a pod's own address: the node's pod CIDR on a bridge, /32 when routed.
    public func podPrefixLength(on node: LabNode) -> Int {
        cni == .routed ? 32 : node.podCIDR.length
    }
}
