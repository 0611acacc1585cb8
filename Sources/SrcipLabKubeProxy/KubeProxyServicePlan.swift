import SrcipCore
import SrcipLabCluster

/// One service port as kube-proxy's syncProxyRules sees it on one node: policies, addresses and categorised endpoints
/// (`proxy.CategorizeEndpoints`). Shared by the iptables and nftables renderers and the health check.
struct KubeProxyServicePlan {
    let service: Service
    let port: ServicePort
    /// `ns/name:port` or `ns/name`.
    let servicePortName: String
    let proto: String
    let clusterIP: IPAddress
    /// The family of the proxier this plan belongs to.
    let family: IPFamily
    let externalIPs: [IPAddress]
    let loadBalancerVIPs: [IPAddress]
    let sourceRanges: [IPPrefix]
    let nodePort: UInt16?
    /// Only for LoadBalancer services with externalTrafficPolicy Local (`apiservice.NeedsHealthCheck`).
    let healthCheckNodePort: UInt16?
    let affinityTimeout: Int?
    let internalPolicyLocal: Bool
    let externalPolicyLocal: Bool
    let externallyAccessible: Bool
    let clusterEndpoints: [ServiceEndpoint]
    let localEndpoints: [ServiceEndpoint]
    /// Union of the endpoints this node may DNAT to, in kube-proxy's order.
    let allReachableEndpoints: [ServiceEndpoint]
    /// Usable endpoints exist anywhere in the cluster.
    let hasEndpoints: Bool

    var usesClusterEndpoints: Bool { !internalPolicyLocal || externallyAccessible }
    var usesLocalEndpoints: Bool { internalPolicyLocal || (externalPolicyLocal && externallyAccessible) }
    var usesClusterPolicyChain: Bool { !clusterEndpoints.isEmpty && usesClusterEndpoints }
    var usesLocalPolicyChain: Bool { !localEndpoints.isEmpty && usesLocalEndpoints }
    var hasInternalEndpoints: Bool { internalPolicyLocal ? hasEndpoints && !localEndpoints.isEmpty : hasEndpoints }
    var hasExternalEndpoints: Bool { externalPolicyLocal ? hasEndpoints && !localEndpoints.isEmpty : hasEndpoints }
    var usesExternalTrafficChain: Bool { hasEndpoints && externallyAccessible }

    /// Every programmable service port of `state` for `node` in `family` (one proxier per family, as kube-proxy runs
    /// in dual-stack), in a stable order (kube-proxy's own order is a Go map walk).
    static func plans(_ state: ClusterState, node: LabNode, family: IPFamily = .ipv4) -> [KubeProxyServicePlan] {
        var out: [KubeProxyServicePlan] = []
        for service in state.services {
            guard let cip = service.clusterIPs.first(where: { IPFamily.of($0) == family }) else { continue }
            for port in service.ports where port.proto.hasPorts {
                out.append(KubeProxyServicePlan(service: service, port: port, clusterIP: cip, node: node))
            }
        }
        return out.sorted { ($0.servicePortName, $0.proto) < ($1.servicePortName, $1.proto) }
    }

    /// The plan of the proxier of `clusterIP`'s family: addresses and endpoints of the other family are ignored.
    init(service: Service, port: ServicePort, clusterIP: IPAddress, node: LabNode) {
        let family = IPFamily.of(clusterIP)
        let same = { (ip: IPAddress) in IPFamily.of(ip) == family }
        self.family = family
        self.service = service
        self.port = port
        self.servicePortName = service.servicePortName(port)
        self.proto = port.proto.description
        self.clusterIP = clusterIP
        self.externalIPs = service.externalIPs.filter(same)
        self.loadBalancerVIPs = service.type == .loadBalancer ? service.loadBalancerIPs.filter(same) : []
        self.sourceRanges = service.loadBalancerSourceRanges.compactMap { IPPrefix($0.trimmingSpaces) }.filter { same($0.address) }
        self.nodePort = service.type == .clusterIP ? nil : port.nodePort.flatMap { $0 == 0 ? nil : $0 }
        let needsHealthCheck = service.type == .loadBalancer && service.externalTrafficPolicy == .local
        self.healthCheckNodePort = needsHealthCheck ? service.healthCheckNodePort.flatMap { $0 == 0 ? nil : $0 } : nil
        self.affinityTimeout = service.sessionAffinityTimeout
        self.externallyAccessible = nodePort != nil || !loadBalancerVIPs.isEmpty || !externalIPs.isEmpty
        self.externalPolicyLocal = service.externalTrafficPolicy == .local
            && (service.type != .clusterIP || !externalIPs.isEmpty)
        self.internalPolicyLocal = service.internalTrafficPolicy == .local

        let sorted = port.endpoints.filter { same($0.ip) }.sorted {
            Endpoint.format($0.ip, $0.port) < Endpoint.format($1.ip, $1.port)
        }
        let ready = sorted.filter(\.ready)
        let usesCluster = !internalPolicyLocal || externallyAccessible
        let usesLocal = internalPolicyLocal || (externalPolicyLocal && externallyAccessible)
        let cluster = usesCluster ? ready : []
        let local = usesLocal ? ready.filter { $0.nodeName == node.name } : []
        self.clusterEndpoints = cluster
        self.localEndpoints = local
        self.hasEndpoints = !ready.isEmpty
        if !usesLocal {
            allReachableEndpoints = cluster
        } else if !usesCluster {
            allReachableEndpoints = local
        } else {
            allReachableEndpoints = sorted.filter { ep in cluster.contains(ep) || local.contains(ep) }
        }
    }

    /// `ip:port` of an endpoint, as kube-proxy prints it.
    static func endpointString(_ ep: ServiceEndpoint) -> String { Endpoint.format(ep.ip, ep.port) }
}
