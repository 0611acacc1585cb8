import SrcipCore
import SrcipLabCluster
import SrcipLabWorkloads
import SrcipSystem

/// Names and fixed addresses of one lab's objects outside the cluster plan: namespaces, interfaces, run files, router and client.
///
/// Every namespace is `srcip-<lab>-<role>`; interfaces are created inside their namespaces, so their names only need to be
/// unique per namespace and nothing is added to the host's root namespace.
public struct LabNaming: Sendable, Hashable {
    public let lab: String

    public init(lab: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-")
        guard !lab.isEmpty, lab.count <= 16, lab.allSatisfy({ allowed.contains($0) }) else { throw LabError.invalidLabName(lab) }
        self.lab = lab
    }

    public static let runRoot = "/run/srcip/labs"

    /// Prefix shared by all namespaces of this lab.
    public var prefix: String { "srcip-\(lab)-" }
    public var stateFile: String { "\(Self.runRoot)/\(lab).json" }
    /// Lock serialising `lab apply`/`delete`/`scale` of this lab.
    public var lockFile: String { "\(Self.runRoot)/\(lab).lock" }
    /// Per-lab directory holding daemon logs.
    public var runDirectory: String { "\(Self.runRoot)/\(lab)" }

    /// Namespace holding the node network's bridge.
    public var netNamespace: String { prefix + "net" }
    public var routerNamespace: String { prefix + "router" }
    public var clientNamespace: String { prefix + "ext" }
    public func nodeNamespace(_ node: String) -> String { prefix + node }
    public func podNamespace(_ pod: LabPod) -> String { prefix + "pod-" + pod.name }

    // Interface names inside namespaces.
    public static let nodeBridge = "br0"          // in the "net" namespace
    public static let podBridge = "cni0"          // in each node (bridge CNI)
    public static let uplink = "eth0"             // node, pod, router (node network side) and client
    public static let routerExternal = "ext0"     // router side toward the client
    static func netPort(nodeIndex: Int) -> String { "vnode\(nodeIndex)" }
    static let netRouterPort = "vrouter"

    // Fixed addresses around the cluster.
    public static let routerNodeIP = IPAddress("192.168.10.1")!
    /// Source address of the proxy-mode load balancer toward the nodes.
    public static let loadBalancerProxyIP = LoadBalancerPlan.proxySourceIP
    public static let routerExternalIP = IPAddress("203.0.113.1")!
    public static let clientIP = IPAddress("203.0.113.10")!
    public static let nodeNetwork = IPPrefix("192.168.10.0/24")!
    public static let externalNetwork = IPPrefix("203.0.113.0/24")!
    public static let loadBalancerNetwork = IPPrefix("198.51.100.0/24")!
}
