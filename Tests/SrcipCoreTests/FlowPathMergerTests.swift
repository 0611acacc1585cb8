import Testing
@testable import SrcipCore

@Suite struct FlowPathMergerTests {
    typealias L = Lab
    static let t0: Int64 = 1_795_000_000_000_000_000

    static func svc(_ name: String, _ frontend: Frontend, _ from: ServiceResolution) -> ServiceRef {
        ServiceRef(namespace: "default", name: name, portName: nil, port: 80, type: frontend == .clusterIP ? .clusterIP : .nodePort,
                   frontend: frontend, externalTrafficPolicy: .cluster, internalTrafficPolicy: .cluster, resolvedFrom: from)
    }

    static func rec(_ node: String, _ orig: FiveTuple, _ xlat: FiveTuple?, start: Int64 = 0, inIf: String? = "eth0", outIf: String? = "eth0",
                    service: ServiceRef?, client: ClientKind, verdict: Verdict, expected: Verdict? = nil, endpointNode: String? = nil) -> FlowRecord {
        let snat = xlat.map { $0.src != orig.src || $0.srcPort != orig.srcPort } ?? false
        let dnat = xlat.map { $0.dst != orig.dst || $0.dstPort != orig.dstPort } ?? false
        return FlowRecord(node: node, startNs: t0 + start, endNs: t0 + start + 1000, original: orig, translated: xlat, snat: snat, dnat: dnat,
                          snatInterface: snat ? outIf : nil, snatHook: snat ? .egress : nil, inInterface: inIf, outInterface: xlat == nil ? nil : outIf,
                          service: service, clientKind: client, verdict: verdict, expected: expected,
                          expectationMet: expected.map { $0 == verdict }, endpointNode: endpointNode, join: .conntrack)
    }

    @Test func nodePortOnNode2WithBackendOnNode1IsTwoHops() throws {
        let orig = L.tcp(L.external, 40001, L.node2IP, 30080)
        let xlat = L.tcp(L.node2IP, 50736, L.backend, 8080)
        let hop1 = Self.rec("node2", orig, xlat, service: Self.svc("nodeport", .nodePort, .vip), client: .external,
                            verdict: .snat, expected: .snat, endpointNode: "node1")
        let hop2 = Self.rec("node1", xlat, xlat, start: 300_000, outIf: "veth-backend", service: Self.svc("nodeport", .clusterIP, .endpoint),
                            client: .node, verdict: .preserved, endpointNode: "node1")
        let result = FlowPathMerger.merge([hop2, hop1])
        #expect(result.paths.count == 1 && result.unmatched.isEmpty)
        let p = try #require(result.paths.first)
        #expect(p.hops.map(\.node) == ["node2", "node1"])
        #expect(p.backendSawSource == L.ip(L.node2IP))
        #expect(p.snatWrittenAt == TranslationPoint(node: "node2", interface: "eth0", hook: .egress))
        #expect(p.verdict == .snat && p.expected == .snat && p.expectationMet == true && p.complete == true)
        #expect(p.service?.frontend == .nodePort)
    }

    @Test func clusterIPFromAPodOnTheSameNodeIsOneHop() throws {
        let orig = L.tcp(L.clientPod, 41000, "10.96.0.20", 80)
        let xlat = L.tcp(L.clientPod, 41000, L.backend, 8080)
        let r = Self.rec("node1", orig, xlat, inIf: "veth-client", outIf: "veth-backend", service: Self.svc("nodeport", .clusterIP, .vip),
                         client: .pod, verdict: .preserved, expected: .preserved, endpointNode: "node1")
        let result = FlowPathMerger.merge([r])
        let p = try #require(result.paths.first)
        #expect(result.paths.count == 1 && result.unmatched.isEmpty)
        #expect(p.hops.count == 1 && p.verdict == .preserved && p.snatWrittenAt == nil && p.complete == true && p.expectationMet == true)
    }

    @Test func clusterIPFromAPodToAnotherNodeIsTwoHops() throws {
        let orig = L.tcp(L.clientPod, 41000, "10.96.0.10", 80)
        let xlat = L.tcp(L.clientPod, 41000, L.remoteBackend, 8080)
        let a = Self.rec("node1", orig, xlat, inIf: "veth-client", service: Self.svc("web", .clusterIP, .vip), client: .pod,
                         verdict: .preserved, expected: .preserved, endpointNode: "node2")
        let b = Self.rec("node2", xlat, xlat, start: 100, outIf: "veth-web", service: Self.svc("web", .clusterIP, .endpoint), client: .pod,
                         verdict: .preserved, endpointNode: "node2")
        let result = FlowPathMerger.merge([a, b])
        let p = try #require(result.paths.first)
        #expect(result.paths.count == 1 && p.hops.count == 2 && p.verdict == .preserved && p.backendSawSource == L.ip(L.clientPod))
    }

    @Test func unmatchedRecordsAreReported() {
        let orig = L.tcp(L.external, 40009, L.node2IP, 30080)
        let xlat = L.tcp(L.node2IP, 50000, L.backend, 8080)
        let lonelyHop1 = Self.rec("node2", orig, xlat, service: Self.svc("nodeport", .nodePort, .vip), client: .external,
                                  verdict: .snat, expected: .snat, endpointNode: "node1")
        let strayOrig = L.tcp(L.node2IP, 50001, L.backend, 8080)
        let stray = Self.rec("node1", strayOrig, strayOrig, service: Self.svc("nodeport", .clusterIP, .endpoint), client: .node,
                             verdict: .preserved, endpointNode: "node1")
        // Too far apart in time to be one connection.
        let late = Self.rec("node1", xlat, xlat, start: 60_000_000_000, service: Self.svc("nodeport", .clusterIP, .endpoint),
                            client: .node, verdict: .preserved, endpointNode: "node1")
        let result = FlowPathMerger.merge([lonelyHop1, stray, late])
        #expect(result.paths.count == 3)
        #expect(result.unmatched.count == 3)
        #expect(result.unmatched.contains { $0.record == lonelyHop1 && $0.reason.contains("no record from that node matched") })
        #expect(result.unmatched.contains { $0.record == stray && $0.reason.contains("no upstream hop") })
        #expect(result.paths.first { $0.hops[0] == lonelyHop1 }?.complete == false)
    }
}
