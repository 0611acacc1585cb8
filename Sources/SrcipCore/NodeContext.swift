/// What the correlator knows about the node it runs on: names, addresses, pod networks, Services, clock offset.
public struct NodeContext: Sendable {
    public var node: String
    /// ifindex → interface name, as known when the context was built.
    public var interfaces: [UInt32: String]
    /// The live table of a trace that follows interfaces (late and renamed ones); consulted before `interfaces`.
    public var interfaceNames: InterfaceNames?
    /// Addresses of this node (all interfaces).
    public var localAddresses: Set<IPAddress>
    /// The interface each local address is configured on (node IP → eth0, 10.244.N.1 → cni0, 10.244.N.0 →
    /// flannel.1); names a SNAT source. An address on several interfaces keeps the first name in sort order.
    public var addressInterfaces: [IPAddress: String] = [:]
    /// Pod networks (kube-proxy's --cluster-cidr); a source inside is a `pod` client.
    public var clusterCIDRs: [IPPrefix]
    /// Addresses of the other cluster nodes, when known; a source there is a `node` client.
    public var nodeAddresses: Set<IPAddress>
    public var catalog: ServiceCatalog
    /// Added to CLOCK_MONOTONIC nanoseconds to get Unix-epoch nanoseconds.
    public var monotonicToUnixNs: Int64

    public init(node: String, interfaces: [UInt32: String] = [:], localAddresses: Set<IPAddress> = [],
                clusterCIDRs: [IPPrefix] = [], nodeAddresses: Set<IPAddress> = [], catalog: ServiceCatalog = ServiceCatalog(services: []),
                monotonicToUnixNs: Int64 = 0) {
        self.node = node
        self.interfaces = interfaces
        self.localAddresses = localAddresses
        self.clusterCIDRs = clusterCIDRs
        self.nodeAddresses = nodeAddresses
        self.catalog = catalog
        self.monotonicToUnixNs = monotonicToUnixNs
    }

    /// Sets `localAddresses` and `addressInterfaces` from addresses per interface name.
    public mutating func setLocalAddresses(_ byInterface: [String: [IPAddress]]) {
        localAddresses = Set(byInterface.values.joined())
        addressInterfaces = [:]
        for name in byInterface.keys.sorted() {
            for a in byInterface[name] ?? [] where addressInterfaces[a] == nil { addressInterfaces[a] = name }
        }
    }

    /// The interface name (the live table's first), or `if<N>` when unknown.
    public func interfaceName(_ ifindex: UInt32) -> String {
        interfaceNames?.name(of: ifindex) ?? interfaces[ifindex] ?? "if\(ifindex)"
    }

    /// The client kind of a source address: in a cluster CIDR → pod; an address of this or another node, or loopback
    /// → node. Whether a node client is this node itself (kube-proxy's `--src-type LOCAL`) is `isThisHost(src)`.
    public func classify(_ src: IPAddress) -> ClientKind {
        if clusterCIDRs.contains(where: { $0.contains(src) }) { return .pod }
        if isThisHost(src) || nodeAddresses.contains(src) { return .node }
        return .external
    }

    /// An address of this node: one of `localAddresses`, or loopback (a host connection to `127.0.0.1:NodePort`).
    public func isThisHost(_ a: IPAddress) -> Bool { localAddresses.contains(a) || a.isLoopback }

    /// Unix-epoch nanoseconds of a CLOCK_MONOTONIC timestamp.
    public func unixNs(_ monotonic: UInt64) -> Int64 { Int64(bitPattern: monotonic) &+ monotonicToUnixNs }
}
