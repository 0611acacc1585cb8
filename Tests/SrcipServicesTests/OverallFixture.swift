import SrcipCore

/// What upstream TestOverallIPTablesRules / TestOverallNFTablesRules encode, read off the fixture files by hand:
/// pods 10.0.0.0/8, ClusterIPs 172.30.0.4x, externalIPs 192.168.99.x, LB IPs 1.2.3.4 and 5.6.7.8.
enum OverallFixture {
    static func port(_ nodePort: UInt16? = nil, _ eps: [(String, Bool?)]) -> ServicePort {
        ServicePort(name: "p80", proto: .tcp, port: 80, nodePort: nodePort,
                    endpoints: eps.map { ServiceEndpoint(ip: ip($0.0), port: 80, isLocal: $0.1) })
    }

    /// The iptables view (exact).
    static let services: [Service] = [
        // ClusterIP with one endpoint.
        Service(namespace: "ns1", name: "svc1", type: .clusterIP, clusterIP: ip("172.30.0.41"),
                ports: [port(nil, [("10.180.0.1", nil)])]),
        // LoadBalancer, eTP=Local whose only endpoint is on another node (no KUBE-SVL chain → isLocal false), HC node port 30000.
        Service(namespace: "ns2", name: "svc2", type: .loadBalancer, clusterIP: ip("172.30.0.42"),
                externalIPs: [ip("192.168.99.22")], loadBalancerIPs: [ip("1.2.3.4")],
                ports: [port(3001, [("10.180.0.2", false)])], externalTrafficPolicy: .local, healthCheckNodePort: 30000),
        // NodePort.
        Service(namespace: "ns3", name: "svc3", type: .nodePort, clusterIP: ip("172.30.0.43"),
                ports: [port(3003, [("10.180.0.3", nil)])]),
        // ClusterIP with an externalIP and two endpoints.
        Service(namespace: "ns4", name: "svc4", type: .clusterIP, clusterIP: ip("172.30.0.44"),
                externalIPs: [ip("192.168.99.33")], ports: [port(nil, [("10.180.0.4", nil), ("10.180.0.5", nil)])]),
        // LoadBalancer with loadBalancerSourceRanges and ClientIP affinity.
        Service(namespace: "ns5", name: "svc5", type: .loadBalancer, clusterIP: ip("172.30.0.45"),
                loadBalancerIPs: [ip("5.6.7.8")], loadBalancerSourceRanges: ["203.0.113.0/25"],
                ports: [port(3002, [("10.180.0.3", nil)])], sessionAffinityTimeout: 10800),
        // No endpoints: only the filter REJECT rule.
        Service(namespace: "ns6", name: "svc6", type: .clusterIP, clusterIP: ip("172.30.0.46"), ports: [port(nil, [])]),
    ]

    /// What both rule formats can express: all non-cluster VIPs as one set, no type, no health-check node port.
    struct Comparable: Equatable {
        var id: String
        var clusterIP: IPAddress?
        var externalVIPs: Set<IPAddress>
        var ranges: [String]
        var ports: [ServicePort]
        var etp: TrafficPolicy
        var itp: TrafficPolicy
        var affinity: Int?

        init(_ s: Service) {
            id = s.id
            clusterIP = s.clusterIP
            externalVIPs = Set(s.externalIPs + s.loadBalancerIPs)
            ranges = s.loadBalancerSourceRanges
            ports = s.ports
            etp = s.externalTrafficPolicy
            itp = s.internalTrafficPolicy
            affinity = s.sessionAffinityTimeout
        }
    }
}
