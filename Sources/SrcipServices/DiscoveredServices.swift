import SrcipCore

/// Services rebuilt from one source, with the pod network(s) kube-proxy uses to tell pods from other clients.
public struct DiscoveredServices: Sendable, Equatable, Codable {
    public var services: [Service]
    /// kube-proxy's `--cluster-cidr`, read from its masquerade rules (`! -s <cidr> -j KUBE-MARK-MASQ`); empty when unknown.
    public var clusterCIDRs: [IPPrefix]
    /// What was read: `iptables`, `nftables`, `kubectl`, optionally with the file name.
    public var source: String
    /// Problems that left the rest usable (missing chains, skipped services, ambiguities).
    public var warnings: [String]
    /// Cluster nodes' addresses (InternalIP/ExternalIP of the Node objects of a kubectl dump); empty when unknown.
    public var nodeAddresses: [IPAddress]

    public init(services: [Service], clusterCIDRs: [IPPrefix] = [], source: String, warnings: [String] = [],
                nodeAddresses: [IPAddress] = []) {
        self.services = services
        self.clusterCIDRs = clusterCIDRs
        self.source = source
        self.warnings = warnings
        self.nodeAddresses = nodeAddresses
    }

    /// The lookup index the flow code uses.
    public func catalog() -> ServiceCatalog {
        ServiceCatalog(services: services, source: source, clusterCIDRs: clusterCIDRs)
    }

    /// One line for logs: `6 Services (6 ports, 6 endpoints) from iptables (auto); cluster CIDR 10.0.0.0/8; 0 warnings`.
    public var summary: String {
        let ports = services.reduce(0) { $0 + $1.ports.count }
        let eps = services.reduce(0) { $0 + $1.ports.reduce(0) { $0 + $1.endpoints.count } }
        let cidr = clusterCIDRs.isEmpty ? "cluster CIDR unknown" : "cluster CIDR " + clusterCIDRs.map(\.description).joined(separator: ",")
        return "\(services.count) Services (\(ports) ports, \(eps) endpoints) from \(source); \(cidr); \(warnings.count) warnings"
    }

    /// Appends another family's or file's services (e.g. iptables-save followed by ip6tables-save).
    public mutating func merge(_ other: DiscoveredServices) {
        services += other.services
        for c in other.clusterCIDRs where !clusterCIDRs.contains(c) { clusterCIDRs.append(c) }
        warnings += other.warnings
        nodeAddresses += other.nodeAddresses.filter { !nodeAddresses.contains($0) }
    }
}
