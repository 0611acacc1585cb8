/// Kubernetes Service type.
public enum ServiceType: String, Hashable, Sendable, Codable, CaseIterable {
    case clusterIP = "ClusterIP"
    case nodePort = "NodePort"
    case loadBalancer = "LoadBalancer"
}

/// `externalTrafficPolicy` / `internalTrafficPolicy`.
public enum TrafficPolicy: String, Hashable, Sendable, Codable, CaseIterable {
    case cluster = "Cluster"
    case local = "Local"
}

/// Which address of a Service a packet was sent to.
public enum Frontend: String, Hashable, Sendable, Codable, CaseIterable {
    case clusterIP = "cluster_ip"
    case nodePort = "node_port"
    case loadBalancer = "load_balancer"
    case externalIP = "external_ip"
}

/// One backend of a Service port.
public struct ServiceEndpoint: Hashable, Sendable, Codable {
    public var ip: IPAddress
    public var port: UInt16
    /// The node that hosts the endpoint; nil when unknown (counts as non-local, as in kube-proxy).
    public var nodeName: String?
    public var ready: Bool
    /// Whether the endpoint runs on the node whose rules were read: known from kube-proxy's local-policy
    /// chains (KUBE-SVL / `local-…`) or from a dump read for a named node; nil when it cannot be told.
    public var isLocal: Bool?

    public init(ip: IPAddress, port: UInt16, nodeName: String? = nil, ready: Bool = true, isLocal: Bool? = nil) {
        self.ip = ip
        self.port = port
        self.nodeName = nodeName
        self.ready = ready
        self.isLocal = isLocal
    }
}

/// One port of a Service with its endpoints — the unit kube-proxy programs (a "service port").
public struct ServicePort: Hashable, Sendable, Codable {
    public var name: String?
    public var proto: L4Protocol
    public var port: UInt16
    public var nodePort: UInt16?
    public var endpoints: [ServiceEndpoint]

    public init(name: String?, proto: L4Protocol, port: UInt16, nodePort: UInt16? = nil, endpoints: [ServiceEndpoint] = []) {
        self.name = name
        self.proto = proto
        self.port = port
        self.nodePort = nodePort
        self.endpoints = endpoints
    }
}

/// A Kubernetes Service as kube-proxy sees it: addresses, ports, endpoints and policies.
public struct Service: Hashable, Sendable, Codable {
    public var namespace: String
    public var name: String
    public var type: ServiceType
    public var clusterIP: IPAddress?
    /// `spec.clusterIPs[1]` of a dual-stack Service: the ClusterIP of the other IP family; nil when single-stack.
    public var secondaryClusterIP: IPAddress?
    public var externalIPs: [IPAddress]
    public var loadBalancerIPs: [IPAddress]
    public var loadBalancerSourceRanges: [String]
    public var ports: [ServicePort]
    public var externalTrafficPolicy: TrafficPolicy
    public var internalTrafficPolicy: TrafficPolicy
    public var healthCheckNodePort: UInt16?
    /// `sessionAffinity: ClientIP` timeout in seconds; nil when affinity is off.
    public var sessionAffinityTimeout: Int?

    public init(namespace: String, name: String, type: ServiceType, clusterIP: IPAddress?,
                externalIPs: [IPAddress] = [], loadBalancerIPs: [IPAddress] = [],
                loadBalancerSourceRanges: [String] = [], ports: [ServicePort],
                externalTrafficPolicy: TrafficPolicy = .cluster, internalTrafficPolicy: TrafficPolicy = .cluster,
                healthCheckNodePort: UInt16? = nil, sessionAffinityTimeout: Int? = nil, secondaryClusterIP: IPAddress? = nil) {
        self.namespace = namespace
        self.secondaryClusterIP = secondaryClusterIP
        self.name = name
        self.type = type
        self.clusterIP = clusterIP
        self.externalIPs = externalIPs
        self.loadBalancerIPs = loadBalancerIPs
        self.loadBalancerSourceRanges = loadBalancerSourceRanges
        self.ports = ports
        self.externalTrafficPolicy = externalTrafficPolicy
        self.internalTrafficPolicy = internalTrafficPolicy
        self.healthCheckNodePort = healthCheckNodePort
        self.sessionAffinityTimeout = sessionAffinityTimeout
    }

    /// `spec.clusterIPs`: the primary ClusterIP, then the other family's on a dual-stack Service.
    public var clusterIPs: [IPAddress] { [clusterIP, secondaryClusterIP].compactMap { $0 } }

    /// `namespace/name`.
    public var id: String { "\(namespace)/\(name)" }

    /// kube-proxy's service-port name: `ns/name:port` or `ns/name` for an unnamed port.
    public func servicePortName(_ port: ServicePort) -> String {
        if let n = port.name, !n.isEmpty { return "\(namespace)/\(name):\(n)" }
        return "\(namespace)/\(name)"
    }
}
