import Testing
@testable import SrcipCore

/// How merge shapes paths: no phantom paths, drops name where they stopped, replies fold into their request, filters.
@Suite struct FlowPathShapeTests {
    typealias L = Lab
    typealias M = FlowPathMergerTests

    @Test func aRecordWithoutAnyInterfaceIsNoPath() {
        let t = L.tcp(L.node1IP, 40000, L.backend, 8080)
        let phantom = M.rec("node1", t, nil, inIf: nil, outIf: nil, service: nil, client: .node, verdict: .unknown)
        let result = FlowPathMerger.merge([phantom])
        #expect(result.paths.isEmpty)
        #expect(result.unmatched.count == 1 && result.unmatched[0].reason.contains("no request seen at any interface of node1"))
    }

    @Test func aDroppedPathNamesWhereItStoppedNotABackend() throws {
        let orig = L.tcp(L.external, 40002, L.node2IP, 30082)
        let r = M.rec("node2", orig, nil, outIf: nil, service: M.svc("nodeport-local", .nodePort, .vip), client: .external,
                      verdict: .dropped, expected: .dropped)
        let p = try #require(FlowPathMerger.merge([r]).paths.first)
        #expect(p.outcome == .dropped && p.backend == nil)
        #expect(p.stoppedAt == StopPoint(node: "node2", interface: "eth0"))
        #expect(p.reachedEndpointNode == nil && p.expectationMet == true)
    }

    @Test func aLocallyEndedPathIsNotDelivered() throws {
        let t = L.tcp("192.168.10.1", 40003, L.node1IP, 32000)
        let r = M.rec("node1", t, t, outIf: nil, service: nil, client: .external, verdict: .preserved)
        let p = try #require(FlowPathMerger.merge([r]).paths.first)
        #expect(p.outcome == .local && p.backend == nil)
    }

    @Test func aUDPReplyRecordedOnAnotherNodeFoldsIntoItsRequest() throws {
        // A pod on node1 asks a ClusterIP whose backend is on node2; node2 records the request, and node1 records the
        // reply as a flow of its own (its request left before node1's conntrack entry was visible to the tracer).
        let orig = L.udp(L.clientPod, 5353, "10.96.0.53", 53)
        let xlat = L.udp(L.clientPod, 5353, L.remoteBackend, 53)
        let a = M.rec("node1", orig, xlat, inIf: "veth-client", service: M.svc("dns", .clusterIP, .vip), client: .pod,
                      verdict: .preserved, expected: .preserved, endpointNode: "node2")
        let b = M.rec("node2", xlat, xlat, start: 100, outIf: "veth-dns", service: M.svc("dns", .clusterIP, .endpoint), client: .pod,
                      verdict: .preserved, endpointNode: "node2")
        let reply = M.rec("node1", xlat.reversed, nil, start: 400, outIf: nil, service: nil, client: .pod, verdict: .unknown)
        let result = FlowPathMerger.merge([reply, b, a])
        #expect(result.paths.count == 1 && result.unmatched.isEmpty)
        let p = try #require(result.paths.first)
        #expect(p.hops.map(\.node) == ["node1", "node2"] && p.foldedReplies == [reply])
        #expect(p.reachedEndpointNode == true && p.outcome == .delivered)
    }

    @Test func aRequestToAServiceIsNeverFoldedAsAReply() {
        // Two clients talking to each other's ports: the one that addressed a Service stays a request.
        let t1 = L.tcp(L.clientPod, 80, L.remoteBackend, 8080)
        let a = M.rec("node1", t1, t1, service: nil, client: .pod, verdict: .preserved)
        let b = M.rec("node2", t1.reversed, t1.reversed, start: 10, service: M.svc("web", .clusterIP, .vip), client: .pod,
                      verdict: .preserved, expected: .preserved)
        #expect(FlowPathMerger.merge([a, b]).paths.count == 2)
    }

    @Test func filtersSelectByServiceNamespaceVerdictAndAddressBeforeOrAfterNAT() {
        let orig = L.tcp(L.external, 40001, L.node2IP, 30080)
        let xlat = L.tcp(L.node2IP, 50736, L.backend, 8080)
        let r = M.rec("node2", orig, xlat, service: M.svc("nodeport", .nodePort, .vip), client: .external, verdict: .snat, expected: .snat)
        #expect(FlowRecordFilter().matches(r))
        #expect(FlowRecordFilter(services: ["default/nodeport"]).matches(r))
        #expect(!FlowRecordFilter(services: ["default/other"]).matches(r))
        #expect(FlowRecordFilter(namespaces: ["default"]).matches(r) && !FlowRecordFilter(namespaces: ["kube-system"]).matches(r))
        #expect(FlowRecordFilter(verdicts: [.dropped, .snat]).matches(r) && !FlowRecordFilter(verdicts: [.preserved]).matches(r))
        #expect(FlowRecordFilter(fromIPs: [L.ip(L.external)]).matches(r))   // before NAT
        #expect(FlowRecordFilter(fromIPs: [L.ip(L.node2IP)]).matches(r))    // after SNAT
        #expect(!FlowRecordFilter(fromIPs: [L.ip(L.backend)]).matches(r))
        #expect(FlowRecordFilter(toIPs: [L.ip(L.backend)]).matches(r) && !FlowRecordFilter(toIPs: [L.ip(L.external)]).matches(r))
        let path = FlowPathMerger.merge([r]).paths[0]
        #expect(FlowRecordFilter(services: ["default/nodeport"], verdicts: [.snat]).matches(path))
        #expect(!FlowRecordFilter(verdicts: [.preserved]).matches(path))
    }
}
