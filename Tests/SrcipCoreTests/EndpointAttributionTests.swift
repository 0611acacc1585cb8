import Testing
@testable import SrcipCore

/// Which endpoints count as local, and how a backend shared by several Services is attributed.
@Suite struct EndpointAttributionTests {
    typealias L = Lab

    /// The lab's iptables view of node1 as `ip netns exec srcip-lab-node1 srcip trace` sees it: endpoints carry no node
    /// name, only `isLocal` from the KUBE-SVL chain, and the node is named after the network namespace.
    static func iptablesContext(services: [Service]) -> NodeContext {
        var c = L.context
        c.node = "srcip-lab-node1"
        c.catalog = ServiceCatalog(services: services)
        return c
    }

    static func run(_ context: NodeContext, _ observations: [Observation]) -> [FlowRecord] {
        var c = FlowCorrelator(context: context, config: CorrelatorConfig())
        for o in observations { c.add(o) }
        return c.flush()
    }

    static let localPolicy = Service(
        namespace: "default", name: "nodeport-local", type: .nodePort, clusterIP: L.ip("10.96.0.23"),
        ports: [ServicePort(name: nil, proto: .tcp, port: 80, nodePort: 30082,
                            endpoints: [ServiceEndpoint(ip: L.ip(L.backend), port: 8080, isLocal: true)])],
        externalTrafficPolicy: .local)

    @Test func localEndpointFromKubeProxyChainsCountsWithoutNodeName() throws {
        let orig = L.tcp(L.external, 40010, L.node1IP, 30082)
        let xlat = L.tcp(L.external, 40010, L.backend, 8080)
        let records = Self.run(Self.iptablesContext(services: [Self.localPolicy]),
                               L.tcpConnection(orig: orig, xlat: xlat, inIf: L.eth0, outIf: L.vethBackend, ctID: 21))
        let r = try #require(records.first)
        #expect(r.verdict == .preserved)
        #expect(r.expected == .preserved && r.expectedRow == 11 && r.expectationMet == true)
        #expect(r.endpointNode == "srcip-lab-node1")
    }

    @Test func endpointMarkedRemoteIsDroppedAsDocumented() throws {
        var remote = Self.localPolicy
        remote.ports[0].endpoints[0].isLocal = false
        let orig = L.tcp(L.external, 40011, L.node1IP, 30082)
        let obs = [L.obs(.new, .ingress, L.eth0, orig, t: 1_000_000, flags: TCPFlags.syn)]
        let r = try #require(Self.run(Self.iptablesContext(services: [remote]), obs).first)
        #expect(r.verdict == .dropped && r.expected == .dropped && r.expectedRow == 12 && r.expectationMet == true)
    }

    @Test func backendOfSeveralServicesIsNotAttributedToOne() throws {
        let ep = ServiceEndpoint(ip: L.ip(L.backend), port: 8080, isLocal: true)
        let services = ["clusterip", "nodeport", "loadbalancer"].enumerated().map { i, name in
            Service(namespace: "default", name: name, type: .clusterIP, clusterIP: L.ip("10.96.1.\(i + 1)"),
                    ports: [ServicePort(name: nil, proto: .tcp, port: 80, endpoints: [ep])])
        }
        // Already SNATed and DNATed on node2: arrives from node2's address straight at the pod.
        let hop = L.tcp(L.node2IP, 15410, L.backend, 8080)
        let records = Self.run(Self.iptablesContext(services: services),
                               L.tcpConnection(orig: hop, xlat: hop, inIf: L.eth0, outIf: L.vethBackend, ctID: 22))
        let r = try #require(records.first)
        #expect(r.service == nil)
        #expect(r.reason?.contains("3 Service ports (default/clusterip, default/nodeport, default/loadbalancer)") == true)
        #expect(r.reason?.contains("already translated upstream") == true)
        #expect(r.clientKind == .node)
        #expect(r.verdict == .preserved && r.expected == nil)
        let merged = FlowPathMerger.merge([r])
        #expect(merged.unmatched.count == 1)
    }

    @Test func backendOfOneServiceIsAttributedByEndpoint() throws {
        let hop = L.tcp(L.node2IP, 15411, L.backend, 8080)
        let records = Self.run(Self.iptablesContext(services: [Self.localPolicy]),
                               L.tcpConnection(orig: hop, xlat: hop, inIf: L.eth0, outIf: L.vethBackend, ctID: 23))
        let r = try #require(records.first)
        #expect(r.service?.id == "default/nodeport-local" && r.service?.resolvedFrom == .endpoint)
    }

    @Test func otherNodeAddressesClassifyAsNode() {
        #expect(L.context.classify(L.ip(L.node2IP)) == .node)
        #expect(L.context.classify(L.ip("192.168.10.13")) == .external)
    }
}
