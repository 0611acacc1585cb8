/// How a flow was attributed to a Service.
public enum ServiceResolution: String, Hashable, Sendable, Codable {
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

/// An index over Services for attributing flows: by frontend address and by endpoint.
public struct ServiceCatalog: Sendable {
    private struct Key: Hashable { var ip: IPAddress; var port: UInt16; var proto: L4Protocol }
    private struct PortKey: Hashable { var port: UInt16; var proto: L4Protocol }
    private struct Ref { var service: Int; var port: Int; var frontend: Frontend }

    public let services: [Service]
    /// Where the catalog came from (`iptables`, `nftables`, a file name), for messages.
    public let source: String
    private var byVIP: [Key: Ref] = [:]
    private var byNodePort: [PortKey: Ref] = [:]
    private var byEndpoint: [Key: Ref] = [:]

    public init(services: [Service], source: String = "") {
        self.services = services
        self.source = source
        for (si, svc) in services.enumerated() {
            for (pi, port) in svc.ports.enumerated() {
                if let cip = svc.clusterIP {
                    byVIP[Key(ip: cip, port: port.port, proto: port.proto)] = Ref(service: si, port: pi, frontend: .clusterIP)
                }
                for ip in svc.externalIPs {
                    byVIP[Key(ip: ip, port: port.port, proto: port.proto)] = Ref(service: si, port: pi, frontend: .externalIP)
                }
                for ip in svc.loadBalancerIPs {
                    byVIP[Key(ip: ip, port: port.port, proto: port.proto)] = Ref(service: si, port: pi, frontend: .loadBalancer)
                }
                if let np = port.nodePort {
                    byNodePort[PortKey(port: np, proto: port.proto)] = Ref(service: si, port: pi, frontend: .nodePort)
                }
                for ep in port.endpoints {
                    let k = Key(ip: ep.ip, port: ep.port, proto: port.proto)
                    if byEndpoint[k] == nil { byEndpoint[k] = Ref(service: si, port: pi, frontend: .clusterIP) }
                }
            }
        }
    }

    /// The Service port addressed by `ip:port`. NodePorts match only when `ip` is one of `localAddresses`
    /// (the addresses of the node the packet arrived at).
    public func frontend(ip: IPAddress, port: UInt16, proto: L4Protocol,
                         localAddresses: Set<IPAddress> = []) -> ServiceMatch? {
        if let r = byVIP[Key(ip: ip, port: port, proto: proto)] { return match(r, .vip) }
        if localAddresses.contains(ip), let r = byNodePort[PortKey(port: port, proto: proto)] { return match(r, .vip) }
        return nil
    }

    /// The Service port whose endpoint is `ip:port`.
    public func endpoint(ip: IPAddress, port: UInt16, proto: L4Protocol) -> ServiceMatch? {
        byEndpoint[Key(ip: ip, port: port, proto: proto)].map { match($0, .endpoint) }
    }

    public var isEmpty: Bool { services.isEmpty }

    private func match(_ r: Ref, _ how: ServiceResolution) -> ServiceMatch {
        let svc = services[r.service]
        return ServiceMatch(service: svc, port: svc.ports[r.port], frontend: r.frontend, resolvedFrom: how)
    }
}
