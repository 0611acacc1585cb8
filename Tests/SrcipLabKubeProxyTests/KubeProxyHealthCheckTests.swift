import Foundation
import SrcipCore
import Testing
@testable import SrcipLabCluster
@testable import SrcipLabKubeProxy

@Suite struct KubeProxyHealthCheckTests {
    func seed() throws -> ClusterState {
        try ClusterState.build(from: LabManifest.parse(LabManifest.defaultManifest, source: "seed").objects, nodeCount: 3)
    }

    @Test func healthyOnTheEndpointNode() throws {
        let state = try seed()
        let svc = try #require(state.services.first { $0.name == "loadbalancer-local" })
        let r = KubeProxyHealthCheck.response(service: svc, node: state.nodes[0], state: state)
        #expect(r.status == 200)
        #expect(r.headers.contains { $0 == ("X-Load-Balancing-Endpoint-Weight", "1") })
        #expect(r.headers.contains { $0 == ("Content-Type", "application/json") })
        let json = try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any]
        #expect((json?["service"] as? [String: String]) == ["namespace": "default", "name": "loadbalancer-local"])
        #expect(json?["localEndpoints"] as? Int == 1)
        #expect(json?["serviceProxyHealthy"] as? Bool == true)
    }

    @Test func unavailableWithoutLocalEndpoints() throws {
        let state = try seed()
        let svc = try #require(state.services.first { $0.name == "loadbalancer-local" })
        let r = KubeProxyHealthCheck.response(service: svc, node: state.nodes[1], state: state)
        #expect(r.status == 503)
        #expect(r.headers.contains { $0 == ("X-Load-Balancing-Endpoint-Weight", "0") })
        #expect(r.body == "{\n\t\"service\": {\n\t\t\"namespace\": \"default\",\n\t\t\"name\": \"loadbalancer-local\"\n\t},\n\t\"localEndpoints\": 0,\n\t\"serviceProxyHealthy\": true\n}")
    }

    @Test func countsDistinctIPsAcrossPorts() {
        let node = LabNode(name: "n", ip: IPAddress("192.168.10.11")!, podCIDR: IPPrefix("10.244.1.0/24")!)
        let eps = [ServiceEndpoint(ip: IPAddress("10.244.1.2")!, port: 80, nodeName: "n"),
                   ServiceEndpoint(ip: IPAddress("10.244.1.3")!, port: 80, nodeName: "n", ready: false),
                   ServiceEndpoint(ip: IPAddress("10.244.2.2")!, port: 80, nodeName: "other")]
        let svc = Service(namespace: "a", name: "b", type: .loadBalancer, clusterIP: nil,
                          ports: [ServicePort(name: "x", proto: .tcp, port: 80, endpoints: eps),
                                  ServicePort(name: "y", proto: .tcp, port: 81, endpoints: eps)])
        #expect(KubeProxyHealthCheck.localEndpointCount(service: svc, node: node) == 1)
        #expect(KubeProxyHealthCheck.response(service: svc, node: node, proxyHealthy: false).status == 503)
    }
}
