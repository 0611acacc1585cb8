import SrcipCore
import SrcipLabCluster

extension ExpectationInput {
    /// The facts SrcipCore's §4 table (`Expectation.expected`) needs for one lab request, as kube-proxy on the receiving
    /// node sees them. This is how the lab labels its requests with §4 rows: it never classifies rows itself.
    ///
    /// - Parameters:
    ///   - entry: the node whose address is targeted (NodePort) or that receives routed external traffic; pod and host
    ///     clients reach ClusterIP, LoadBalancer IPs and externalIPs through their own node.
    ///   - backend: the endpoint pod that answered, if known (a pod reaching itself is a hairpin).
    public init(lab service: Service, frontend: Frontend, client: LabClient, entry: LabNode, backend: LabPod?,
                state: ClusterState, options: KubeProxyOptions = .lab, family: IPFamily = .ipv4) {
        let receiving: LabNode
        switch client {
        case .external: receiving = entry
        case let .pod(p): receiving = frontend == .nodePort ? entry : (state.node(named: p.node) ?? entry)
        case let .host(n): receiving = frontend == .nodePort ? entry : n
        }
        let source = client.sourceIP(family) ?? client.sourceIP
        let kind: ClientKind = state.clusterCIDR(family).contains(source) ? .pod
            : state.nodes.contains { $0.ip(family) == source } ? .node : .external
        let ready = (service.ports.first?.endpoints ?? []).filter { $0.ready && IPFamily.of($0.ip) == family }
        var hairpin = false
        if case let .pod(p) = client, let backend, backend.name == p.name, backend.namespace == p.namespace { hairpin = true }
        var allowed: Bool?
        if frontend == .loadBalancer, !service.loadBalancerSourceRanges.isEmpty {
            allowed = service.loadBalancerSourceRanges.compactMap { IPPrefix($0.trimmingSpaces) }.contains { $0.contains(source) }
        }
        self.init(frontend: frontend, externalTrafficPolicy: service.externalTrafficPolicy,
                  internalTrafficPolicy: service.internalTrafficPolicy, client: kind, sourceIsLocal: receiving.ip(family) == source,
                  hairpin: hairpin, hasEndpoints: !ready.isEmpty, hasLocalEndpoints: ready.contains { $0.nodeName == receiving.name },
                  sourceAllowedByRanges: allowed, masqueradeAll: options.masqueradeAll, detectLocal: options.detectLocal)
    }
}
