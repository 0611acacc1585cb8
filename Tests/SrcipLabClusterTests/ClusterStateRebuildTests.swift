import SrcipCore
@testable import SrcipLabCluster
import Testing

/// `rebuilt(from:)` and the apply/delete/scale edits of manifest objects.
@Suite struct ClusterStateRebuildTests {
    static func deployment(_ name: String, replicas: Int, node: String? = nil) -> ManifestDeployment {
        ManifestDeployment(namespace: "default", name: name, replicas: replicas, selector: ["app": name], templateLabels: ["app": name],
                           ports: [ManifestContainerPort(name: nil, containerPort: 8080)], nodeName: node)
    }
    static func service(_ name: String, type: ServiceType = .nodePort) -> ManifestService {
        ManifestService(namespace: "default", name: name, type: type, ports: [ManifestServicePort(name: nil, port: 80)], selector: ["app": name])
    }

    @Test("unchanged pods keep node and IP, new pods fill the least-used node, Services keep their allocations")
    func rebuildIsStable() throws {
        let first = ManifestObjects(deployments: [Self.deployment("a", replicas: 3)], services: [Self.service("b"), Self.service("a")])
        let state = try ClusterState.build(from: first, nodeCount: 3, cni: .routed)
        let next = try state.rebuilt(from: first.applying(ManifestObjects(deployments: [Self.deployment("a", replicas: 5)],
                                                                          services: [Self.service("b", type: .clusterIP)])))
        #expect(next.cni == .routed)
        for pod in state.pods { #expect(next.pods.first { $0.name == pod.name } == pod) }
        let added = next.pods.filter { p in !state.pods.contains { $0.name == p.name } }
        #expect(added.map(\.name) == ["a-3", "a-4"])
        #expect(Set(added.map(\.node)).count == 2)          // one each on two of the three equally loaded nodes
        #expect(Set(next.pods.map(\.ip)).count == next.pods.count)
        let a = try #require(state.service(name: "a")), a2 = try #require(next.service(name: "a"))
        #expect(a2.clusterIP == a.clusterIP && a2.ports[0].nodePort == a.ports[0].nodePort)
        #expect(a2.ports[0].endpoints.count == 5)
        #expect(next.service(name: "b")?.ports[0].nodePort == nil)   // ClusterIP now: no NodePort kept
        #expect(next.service(name: "b")?.clusterIP == state.service(name: "b")?.clusterIP)

        // Scaling down removes the highest indexes; a changed template (pinned elsewhere) recreates pods.
        let down = try state.rebuilt(from: try first.scaling(deployment: "a", namespace: "default", to: 1))
        #expect(down.pods.map(\.name) == ["a-0"] && down.pods[0] == state.pods[0])
        let moved = try state.rebuilt(from: first.applying(ManifestObjects(deployments: [Self.deployment("a", replicas: 3, node: "node3")])))
        #expect(moved.pods.allSatisfy { $0.node == "node3" })
    }

    @Test("delete and scale name what is missing; pods of a Deployment cannot be deleted alone")
    func edits() throws {
        let o = ManifestObjects(deployments: [Self.deployment("a", replicas: 2)], services: [Self.service("a")])
        #expect(try o.removing(.service, namespace: "default", name: "a").services.isEmpty)
        #expect(throws: ManifestEditError.notFound(kind: .service, namespace: "default", name: "x", known: ["default/a"])) {
            try o.removing(.service, namespace: "default", name: "x")
        }
        #expect(throws: ManifestEditError.ownedByDeployment(pod: "default/a-1", deployment: "default/a")) {
            try o.removing(.pod, namespace: "default", name: "a-1")
        }
        #expect(throws: ManifestEditError.invalidReplicas(-1)) { try o.scaling(deployment: "a", namespace: "default", to: -1) }
        #expect(ManifestKind(kubectlName: "svc") == .service && ManifestKind(kubectlName: "Deploy") == .deployment)
        #expect(ManifestKind(kubectlName: "configmap") == nil)
    }

    @Test("routed CNI: masquerade toward a local pod uses the node IP, the bridge uses cni0")
    func masqueradeAddress() throws {
        let bridge = try ClusterState.build(from: ManifestObjects(), nodeCount: 1)
        var routed = bridge
        routed.cni = .routed
        #expect(bridge.masqueradeAddressTowardLocalPods(on: bridge.nodes[0]) == IPAddress("10.244.1.1"))
        #expect(routed.masqueradeAddressTowardLocalPods(on: routed.nodes[0]) == IPAddress("192.168.10.11"))
    }
}
