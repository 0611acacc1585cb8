import Foundation
import SrcipCore
@testable import SrcipLabCluster

/// The inputs of kube-proxy's TestOverallIPTablesRules / TestOverallNFTablesRules and TestSyncProxyRulesRepeated,
/// reconstructed from proxier_test.go, plus access to the shared fixture files (read in place, never copied).
enum UpstreamFixtures {
    static let testNode = LabNode(name: "test-node", ip: IPAddress("192.168.0.2")!, podCIDR: IPPrefix("10.0.0.0/24")!)

    /// A fixture file from `TestEnvironment.kubeProxyFixtures` (`$SRCIP_KUBE_PROXY_FIXTURES`, default `../shared/fixtures/kube-proxy`).
    static func text(_ name: String) throws -> String { try TestEnvironment.fixture(name) }

    static func ip(_ s: String) -> IPAddress { IPAddress(s)! }

    static func port(_ port: UInt16 = 80, nodePort: UInt16? = nil, endpoints: [String]) -> ServicePort {
        ServicePort(name: "p80", proto: .tcp, port: port, nodePort: nodePort,
                    endpoints: endpoints.map { ServiceEndpoint(ip: ip($0), port: 80, nodeName: nil) })
    }

    /// ns1/svc1 … ns6/svc6 of TestOverall*Rules. Endpoints carry no nodeName, so none is local to test-node.
    static var overallState: ClusterState {
        let services = [
            Service(namespace: "ns1", name: "svc1", type: .clusterIP, clusterIP: ip("172.30.0.41"),
                    ports: [port(endpoints: ["10.180.0.1"])]),
            Service(namespace: "ns2", name: "svc2", type: .loadBalancer, clusterIP: ip("172.30.0.42"),
                    externalIPs: [ip("192.168.99.22")], loadBalancerIPs: [ip("1.2.3.4")],
                    ports: [port(nodePort: 3001, endpoints: ["10.180.0.2"])],
                    externalTrafficPolicy: .local, healthCheckNodePort: 30000),
            Service(namespace: "ns3", name: "svc3", type: .nodePort, clusterIP: ip("172.30.0.43"),
                    ports: [port(nodePort: 3003, endpoints: ["10.180.0.3"])]),
            Service(namespace: "ns4", name: "svc4", type: .nodePort, clusterIP: ip("172.30.0.44"),
                    externalIPs: [ip("192.168.99.33")], ports: [port(endpoints: ["10.180.0.4", "10.180.0.5"])]),
            Service(namespace: "ns5", name: "svc5", type: .loadBalancer, clusterIP: ip("172.30.0.45"),
                    loadBalancerIPs: [ip("5.6.7.8")], loadBalancerSourceRanges: [" 203.0.113.0/25"],
                    ports: [port(nodePort: 3002, endpoints: ["10.180.0.3"])],
                    healthCheckNodePort: 30000, sessionAffinityTimeout: 10800),
            Service(namespace: "ns6", name: "svc6", type: .clusterIP, clusterIP: ip("172.30.0.46"),
                    ports: [port(endpoints: [])]),
        ]
        return ClusterState(clusterCIDR: IPPrefix("10.0.0.0/8")!, serviceCIDR: IPPrefix("172.30.0.0/16")!,
                            nodes: [testNode], pods: [], services: services)
    }

    /// TestSyncProxyRulesRepeated's first sync: two ClusterIP services.
    static var repeatedInitialState: ClusterState {
        let services = [
            Service(namespace: "ns1", name: "svc1", type: .clusterIP, clusterIP: ip("172.30.0.41"),
                    ports: [ServicePort(name: "p80", proto: .tcp, port: 80,
                                        endpoints: [ServiceEndpoint(ip: ip("10.0.1.1"), port: 80)])]),
            Service(namespace: "ns2", name: "svc2", type: .clusterIP, clusterIP: ip("172.30.0.42"),
                    ports: [ServicePort(name: "p8080", proto: .tcp, port: 8080,
                                        endpoints: [ServiceEndpoint(ip: ip("10.0.2.1"), port: 8080)])]),
        ]
        return ClusterState(clusterCIDR: IPPrefix("10.0.0.0/8")!, serviceCIDR: IPPrefix("172.30.0.0/16")!,
                            nodes: [testNode], pods: [], services: services)
    }
}
