import SrcipCore
import Testing
@testable import SrcipLabCluster

@Suite struct ClusterStateBuildTests {
    func seedState(nodes: Int = 3) throws -> ClusterState {
        try ClusterState.build(from: LabManifest.parse(LabManifest.defaultManifest, source: "seed").objects, nodeCount: nodes)
    }

    @Test func seedAddressingPlan() throws {
        let state = try seedState()
        #expect(state.nodes.map(\.name) == ["node1", "node2", "node3"])
        #expect(state.nodes.map(\.ip.description) == ["192.168.10.11", "192.168.10.12", "192.168.10.13"])
        #expect(state.nodes.map(\.podCIDR.description) == ["10.244.1.0/24", "10.244.2.0/24", "10.244.3.0/24"])
        #expect(state.nodes[0].bridgeIP == IPAddress("10.244.1.1"))
        #expect(state.clusterCIDR.description == "10.244.0.0/16" && state.serviceCIDR.description == "10.96.0.0/16")
        #expect(state.pods.count == 1)
        let pod = state.pods[0]
        #expect(pod.name == "source-ip-app-0" && pod.node == "node1" && pod.ip == IPAddress("10.244.1.2"))
        #expect(pod.ports == ["http": 8080])
    }

    @Test func seedAllocations() throws {
        let s = try seedState().services
        #expect(s.map { $0.clusterIP?.description ?? "" } == ["10.96.0.10", "10.96.0.11", "10.96.0.12", "10.96.0.13", "10.96.0.14"])
        #expect(s.map { $0.ports[0].nodePort } == [nil, 30080, 30081, 30082, 30083])
        #expect(s.map(\.healthCheckNodePort) == [nil, nil, nil, nil, 32000])
        #expect(s[2].loadBalancerIPs == [IPAddress("198.51.100.10")!] && s[4].loadBalancerIPs == [IPAddress("198.51.100.11")!])
        for svc in s {
            #expect(svc.ports[0].endpoints == [ServiceEndpoint(ip: IPAddress("10.244.1.2")!, port: 8080, nodeName: "node1")])
        }
    }

    @Test func explicitValuesAreKeptAndSkippedByAllocation() throws {
        let objects = ManifestObjects(services: [
            ManifestService(namespace: "default", name: "a", type: .nodePort, ports: [ManifestServicePort(name: nil, port: 80)]),
            ManifestService(namespace: "default", name: "b", type: .loadBalancer, clusterIP: IPAddress("10.96.0.10"),
                            ports: [ManifestServicePort(name: nil, port: 80, nodePort: 30080)],
                            loadBalancerIngressIPs: [IPAddress("198.51.100.10")!]),
            ManifestService(namespace: "default", name: "c", type: .loadBalancer, ports: [ManifestServicePort(name: nil, port: 80)]),
        ])
        let s = try ClusterState.build(from: objects, nodeCount: 1).services
        #expect(s[0].clusterIP == IPAddress("10.96.0.11") && s[0].ports[0].nodePort == 30081)
        #expect(s[1].clusterIP == IPAddress("10.96.0.10") && s[1].ports[0].nodePort == 30080)
        #expect(s[2].clusterIP == IPAddress("10.96.0.12") && s[2].ports[0].nodePort == 30082)
        #expect(s[2].loadBalancerIPs == [IPAddress("198.51.100.11")!])
    }

    @Test func namedTargetPortsAndRoundRobin() throws {
        let objects = ManifestObjects(
            deployments: [ManifestDeployment(namespace: "default", name: "web", replicas: 4, selector: ["app": "web"],
                                             templateLabels: ["app": "web"], ports: [ManifestContainerPort(name: "http", containerPort: 8080)],
                                             nodeName: nil)],
            pods: [ManifestPod(namespace: "other", name: "web-x", labels: ["app": "web"], ports: [], nodeName: nil)],
            services: [ManifestService(namespace: "default", name: "web",
                                       ports: [ManifestServicePort(name: nil, port: 80, targetPort: .name("http"))],
                                       selector: ["app": "web"])])
        let state = try ClusterState.build(from: objects, nodeCount: 3)
        #expect(state.pods.map(\.node) == ["node1", "node2", "node3", "node1", "node2"])
        #expect(state.pods.map(\.ip.description) == ["10.244.1.2", "10.244.2.2", "10.244.3.2", "10.244.1.3", "10.244.2.3"])
        let eps = state.services[0].ports[0].endpoints
        #expect(eps.count == 4 && eps.allSatisfy { $0.port == 8080 })
        #expect(eps.map(\.nodeName) == ["node1", "node2", "node3", "node1"])
    }

    @Test func validationErrors() throws {
        let pinned = ManifestObjects(pods: [ManifestPod(namespace: "default", name: "p", labels: [:], ports: [], nodeName: "node9")])
        #expect(throws: ClusterStateBuildError.self) { try ClusterState.build(from: pinned, nodeCount: 3) }
        #expect(throws: ClusterStateBuildError.invalidNodeCount(0)) { try ClusterState.build(from: ManifestObjects(), nodeCount: 0) }
        let outside = ManifestObjects(services: [ManifestService(namespace: "default", name: "a", clusterIP: IPAddress("10.97.0.1"),
                                                                 ports: [ManifestServicePort(name: nil, port: 80)])])
        #expect(throws: ClusterStateBuildError.self) { try ClusterState.build(from: outside) }
        let clash = ManifestObjects(services: [
            ManifestService(namespace: "default", name: "a", type: .nodePort, ports: [ManifestServicePort(name: nil, port: 80, nodePort: 30500)]),
            ManifestService(namespace: "default", name: "b", type: .nodePort, ports: [ManifestServicePort(name: nil, port: 80, nodePort: 30500)]),
        ])
        do {
            _ = try ClusterState.build(from: clash)
            Issue.record("expected a NodePort clash")
        } catch {
            #expect("\(error)".contains("Service default/b: spec.ports[0].nodePort: port 30500 is already used by Service default/a"))
        }
        let dupPods = ManifestObjects(
            deployments: [ManifestDeployment(namespace: "default", name: "x", replicas: 1, selector: ["a": "b"], templateLabels: ["a": "b"], ports: [], nodeName: nil)],
            pods: [ManifestPod(namespace: "default", name: "x-0", labels: [:], ports: [], nodeName: nil)])
        #expect(throws: ClusterStateBuildError.self) { try ClusterState.build(from: dupPods) }
        var twice = try LabManifest.parse(LabManifest.defaultManifest, source: "a").objects
        twice.services.append(twice.services[0])
        #expect(throws: ClusterStateBuildError.self) { try ClusterState.build(from: twice) }
    }

    @Test func lookups() throws {
        let state = try seedState()
        #expect(state.node(named: "node2")?.ip == IPAddress("192.168.10.12"))
        #expect(state.service(name: "nodeport")?.ports.first?.nodePort == 30080)
        #expect(state.pods(on: "node1").map(\.name) == ["source-ip-app-0"] && state.pods(on: "node2").isEmpty)
    }
}
