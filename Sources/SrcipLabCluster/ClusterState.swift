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
}

/// One emulated node: a network namespace on the node network with a pod bridge.
public struct LabNode: Hashable, Sendable, Codable {
    public var name: String          // e.g. "node1"
    public var ip: IPAddress         // address on the node network, e.g. 192.168.10.11
    public var podCIDR: IPPrefix     // e.g. 10.244.1.0/24; the bridge cni0 holds the first address

    public init(name: String, ip: IPAddress, podCIDR: IPPrefix) {
        self.name = name
        self.ip = ip
        self.podCIDR = podCIDR
    }
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

    public init(namespace: String, name: String, labels: [String: String], node: String, ip: IPAddress, ports: [String: UInt16]) {
        self.namespace = namespace
        self.name = name
        self.labels = labels
        self.node = node
        self.ip = ip
        self.ports = ports
    }
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

    public init(clusterCIDR: IPPrefix, serviceCIDR: IPPrefix, nodes: [LabNode], pods: [LabPod], services: [Service],
                cni: LabCNI = .bridge) {
        self.clusterCIDR = clusterCIDR
        self.serviceCIDR = serviceCIDR
        self.nodes = nodes
        self.pods = pods
        self.services = services
        self.cni = cni
    }

    enum CodingKeys: String, CodingKey { case clusterCIDR, serviceCIDR, nodes, pods, services, cni }

    /// Decodes state files written before `cni` existed as `bridge`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(clusterCIDR: try c.decode(IPPrefix.self, forKey: .clusterCIDR),
                  serviceCIDR: try c.decode(IPPrefix.self, forKey: .serviceCIDR),
                  nodes: try c.decode([LabNode].self, forKey: .nodes), pods: try c.decode([LabPod].self, forKey: .pods),
                  services: try c.decode([Service].self, forKey: .services),
                  cni: try c.decodeIfPresent(LabCNI.self, forKey: .cni) ?? .bridge)
    }

    /// The address a node's MASQUERADE gives a connection it sends to a pod on the same node: the address of the egress
    /// device — `cni0` (10.244.N.1) with the bridge CNI; with the routed CNI the pod's veth has no address, so the kernel
    /// picks the node's primary address (`inet_select_addr`), the node IP.
    public func masqueradeAddressTowardLocalPods(on node: LabNode) -> IPAddress {
        cni == .bridge ? node.bridgeIP : node.ip
    }

    /// The prefix length of a pod's own address: the node's pod CIDR on a bridge, /32 when routed.
    public func podPrefixLength(on node: LabNode) -> Int {
        cni == .bridge ? node.podCIDR.length : 32
    }
}
