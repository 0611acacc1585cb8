import SrcipCore
import Testing
@testable import SrcipLabCluster
@testable import SrcipLabKubeProxy

/// LabExpectation against the rows of the §4 truth table (docs/kube-proxy-nat.md), on the seed lab plus a client pod.
@Suite struct LabExpectationTests {
    static let client = IPAddress("203.0.113.10")!
    static let node1 = IPAddress("192.168.10.11")!, node2 = IPAddress("192.168.10.12")!
    static let cni1 = IPAddress("10.244.1.1")!
    static let app = IPAddress("10.244.1.2")!          // source-ip-app-0 on node1
    static let clientPod = IPAddress("10.244.2.2")!    // busybox on node2

    let state: ClusterState

    init() throws {
        var objects = try LabManifest.parse(LabManifest.defaultManifest, source: "seed").objects
        objects.pods.append(ManifestPod(namespace: "default", name: "busybox", labels: ["run": "busybox"], ports: [], nodeName: "node2"))
        objects.services.append(ManifestService(namespace: "default", name: "itp-local", ports: [ManifestServicePort(name: nil, port: 80, targetPort: .number(8080))],
                                                selector: ["app": "source-ip-app"], internalTrafficPolicy: .local))
        objects.services.append(ManifestService(namespace: "default", name: "ranged", type: .loadBalancer,
                                                ports: [ManifestServicePort(name: nil, port: 80, targetPort: .number(8080))],
                                                selector: ["app": "source-ip-app"], loadBalancerSourceRanges: [IPPrefix("203.0.113.0/28")!]))
        objects.services.append(ManifestService(namespace: "default", name: "empty", type: .nodePort,
                                                ports: [ManifestServicePort(name: nil, port: 80)], selector: ["app": "nothing"]))
        objects.services.append(ManifestService(namespace: "default", name: "ext", ports: [ManifestServicePort(name: nil, port: 80, targetPort: .number(8080))],
                                                selector: ["app": "source-ip-app"], externalIPs: [IPAddress("192.168.99.22")!],
                                                externalTrafficPolicy: .local))
        state = try ClusterState.build(from: objects, nodeCount: 3)
    }

    func svc(_ name: String) -> Service { state.services.first { $0.name == name }! }

    func outcome(_ service: String, _ frontend: Frontend, _ client: LabClient, via entry: String = "node1") throws -> LabExpectation.Outcome {
        try LabExpectation.expect(state: state, service: svc(service), frontend: frontend, client: client, entryNode: entry)
    }

    func sources(_ service: String, _ frontend: Frontend, _ client: LabClient, via entry: String = "node1") throws -> Set<IPAddress> {
        let o = try outcome(service, frontend, client, via: entry)
        guard case .delivered = o else { Issue.record("expected delivery, got \(o)"); return [] }
        return o.sourceIPs
    }

    static let busybox = LabClient.pod(namespace: "default", name: "busybox")
    static let appPod = LabClient.pod(namespace: "default", name: "source-ip-app-0")

    @Test func row1PodToClusterIPKeepsPodIP() throws {
        #expect(try sources("clusterip", .clusterIP, Self.busybox) == [Self.clientPod])
        let o = try outcome("clusterip", .clusterIP, Self.busybox)
        guard case .delivered(let d) = o else { Issue.record("\(o)"); return }
        #expect(d.map(\.source) == [.clientIP] && d.map(\.endpoint.ip) == [Self.app])
    }

    @Test func row2HairpinIsMasqueradedToTheBridge() throws {
        #expect(try sources("clusterip", .clusterIP, Self.appPod) == [Self.cni1])
    }

    @Test func rows3And4HostAndOffClusterToClusterIPAreMasqueraded() throws {
        #expect(try sources("clusterip", .clusterIP, .host(node: "node2")) == [Self.node2])
        #expect(try sources("clusterip", .clusterIP, .host(node: "node1")) == [Self.cni1])
        #expect(try sources("clusterip", .clusterIP, .external(Self.client), via: "node2") == [Self.node2])
    }

    @Test func row5MasqueradeAll() throws {
        let o = try LabExpectation.expect(state: state, service: svc("clusterip"), frontend: .clusterIP, client: Self.busybox,
                                          entryNode: "node2", options: KubeProxyOptions(masqueradeAll: true))
        #expect(o.sourceIPs == [Self.node2])
    }

    @Test func row7InternalTrafficPolicyLocal() throws {
        #expect(try outcome("itp-local", .clusterIP, Self.busybox) == .dropped(reason: "default/itp-local has internalTrafficPolicy Local and no endpoint on node2"))
        #expect(try sources("itp-local", .clusterIP, .host(node: "node1")) == [Self.cni1])
    }

    @Test func rows8To10NodePortClusterPolicyIsMasqueradedByTheEntryNode() throws {
        #expect(try sources("nodeport", .nodePort, .external(Self.client), via: "node2") == [Self.node2])
        #expect(try sources("nodeport", .nodePort, .external(Self.client), via: "node1") == [Self.cni1])
        #expect(try sources("nodeport", .nodePort, Self.busybox, via: "node2") == [Self.node2])
        #expect(try sources("nodeport", .nodePort, .host(node: "node1"), via: "node1") == [Self.cni1])
    }

    @Test func rows11To14NodePortLocalPolicy() throws {
        #expect(try sources("nodeport-local", .nodePort, .external(Self.client), via: "node1") == [Self.client])
        #expect(try outcome("nodeport-local", .nodePort, .external(Self.client), via: "node2")
                == .dropped(reason: "default/nodeport-local has externalTrafficPolicy Local and no endpoint on node2"))
        #expect(try sources("nodeport-local", .nodePort, Self.busybox, via: "node2") == [Self.clientPod])
        #expect(try sources("nodeport-local", .nodePort, .host(node: "node2"), via: "node2") == [Self.node2])
        // Another node's host reaching node1's NodePort is an off-node client there: its address is kept.
        #expect(try sources("nodeport-local", .nodePort, .host(node: "node2"), via: "node1") == [Self.node2])
    }

    @Test func rows15To20LoadBalancerAndExternalIPs() throws {
        #expect(try sources("loadbalancer", .loadBalancer, .external(Self.client), via: "node3") == [IPAddress("192.168.10.13")!])
        #expect(try sources("loadbalancer-local", .loadBalancer, .external(Self.client), via: "node1") == [Self.client])
        #expect(try sources("ext", .externalIP, .external(Self.client), via: "node1") == [Self.client])
        if case .dropped = try outcome("loadbalancer-local", .loadBalancer, .external(Self.client), via: "node2") {} else {
            Issue.record("row 17: expected a drop")
        }
        #expect(try sources("loadbalancer", .loadBalancer, Self.busybox) == [Self.node2])
        #expect(try sources("loadbalancer-local", .loadBalancer, Self.busybox) == [Self.clientPod])
        #expect(try sources("loadbalancer-local", .loadBalancer, .host(node: "node3")) == [IPAddress("192.168.10.13")!])
        #expect(try sources("loadbalancer", .loadBalancer, .host(node: "node1")) == [Self.cni1])
    }

    @Test func row21SourceRanges() throws {
        #expect(try sources("ranged", .loadBalancer, .external(IPAddress("203.0.113.5")!), via: "node1") == [Self.cni1])
        if case .dropped = try outcome("ranged", .loadBalancer, .external(IPAddress("203.0.113.50")!), via: "node1") {} else {
            Issue.record("outside the ranges must drop")
        }
        if case .dropped = try outcome("ranged", .loadBalancer, Self.busybox) {} else { Issue.record("pods outside the ranges drop too") }
        // NodePorts bypass the ranges.
        #expect(try sources("ranged", .nodePort, .external(IPAddress("203.0.113.50")!), via: "node2") == [Self.node2])
    }

    @Test func row23AndUnprogrammedFrontends() throws {
        #expect(try outcome("empty", .nodePort, .external(Self.client)) == .rejected(reason: "default/empty has no endpoints"))
        #expect(try outcome("empty", .clusterIP, Self.busybox) == .rejected(reason: "default/empty has no endpoints"))
        if case .notProgrammed = try outcome("clusterip", .nodePort, .external(Self.client)) {} else { Issue.record("no NodePort on a ClusterIP service") }
        if case .notProgrammed = try outcome("nodeport", .loadBalancer, .external(Self.client)) {} else { Issue.record("no LB IP on a NodePort service") }
        #expect(throws: LabExpectationError.self) { try outcome("clusterip", .clusterIP, .host(node: "node9")) }
    }
}
