/// How a flow was attributed to a Service.
public enum ServiceResolution: String, Hashable, Sendable, Codable, CaseIterable {
    /// The packet was addressed to a Service address (ClusterIP, NodePort, LB IP, externalIP).
    case vip
    /// Only the backend was seen (the translation happened before any tc hook); resolved from the endpoint.
    case endpoint
}

/// A Service port that matched a destination.
public struct ServiceMatch: Hashable, Sendable {
    public var service: Service
    public var port: ServicePort
    public var frontend: Frontend
    public var resolvedFrom: ServiceResolution

    public init(service: Service, port: ServicePort, frontend: Frontend, resolvedFrom: ServiceResolution) {
        self.service = service
        self.port = port
        self.frontend = frontend
        self.resolvedFrom = resolvedFrom
    }
}

/// Two Service ports that claim the same frontend (`ip:port/proto`, or a NodePort); the first one listed wins lookups.
public struct ServiceCollision: Hashable, Sendable, CustomStringConvertible {
    /// `172.30.0.41:80/tcp` or `nodePort 30080/tcp`.
    public var frontend: String
    /// `ns/name:port` of the winner and of the one that was shadowed.
    public var kept: String
    public var shadowed: String

    public var description: String { "\(frontend) is claimed by \(kept) and \(shadowed); using \(kept)" }
}

/// An index over Services for attributing flows: by frontend address and by endpoint.
/// Lookups are deterministic: on collisions the Service listed first wins (and the collision is recorded).
public struct ServiceCatalog: Sendable {
    private struct Key: Hashable { var ip: IPAddress; var port: UInt16; var proto: L4Protocol }
    /// NodePorts are per address family: a Service's NodePort is open on the families of its ClusterIPs (both for a
    /// dual-stack Service, whose `secondaryClusterIP` is indexed like its `clusterIP`).
    private struct PortKey: Hashable { var port: UInt16; var proto: L4Protocol; var v4: Bool }
    private struct Ref: Hashable { var service: Int; var port: Int; var frontend: Frontend }

    public let services: [Service]
    /// Where the catalog came from (`iptables`, `nftables`, a file name), for messages.
    public let source: String
    /// What kind of input the catalog was read from; decisions use this, never `source`.
    public let origin: CatalogOrigin
    /// The pod network(s) (kube-proxy's cluster CIDR); empty when unknown.
    public let clusterCIDRs: [IPPrefix]
    /// Frontends claimed more than once, in input order.
    public private(set) var collisions: [ServiceCollision] = []
    private var byVIP: [Key: Ref] = [:]
    private var byNodePort: [PortKey: Ref] = [:]
    private var byEndpoint: [Key: [Ref]] = [:]
    private var vipAddresses: Set<IPAddress> = []

    public init(services: [Service], source: String = "", origin: CatalogOrigin = .none, clusterCIDRs: [IPPrefix] = []) {
        self.services = services
        self.source = source
        self.origin = origin
        self.clusterCIDRs = clusterCIDRs
        for (si, svc) in services.enumerated() {
            for (pi, port) in svc.ports.enumerated() {
                var vips: [(IPAddress, Frontend)] = []
                vips += svc.clusterIPs.map { ($0, .clusterIP) }
                vips += svc.externalIPs.map { ($0, .externalIP) }
                vips += svc.loadBalancerIPs.map { ($0, .loadBalancer) }
                for (ip, fe) in vips {
                    vipAddresses.insert(ip)
                    let key = Key(ip: ip, port: port.port, proto: port.proto)
                    let ref = Ref(service: si, port: pi, frontend: fe)
                    if let have = byVIP[key] {
                        if have.service != si || have.port != pi {
                            note("\(Endpoint.format(ip, port.port))/\(port.proto)", have, ref)
                        }
                    } else {
                        byVIP[key] = ref
                    }
                }
                if let np = port.nodePort {
                    let cipFamilies = svc.clusterIPs.map(\.isIPv4)
                    let families = cipFamilies.isEmpty ? [true, false] : [true, false].filter(cipFamilies.contains)
                    let ref = Ref(service: si, port: pi, frontend: .nodePort)
                    for v4 in families {
                        let key = PortKey(port: np, proto: port.proto, v4: v4)
                        if let have = byNodePort[key] {
                            if families.count == 1 || v4 { note("nodePort \(np)/\(port.proto)", have, ref) }
                        } else {
                            byNodePort[key] = ref
                        }
                    }
                }
                for ep in port.endpoints {
                    let ref = Ref(service: si, port: pi, frontend: .clusterIP)
                    let k = Key(ip: ep.ip, port: ep.port, proto: port.proto)
                    if !(byEndpoint[k]?.contains(ref) ?? false) { byEndpoint[k, default: []].append(ref) }
                }
            }
        }
    }

    /// The Service port addressed by `ip:port`. NodePorts match only when `ip` is one of `localAddresses`
    /// (the addresses of the node the packet arrived at) or IPv4 loopback (kube-proxy's iptables mode serves
    /// `127.0.0.1:NodePort`, §4 row 10; nftables mode rejects it on lo); a Service address wins over a NodePort.
    public func frontend(ip: IPAddress, port: UInt16, proto: L4Protocol,
                         localAddresses: Set<IPAddress> = []) -> ServiceMatch? {
        if let r = byVIP[Key(ip: ip, port: port, proto: proto)] { return match(r, .vip) }
        if localAddresses.contains(ip) || (ip.isIPv4 && ip.isLoopback),
           let r = byNodePort[PortKey(port: port, proto: proto, v4: ip.isIPv4)] {
            return match(r, .vip)
        }
        return nil
    }

    /// The Service port whose endpoint is `ip:port` (the first listed one when several Services share the endpoint).
    public func endpoint(ip: IPAddress, port: UInt16, proto: L4Protocol) -> ServiceMatch? {
        byEndpoint[Key(ip: ip, port: port, proto: proto)]?.first.map { match($0, .endpoint) }
    }

    /// Every Service port that has `ip:port` as an endpoint, in catalog order.
    public func endpoints(ip: IPAddress, port: UInt16, proto: L4Protocol) -> [ServiceMatch] {
        (byEndpoint[Key(ip: ip, port: port, proto: proto)] ?? []).map { match($0, .endpoint) }
    }

    /// Whether `ip` is a ClusterIP, externalIP or load-balancer IP of some Service.
    public func isServiceAddress(_ ip: IPAddress) -> Bool { vipAddresses.contains(ip) }

    /// Whether `ip` is in the pod network (nil when the cluster CIDR is unknown).
    public func isPodAddress(_ ip: IPAddress) -> Bool? {
        clusterCIDRs.isEmpty ? nil : clusterCIDRs.contains { $0.contains(ip) }
    }

    public var isEmpty: Bool { services.isEmpty }

    private mutating func note(_ frontend: String, _ kept: Ref, _ shadowed: Ref) {
        func name(_ r: Ref) -> String { services[r.service].servicePortName(services[r.service].ports[r.port]) }
        collisions.append(ServiceCollision(frontend: frontend, kept: name(kept), shadowed: name(shadowed)))
    }

    private func match(_ r: Ref, _ how: ServiceResolution) -> ServiceMatch {
        let svc = services[r.service]
        return ServiceMatch(service: svc, port: svc.ports[r.port], frontend: r.frontend, resolvedFrom: how)
    }
}

/// The kind of input a Service catalog was read from. kube-proxy's rules on a node list only the endpoints that node
/// may use (a Local policy without local endpoints shows none), while Kubernetes objects list every endpoint.
public enum CatalogOrigin: Sendable, Hashable {
    /// No catalog, or one built by hand (tests).
    case none
    /// kube-proxy's iptables rules (iptables-save).
    case iptablesRules
    /// kube-proxy's nftables table.
    case nftablesRules
    /// Services and EndpointSlices (a kubectl dump).
    case kubernetesObjects

    /// Whether the catalog was read from kube-proxy's rules of this node.
    public var isKubeProxyRules: Bool { self == .iptablesRules || self == .nftablesRules }
}
