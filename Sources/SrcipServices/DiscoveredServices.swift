import SrcipCore

/// Which kube-proxy structures a rule set contained. Discovery decides on these (which mode `auto` uses, whether
/// to try the other iptables backend), never on the text of a warning.
public struct KubeProxyStructures: OptionSet, Sendable, Hashable, Codable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// iptables `nat` table with kube-proxy's `KUBE-SERVICES` chain.
    public static let iptablesNAT = KubeProxyStructures(rawValue: 1 << 0)
    /// iptables `filter` table with kube-proxy's `KUBE-*` chains (no-endpoint rejects, health-check ports).
    public static let iptablesFilter = KubeProxyStructures(rawValue: 1 << 1)
    /// nftables `table ip kube-proxy`.
    public static let nftablesIPv4 = KubeProxyStructures(rawValue: 1 << 2)
    /// nftables `table ip6 kube-proxy`.
    public static let nftablesIPv6 = KubeProxyStructures(rawValue: 1 << 3)
    /// A kubectl dump (Services and EndpointSlices rather than rules).
    public static let kubernetesObjects = KubeProxyStructures(rawValue: 1 << 4)

    public static let iptables: KubeProxyStructures = [.iptablesNAT, .iptablesFilter]
    public static let nftables: KubeProxyStructures = [.nftablesIPv4, .nftablesIPv6]
}

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
    /// What the input contained; empty when it had no kube-proxy rules (the warnings then say so).
    public var structures: KubeProxyStructures

    public init(services: [Service], clusterCIDRs: [IPPrefix] = [], source: String, warnings: [String] = [],
                nodeAddresses: [IPAddress] = [], structures: KubeProxyStructures = []) {
        self.services = services
        self.clusterCIDRs = clusterCIDRs
        self.source = source
        self.warnings = warnings.map { InputLimits.excerpt($0, limit: 400) }
        self.nodeAddresses = nodeAddresses
        self.structures = structures
    }

    /// Whether kube-proxy rules (or Kubernetes objects) were found at all.
    public var hasKubeProxyRules: Bool { !structures.isEmpty }

    /// The lookup index the flow code uses.
    public func catalog() -> ServiceCatalog {
        ServiceCatalog(services: services, source: source, origin: origin, clusterCIDRs: clusterCIDRs)
    }

    /// The catalog's origin from what the input contained (Kubernetes objects list every endpoint; rules only this node's).
    public var origin: CatalogOrigin {
        if structures.contains(.kubernetesObjects) { return .kubernetesObjects }
        if !structures.isDisjoint(with: .nftables) { return .nftablesRules }
        if !structures.isDisjoint(with: .iptables) { return .iptablesRules }
        return .none
    }

    /// One line for logs: `6 Services (6 ports, 6 endpoints) from iptables (auto); cluster CIDR 10.0.0.0/8; 0 warnings`.
    public var summary: String {
        let ports = services.reduce(0) { $0 + $1.ports.count }
        let eps = services.reduce(0) { $0 + $1.ports.reduce(0) { $0 + $1.endpoints.count } }
        let cidr = clusterCIDRs.isEmpty ? "cluster CIDR unknown" : "cluster CIDR " + clusterCIDRs.map(\.description).joined(separator: ",")
        return "\(services.count) Services (\(ports) ports, \(eps) endpoints) from \(source); \(cidr); \(warnings.count) warnings"
    }

    /// Appends another family's or file's services (e.g. iptables-save followed by ip6tables-save); a Service read
    /// from both families (same namespace/name, ClusterIPs of different families) becomes one dual-stack Service.
    public mutating func merge(_ other: DiscoveredServices) {
        services.appendFoldingFamilies(other.services)
        for c in other.clusterCIDRs where !clusterCIDRs.contains(c) { clusterCIDRs.append(c) }
        warnings += other.warnings.map { InputLimits.excerpt($0, limit: 400) }
        structures.formUnion(other.structures)
        nodeAddresses += other.nodeAddresses.filter { !nodeAddresses.contains($0) }
    }
}
