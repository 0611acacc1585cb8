import SrcipCore

/// Services rebuilt from one source, with the pod network(s) kube-proxy uses to tell pods from other clients.
public struct DiscoveredServices: Sendable, Equatable {
    public var services: [Service]
    /// kube-proxy's `--cluster-cidr`, read from its masquerade rules (`! -s <cidr> -j KUBE-MARK-MASQ`); empty when unknown.
    public var clusterCIDRs: [IPPrefix]
    /// What was read: `iptables`, `nftables`, `kubectl`, optionally with the file name.
    public var source: String
    /// Problems that left the rest usable (missing chains, skipped services, ambiguities).
    public var warnings: [String]

    public init(services: [Service], clusterCIDRs: [IPPrefix] = [], source: String, warnings: [String] = []) {
        self.services = services
        self.clusterCIDRs = clusterCIDRs
        self.source = source
        self.warnings = warnings
    }

    /// The lookup index the flow code uses.
    public func catalog() -> ServiceCatalog {
        ServiceCatalog(services: services, source: source, clusterCIDRs: clusterCIDRs)
    }

    /// Appends another family's or file's services (e.g. iptables-save followed by ip6tables-save).
    public mutating func merge(_ other: DiscoveredServices) {
        services += other.services
        for c in other.clusterCIDRs where !clusterCIDRs.contains(c) { clusterCIDRs.append(c) }
        warnings += other.warnings
    }
}
