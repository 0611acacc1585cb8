import SrcipCore

/// kube-proxy's mode in the lab.
public enum ProxyMode: String, Sendable, CaseIterable, Codable {
    case iptables
    case nftables
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

    public init(clusterCIDR: IPPrefix, serviceCIDR: IPPrefix, nodes: [LabNode], pods: [LabPod], services: [Service]) {
        self.clusterCIDR = clusterCIDR
        self.serviceCIDR = serviceCIDR
        self.nodes = nodes
        self.pods = pods
        self.services = services
    }
}
