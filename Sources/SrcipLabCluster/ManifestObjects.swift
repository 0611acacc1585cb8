import SrcipCore

/// A container port declared in a pod template.
public struct ManifestContainerPort: Hashable, Sendable, Codable {
    public var name: String?
    public var containerPort: UInt16
    public var proto: L4Protocol

    public init(name: String?, containerPort: UInt16, proto: L4Protocol = .tcp) {
        self.name = name
        self.containerPort = containerPort
        self.proto = proto
    }
}

/// `spec.ports[].targetPort`: a number, a container port name, or absent (= `port`).
public enum ManifestTargetPort: Hashable, Sendable, Codable {
    case number(UInt16)
    case name(String)
}

/// A `Deployment` as the lab uses it: replicas of one pod template, optionally pinned to a node.
public struct ManifestDeployment: Hashable, Sendable, Codable {
    public var namespace: String
    public var name: String
    public var replicas: Int
    public var selector: [String: String]
    public var templateLabels: [String: String]
    public var ports: [ManifestContainerPort]
    /// From `spec.template.spec.nodeName` or `nodeSelector["kubernetes.io/hostname"]`; nil = round-robin.
    public var nodeName: String?

    public init(namespace: String, name: String, replicas: Int, selector: [String: String],
                templateLabels: [String: String], ports: [ManifestContainerPort], nodeName: String?) {
        self.namespace = namespace
        self.name = name
        self.replicas = replicas
        self.selector = selector
        self.templateLabels = templateLabels
        self.ports = ports
        self.nodeName = nodeName
    }
}

/// A bare `Pod`.
public struct ManifestPod: Hashable, Sendable, Codable {
    public var namespace: String
    public var name: String
    public var labels: [String: String]
    public var ports: [ManifestContainerPort]
    /// `spec.nodeName` or `nodeSelector["kubernetes.io/hostname"]`; nil = round-robin.
    public var nodeName: String?

    public init(namespace: String, name: String, labels: [String: String], ports: [ManifestContainerPort], nodeName: String?) {
        self.namespace = namespace
        self.name = name
        self.labels = labels
        self.ports = ports
        self.nodeName = nodeName
    }
}

/// One entry of a Service's `spec.ports`.
public struct ManifestServicePort: Hashable, Sendable, Codable {
    public var name: String?
    public var proto: L4Protocol
    public var port: UInt16
    public var targetPort: ManifestTargetPort?
    public var nodePort: UInt16?

    public init(name: String?, proto: L4Protocol = .tcp, port: UInt16, targetPort: ManifestTargetPort? = nil, nodePort: UInt16? = nil) {
        self.name = name
        self.proto = proto
        self.port = port
        self.targetPort = targetPort
        self.nodePort = nodePort
    }
}

/// A `Service` as written in the manifest, before allocation and endpoint resolution.
public struct ManifestService: Hashable, Sendable, Codable {
    public var namespace: String
    public var name: String
    public var type: ServiceType
    public var clusterIP: IPAddress?
    public var ports: [ManifestServicePort]
    public var selector: [String: String]
    public var externalIPs: [IPAddress]
    public var externalTrafficPolicy: TrafficPolicy
    public var internalTrafficPolicy: TrafficPolicy
    public var healthCheckNodePort: UInt16?
    public var sessionAffinityTimeout: Int?
    public var loadBalancerSourceRanges: [IPPrefix]
    /// `status.loadBalancer.ingress[].ip` entries whose `ipMode` is unset or `VIP`.
    public var loadBalancerIngressIPs: [IPAddress]
    /// `spec.allocateLoadBalancerNodePorts` (default true).
    public var allocateLoadBalancerNodePorts: Bool
    /// `spec.ipFamilies` as written (empty: the cluster's default).
    public var ipFamilies: [IPFamily] = []
    /// `spec.ipFamilyPolicy` (nil: SingleStack, or as implied by `clusterIPs`).
    public var ipFamilyPolicy: IPFamilyPolicy?
    /// `spec.clusterIPs[1]`, the requested ClusterIP of the second family.
    public var secondaryClusterIP: IPAddress?

    public init(namespace: String, name: String, type: ServiceType = .clusterIP, clusterIP: IPAddress? = nil,
                ports: [ManifestServicePort], selector: [String: String] = [:], externalIPs: [IPAddress] = [],
                externalTrafficPolicy: TrafficPolicy = .cluster, internalTrafficPolicy: TrafficPolicy = .cluster,
                healthCheckNodePort: UInt16? = nil, sessionAffinityTimeout: Int? = nil,
                loadBalancerSourceRanges: [IPPrefix] = [], loadBalancerIngressIPs: [IPAddress] = [],
                allocateLoadBalancerNodePorts: Bool = true) {
        self.namespace = namespace
        self.name = name
        self.type = type
        self.clusterIP = clusterIP
        self.ports = ports
        self.selector = selector
        self.externalIPs = externalIPs
        self.externalTrafficPolicy = externalTrafficPolicy
        self.internalTrafficPolicy = internalTrafficPolicy
        self.healthCheckNodePort = healthCheckNodePort
        self.sessionAffinityTimeout = sessionAffinityTimeout
        self.loadBalancerSourceRanges = loadBalancerSourceRanges
        self.loadBalancerIngressIPs = loadBalancerIngressIPs
        self.allocateLoadBalancerNodePorts = allocateLoadBalancerNodePorts
    }
}

/// Everything a manifest declared, in document order.
public struct ManifestObjects: Hashable, Sendable, Codable {
    public var deployments: [ManifestDeployment]
    public var pods: [ManifestPod]
    public var services: [ManifestService]

    public init(deployments: [ManifestDeployment] = [], pods: [ManifestPod] = [], services: [ManifestService] = []) {
        self.deployments = deployments
        self.pods = pods
        self.services = services
    }

    /// Appends another manifest's objects (e.g. several files).
    public mutating func append(_ other: ManifestObjects) {
        deployments += other.deployments
        pods += other.pods
        services += other.services
    }
}
