import SrcipCore

/// Who opens a connection in a lab experiment; the one client-identity type of the lab.
public enum LabClient: Hashable, Sendable, CustomStringConvertible {
    /// A pod (its own network namespace).
    case pod(LabPod)
    /// A host-network process on a node.
    case host(LabNode)
    /// An off-cluster source (the external client, or the proxy load balancer's address) reaching an entry node.
    case external(IPAddress)

    /// The address the connection leaves the client with.
    public var sourceIP: IPAddress {
        switch self {
        case let .pod(p): return p.ip
        case let .host(n): return n.ip
        case let .external(ip): return ip
        }
    }

    /// The address the connection leaves the client with in `family` (an external client's address is of one family).
    public func sourceIP(_ family: IPFamily) -> IPAddress? {
        switch self {
        case let .pod(p): return p.ip(family)
        case let .host(n): return n.ip(family)
        case let .external(ip): return IPFamily.of(ip) == family ? ip : nil
        }
    }

    public var description: String {
        switch self {
        case let .pod(p): return "pod \(p.name)@\(p.node)"
        case let .host(n): return "host \(n.name)"
        case let .external(ip): return "external \(ip)"
        }
    }
}
