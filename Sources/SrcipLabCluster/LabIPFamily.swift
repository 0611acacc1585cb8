import SrcipCore

/// One IP family, spelled as in `spec.ipFamilies`.
public enum IPFamily: String, Hashable, Sendable, CaseIterable, Codable, Comparable {
    case ipv4 = "IPv4"
    case ipv6 = "IPv6"

    /// The family of `ip`.
    public static func of(_ ip: IPAddress) -> IPFamily { ip.isIPv4 ? .ipv4 : .ipv6 }

    /// The other family.
    public var other: IPFamily { self == .ipv4 ? .ipv6 : .ipv4 }

    public static func < (a: IPFamily, b: IPFamily) -> Bool { a == .ipv4 && b == .ipv6 }
}

/// `spec.ipFamilyPolicy`.
public enum IPFamilyPolicy: String, Hashable, Sendable, CaseIterable, Codable {
    case singleStack = "SingleStack"
    case preferDualStack = "PreferDualStack"
    case requireDualStack = "RequireDualStack"
}

/// The IP families of a lab cluster (`lab up --ip-family`): which addresses nodes, pods and Services get and which of
/// kube-proxy's proxiers run. `dual` is IPv4-primary (Services without `ipFamilies` get IPv4 first).
public enum LabIPFamily: String, Sendable, CaseIterable, Codable {
    case ipv4
    case ipv6
    case dual

    /// The cluster's families, primary first.
    public var families: [IPFamily] {
        switch self {
        case .ipv4: return [.ipv4]
        case .ipv6: return [.ipv6]
        case .dual: return [.ipv4, .ipv6]
        }
    }

    /// Whether the lab's namespaces carry IPv6 addresses.
    public var hasIPv6: Bool { self != .ipv4 }
}

/// The lab's IPv6 addressing plan (ULA), mirroring the IPv4 one: the IPv4 address's last octets in the last hextets.
public enum LabAddressing6 {
    /// Node network, fd00:192:168:10::/64 (node N: ::1N, router ::1, proxy LB ::2).
    public static let nodeNetwork = IPPrefix("fd00:192:168:10::/64")!
    /// Cluster CIDR, fd00:10:244::/56; node N's pod CIDR is fd00:10:244:N::/64 (N in hex).
    public static let clusterCIDR = IPPrefix("fd00:10:244::/56")!
    /// Service CIDR, fd00:10:96::/112; ClusterIPs from ::a.
    public static let serviceCIDR = IPPrefix("fd00:10:96::/112")!
    public static let firstClusterIP = IPAddress("fd00:10:96::a")!
    /// Network of the external client, fd00:203:0:113::/64 (router ::1, client ::10).
    public static let externalClientNetwork = IPPrefix("fd00:203:0:113::/64")!
    public static let externalClient = IPAddress("fd00:203:0:113::10")!
    public static let routerExternalIP = IPAddress("fd00:203:0:113::1")!
    public static let routerNodeIP = IPAddress("fd00:192:168:10::1")!
    /// Source address of the proxy-mode load balancer toward the nodes.
    public static let loadBalancerProxyIP = IPAddress("fd00:192:168:10::2")!
    /// LoadBalancer ingress IPs, fd00:198:51:100::a onward.
    public static let firstLoadBalancerIP = IPAddress("fd00:198:51:100::a")!
    public static let loadBalancerNetwork = IPPrefix("fd00:198:51:100::/64")!

    /// fd00:192:168:10::(0x10 + i) for 1-based `i` (node1 → ::11).
    public static func nodeIP(_ index: Int) -> IPAddress { offset(nodeNetwork.address, 0x10 + index) }

    /// fd00:10:244:i::/64 for 1-based `i`.
    public static func podCIDR(_ index: Int) -> IPPrefix {
        let b = clusterCIDR.address.bytes
        var bytes = Array(b[0..<6]) + [UInt8(index >> 8 & 0xff), UInt8(index & 0xff)] + [UInt8](repeating: 0, count: 8)
        bytes[6] |= b[6]
        return IPPrefix(address: IPAddress(bytes: bytes)!, length: 64)
    }

    /// `ip + n` for IPv6 addresses (low 64 bits).
    public static func offset(_ ip: IPAddress, _ n: Int) -> IPAddress {
        guard !ip.isIPv4 else { return LabAddressing.offset(ip, n) }
        var bytes = ip.bytes
        var carry = n
        for i in stride(from: 15, through: 8, by: -1) where carry != 0 {
            let v = Int(bytes[i]) + carry
            bytes[i] = UInt8(truncatingIfNeeded: v)
            carry = v >> 8
        }
        return IPAddress(bytes: bytes)!
    }
}

extension LabAddressing {
    /// The cluster CIDR, service CIDR and client address of `family`.
    public static func clusterCIDR(_ family: IPFamily) -> IPPrefix { family == .ipv4 ? clusterCIDR : LabAddressing6.clusterCIDR }
    public static func serviceCIDR(_ family: IPFamily) -> IPPrefix { family == .ipv4 ? serviceCIDR : LabAddressing6.serviceCIDR }
    public static func externalClient(_ family: IPFamily) -> IPAddress { family == .ipv4 ? externalClient : LabAddressing6.externalClient }
    /// `ip + n` in either family.
    public static func next(_ ip: IPAddress, _ n: Int = 1) -> IPAddress { LabAddressing6.offset(ip, n) }
}
