import SrcipCore

/// The lab's fixed addressing plan, shared by state building, rule rendering and the netns topology.
public enum LabAddressing {
    /// Network joining the node namespaces (and the external client).
    public static let nodeNetwork = IPPrefix(address: .v4(0xC0A8_0A00), length: 24)            // 192.168.10.0/24
    /// kube-proxy's --cluster-cidr: the union of all node pod CIDRs.
    public static let clusterCIDR = IPPrefix(address: .v4(0x0AF4_0000), length: 16)            // 10.244.0.0/16
    /// The Service network; ClusterIPs come from here.
    public static let serviceCIDR = IPPrefix(address: .v4(0x0A60_0000), length: 16)            // 10.96.0.0/16
    /// Network of the emulated off-cluster clients.
    public static let externalClientNetwork = IPPrefix(address: .v4(0xCB00_7100), length: 24)  // 203.0.113.0/24
    /// The default external client address.
    public static let externalClient = IPAddress.v4(0xCB00_710A)                                // 203.0.113.10

    /// First ClusterIP handed out when a Service does not ask for one.
    public static let firstClusterIP = IPAddress.v4(0x0A60_000A)                                // 10.96.0.10
    /// First LoadBalancer ingress IP handed out when a Service has none in its status.
    public static let firstLoadBalancerIP = IPAddress.v4(0xC633_640A)                           // 198.51.100.10
    /// NodePort range accepted by the API server.
    public static let nodePortRange: ClosedRange<UInt16> = 30000...32767
    /// First NodePort handed out when a Service port does not ask for one.
    public static let firstNodePort: UInt16 = 30080
    /// First healthCheckNodePort handed out for LoadBalancer + externalTrafficPolicy Local.
    public static let firstHealthCheckNodePort: UInt16 = 32000
    /// Largest node count the plan can address (node IPs .11 … .250).
    public static let maxNodes = 240
    /// Default number of nodes.
    public static let defaultNodeCount = 3

    /// `node<i>` for 1-based `i`.
    public static func nodeName(_ index: Int) -> String { "node\(index)" }

    /// 192.168.10.(10+i) for 1-based `i`.
    public static func nodeIP(_ index: Int) -> IPAddress {
        offset(nodeNetwork.address, 10 + index)
    }

    /// 10.244.i.0/24 for 1-based `i`.
    public static func podCIDR(_ index: Int) -> IPPrefix {
        IPPrefix(address: offset(clusterCIDR.address, index << 8), length: 24)
    }

    /// The bridge (`cni0`) address of a node: the first address of its pod CIDR.
    public static func bridgeIP(_ podCIDR: IPPrefix) -> IPAddress { offset(podCIDR.address, 1) }

    /// The `n`-th pod address of a node (0-based): .2, .3, …
    public static func podIP(_ podCIDR: IPPrefix, _ n: Int) -> IPAddress { offset(podCIDR.address, 2 + n) }

    /// `ip + n` for IPv4 addresses.
    public static func offset(_ ip: IPAddress, _ n: Int) -> IPAddress {
        guard case .v4(let v) = ip else { return ip }
        return .v4(UInt32(truncatingIfNeeded: Int(v) + n))
    }
}

extension LabNode {
    /// The bridge (`cni0`) address on this node, 10.244.i.1.
    public var bridgeIP: IPAddress { LabAddressing.bridgeIP(podCIDR) }
    /// The bridge address of `family`: 10.244.i.1 or fd00:10:244:i::1.
    public func bridgeIP(_ family: IPFamily) -> IPAddress? { podCIDR(family).map { LabAddressing.next($0.address) } }
    /// The VXLAN overlay address (flannel's): the pod CIDR's network address, 10.244.i.0 or fd00:10:244:i::.
    public func overlayIP(_ family: IPFamily) -> IPAddress? { podCIDR(family)?.address }
}
