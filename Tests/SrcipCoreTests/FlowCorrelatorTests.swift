import Testing
@testable import SrcipCore

@Suite struct FlowCorrelatorTests {
    typealias L = Lab

    // NodePort eTP Cluster, backend on this node: MASQUERADE to the bridge address with a random port.
    static let npOrig = L.tcp(L.external, 40001, L.node1IP, 30080)
    static let npXlat = L.tcp(L.gw, 51234, L.backend, 8080)

    @Test func nodePortClusterPolicyIsSNATedWithRandomPort() throws {
        let (records, stats) = L.run(L.tcpConnection(orig: Self.npOrig, xlat: Self.npXlat, inIf: L.eth0, outIf: L.vethBackend, ctID: 7))
        #expect(records.count == 1)
        let r = try #require(records.first)
        #expect(r.original == Self.npOrig)
        #expect(r.translated == Self.npXlat)
        #expect(r.snat && r.dnat)
        #expect(r.snatInterface == "veth-backend" && r.snatHook == .egress)
        #expect(r.inInterface == "eth0" && r.outInterface == "veth-backend")
        #expect(r.service?.id == "default/nodeport" && r.service?.frontend == .nodePort && r.service?.resolvedFrom == .vip)
        #expect(r.clientKind == .external)
        #expect(r.verdict == .snat && r.expected == .snat && r.expectationMet == true && r.expectedRow == 8)
        #expect(r.packets == 6 && r.bytes == 600 && r.replyPackets == 5 && r.replyBytes == 500)
        #expect(r.join == .conntrack)
        #expect(r.endpointNode == "node1")
        #expect(r.startNs == 1_000_000 + L.context.monotonicToUnixNs && r.endNs == 1_005_110 + L.context.monotonicToUnixNs)
        #expect(stats.flowsEnded == 1 && stats.flowsCreated == 1 && stats.liveFlows == 0)
    }

    @Test func clusterIPFromPodIsDNATOnly() throws {
        let orig = L.tcp(L.clientPod, 41000, "10.96.0.10", 80)
        let xlat = L.tcp(L.clientPod, 41000, L.remoteBackend, 8080)
        let (records, _) = L.run(L.tcpConnection(orig: orig, xlat: xlat, inIf: L.vethClient, outIf: L.eth0, ctID: 8))
        let r = try #require(records.first)
        #expect(records.count == 1)
        #expect(!r.snat && r.dnat)
        #expect(r.snatInterface == nil && r.dnatInterface == "eth0" && r.dnatHook == .egress)
        #expect(r.service?.id == "default/web" && r.service?.frontend == .clusterIP && r.service?.portName == "http")
        #expect(r.clientKind == .pod && r.verdict == .preserved && r.expected == .preserved && r.expectedRow == 1 && r.expectationMet == true)
        #expect(r.endpointNode == "node2")
    }

    @Test func nodePortLocalPolicyKeepsClientIP() throws {
        let orig = L.tcp(L.external, 40002, L.node1IP, 30081)
        let xlat = L.tcp(L.external, 40002, L.backend, 8081)
        let (records, _) = L.run(L.tcpConnection(orig: orig, xlat: xlat, inIf: L.eth0, outIf: L.vethBackend, ctID: 9))
        let r = try #require(records.first)
        #expect(!r.snat && r.dnat && r.verdict == .preserved)
        #expect(r.expected == .preserved && r.expectedRow == 11 && r.expectationMet == true)
        #expect(r.service?.externalTrafficPolicy == .local)
    }

    @Test func hostOriginatedWithConntrackShowsWhatTheSocketSent() throws {
        let orig = L.tcp(L.node1IP, 45000, "10.96.0.10", 80)
        let xlat = L.tcp(L.node1IP, 61000, L.remoteBackend, 8080)
        let (records, _) = L.run(L.tcpConnection(orig: orig, xlat: xlat, inIf: nil, outIf: L.eth0, ctID: 10))
        let r = try #require(records.first)
        #expect(records.count == 1)
        #expect(r.original == orig && r.translated == xlat && r.inInterface == nil)
        #expect(r.clientKind == .node && r.snat && r.verdict == .snat)
        #expect(r.service?.resolvedFrom == .vip && r.expected == .snat && r.expectedRow == 3)
        #expect(r.snatInterface == "eth0" && r.snatHook == .egress)
    }

    @Test func hostOriginatedWithoutConntrackIsResolvedFromTheEndpoint() throws {
        let orig = L.tcp(L.node1IP, 45000, "10.96.0.10", 80)
        let xlat = L.tcp(L.node1IP, 61000, L.remoteBackend, 8080)
        let (records, _) = L.run(L.tcpConnection(orig: orig, xlat: xlat, inIf: nil, outIf: L.eth0, ctID: 0, conntrack: false))
        let r = try #require(records.first)
        #expect(records.count == 1)
        #expect(r.original == xlat && r.service?.id == "default/web" && r.service?.resolvedFrom == .endpoint)
        #expect(r.verdict == .unknown && r.expected == nil && r.expectationMet == nil && r.join == .fingerprint)
        #expect(r.reason?.contains("host-originated") == true)
        #expect(r.replyPackets == 5)
    }

    @Test func udpFlowEndsWhenEveryViewExpired() throws {
        let orig = L.udp(L.clientPod, 5353, "10.96.0.53", 53)
        let xlat = L.udp(L.clientPod, 5353, "10.244.2.9", 53)
        let m = L.ct(11, orig, xlat.reversed, reply: nil)
        let seq: [Observation] = [
            L.obs(.new, .ingress, L.vethClient, orig, t: 100),
            L.obs(.nat, .ingress, L.vethClient, orig, t: 150, first: 100, packets: 2, ct: m),
            L.obs(.new, .egress, L.eth0, xlat, t: 110, ct: m),
            L.obs(.new, .ingress, L.eth0, xlat.reversed, t: 200, ct: m),
            L.obs(.new, .egress, L.vethClient, orig.reversed, t: 210, ct: m),
            L.obs(.expired, .ingress, L.vethClient, orig, t: 30_000, first: 100, packets: 2, ct: m),
            L.obs(.expired, .egress, L.eth0, xlat, t: 30_001, first: 110, packets: 2, ct: m),
            L.obs(.expired, .ingress, L.eth0, xlat.reversed, t: 30_002, first: 200, packets: 2, ct: m),
        ]
        var c = FlowCorrelator(context: L.context)
        for o in seq { c.add(o) }
        #expect(c.drainFinished().isEmpty)
        c.add(L.obs(.expired, .egress, L.vethClient, orig.reversed, t: 30_003, first: 210, packets: 2, ct: m))
        let records = c.drainFinished()
        let r = try #require(records.first)
        #expect(records.count == 1 && r.protocolName == "udp")
        #expect(r.service?.id == "kube-system/dns" && r.verdict == .preserved && r.expected == .preserved)
        #expect(r.packets == 2 && r.replyPackets == 2)
        #expect(c.stats.flowsEnded == 1 && c.liveFlowCount == 0)
    }

    @Test func idleFlowsAreFinishedAfterTheTimeout() {
        let orig = L.udp(L.clientPod, 5354, "10.96.0.53", 53)
        var c = FlowCorrelator(context: L.context, config: CorrelatorConfig(idleTimeoutNs: 1_000))
        c.add(L.obs(.new, .ingress, L.vethClient, orig, t: 100))
        c.advance(toNs: 1_000)
        #expect(c.drainFinished().isEmpty)
        c.advance(toNs: 1_101)
        #expect(c.drainFinished().count == 1)
        #expect(c.stats.flowsIdledOut == 1 && c.liveFlowCount == 0)
    }

    @Test func ingressOnlyNodePortLocalWithoutLocalEndpointIsDropped() throws {
        let orig = L.tcp(L.external, 40003, L.node1IP, 30082)
        let seq = [
            L.obs(.new, .ingress, L.eth0, orig, t: 100, flags: TCPFlags.syn),
            L.obs(.expired, .ingress, L.eth0, orig, t: 9_000_000, first: 100, packets: 3, flags: TCPFlags.syn),
        ]
        let (records, stats) = L.run(seq)
        let r = try #require(records.first)
        #expect(records.count == 1 && stats.flowsEnded == 1)
        #expect(r.translated == nil && r.outInterface == nil)
        #expect(r.verdict == .dropped && r.expected == .dropped && r.expectedRow == 12 && r.expectationMet == true)
        #expect(r.reason?.contains("externalTrafficPolicy Local and no local endpoint on node1") == true)
        #expect(r.packets == 3 && r.replyPackets == 0)
    }

    @Test func serviceWithoutEndpointsAnsweredByICMPIsRejected() throws {
        let orig = L.tcp(L.clientPod, 41001, "10.96.0.30", 80)
        let icmp = FiveTuple(src: L.ip(L.gw), dst: L.ip(L.clientPod), srcPort: 0, dstPort: 0, proto: .icmp)
        let seq = [
            L.obs(.new, .ingress, L.vethClient, orig, t: 100, flags: TCPFlags.syn),
            L.obs(.new, .egress, L.vethClient, icmp, t: 150),
            L.obs(.expired, .ingress, L.vethClient, orig, t: 900_000, first: 100, flags: TCPFlags.syn),
        ]
        let (records, _) = L.run(seq)
        let r = try #require(records.first { $0.original == orig })
        #expect(r.verdict == .rejected && r.expected == .rejected && r.expectedRow == 23 && r.expectationMet == true)
    }

    @Test func serviceWithoutEndpointsWithoutAnswerIsDroppedWithANote() throws {
        let orig = L.tcp(L.clientPod, 41002, "10.96.0.30", 80)
        let (records, _) = L.run([L.obs(.new, .ingress, L.vethClient, orig, t: 100, flags: TCPFlags.syn)])
        let r = try #require(records.first)
        #expect(r.verdict == .dropped && r.expected == .rejected && r.expectationMet == false)
        #expect(r.reason?.contains("no ICMP port-unreachable or RST") == true)
    }

    @Test func rstFromTheNodeIsRejected() throws {
        let orig = L.tcp(L.clientPod, 41003, "10.96.0.30", 80)
        let m = L.ct(12, orig, orig.reversed, reply: nil)
        let seq = [
            L.obs(.new, .ingress, L.vethClient, orig, t: 100, flags: TCPFlags.syn),
            L.obs(.new, .egress, L.vethClient, orig.reversed, t: 120, flags: TCPFlags.rst | TCPFlags.ack, ct: m),
        ]
        let (records, _) = L.run(seq)
        #expect(records.count == 1)
        #expect(records.first?.verdict == .rejected)
    }

    @Test func podReachingItselfThroughItsServiceIsAHairpin() throws {
        let orig = L.tcp(L.clientPod, 41004, "10.96.0.40", 80)
        let xlat = L.tcp(L.gw, 41004, L.clientPod, 9090)
        let (records, _) = L.run(L.tcpConnection(orig: orig, xlat: xlat, inIf: L.vethClient, outIf: L.vethClient, ctID: 13))
        let r = try #require(records.first)
        #expect(records.count == 1)
        #expect(r.hairpin && r.snat && r.verdict == .snat && r.expected == .snat && r.expectedRow == 2)
    }

    @Test func everyArrivalOrderGivesTheSameRecord() throws {
        let seq = L.tcpConnection(orig: Self.npOrig, xlat: Self.npXlat, inIf: L.eth0, outIf: L.vethBackend, ctID: 7)
        let head = Array(seq.prefix(5)), ends = Array(seq.dropFirst(5))
        let (reference, _) = L.run(seq)
        var orders = 0
        for p in permutations(head) {
            let (records, stats) = L.run(p + ends.reversed())
            #expect(records == reference, "order \(p.map { "\($0.kind)/\($0.hook)/\($0.ifindex)" })")
            #expect(stats.liveFlows == 0)
            orders += 1
        }
        #expect(orders == 120)
    }

    @Test func fingerprintJoinEqualsConntrackJoin() throws {
        let ctSeq = L.tcpConnection(orig: Self.npOrig, xlat: Self.npXlat, inIf: L.eth0, outIf: L.vethBackend, ctID: 7)
        let fpSeq = L.tcpConnection(orig: Self.npOrig, xlat: Self.npXlat, inIf: L.eth0, outIf: L.vethBackend, ctID: 0, conntrack: false)
        let (a, _) = L.run(ctSeq)
        let (b, stats) = L.run(fpSeq)
        #expect(a.count == 1 && b.count == 1)
        var x = try #require(a.first), y = try #require(b.first)
        #expect(y.join == .fingerprint && x.join == .conntrack && stats.fingerprintJoins == 1)
        x.join = .fingerprint
        #expect(x == y)
        // Reply before the request, egress before ingress: still one flow.
        let (c, _) = L.run([fpSeq[2], fpSeq[1], fpSeq[0], fpSeq[3]] + fpSeq.dropFirst(4))
        #expect(c.count == 1 && c.first?.translated == Self.npXlat && c.first?.original == Self.npOrig)
    }

    @Test func fingerprintsTooFarApartAreNotJoined() {
        var seq = L.tcpConnection(orig: Self.npOrig, xlat: Self.npXlat, inIf: L.eth0, outIf: L.vethBackend, ctID: 0, conntrack: false)
        seq[1].firstSeenNs += 5_000_000_000
        seq[1].timestampNs += 5_000_000_000
        let (records, stats) = L.run(seq)
        #expect(records.count == 2 && stats.fingerprintRejected == 1)
    }

    @Test func lateAndRepeatedEndsAreCountedNotEmitted() {
        let seq = L.tcpConnection(orig: Self.npOrig, xlat: Self.npXlat, inIf: L.eth0, outIf: L.vethBackend, ctID: 7)
        var c = FlowCorrelator(context: L.context)
        for o in seq { c.add(o) }
        #expect(c.drainFinished().count == 1)
        c.add(seq.last!)
        var ack = seq[0]
        ack.tcpFlags = TCPFlags.ack
        ack.timestampNs += 9_000
        c.add(ack)
        #expect(c.flush().isEmpty)
        #expect(c.stats.lateRecords == 2)
    }

    @Test func repeatedEndWhileLiveIsCountedOnce() {
        let seq = L.tcpConnection(orig: Self.npOrig, xlat: Self.npXlat, inIf: L.eth0, outIf: L.vethBackend, ctID: 7)
        var c = FlowCorrelator(context: L.context)
        for o in seq.prefix(6) { c.add(o) }
        c.add(seq[5])
        #expect(c.stats.duplicateEnds == 1 && c.liveFlowCount == 1)
    }

    @Test func evictionUnderASmallBoundIsCounted() {
        var c = FlowCorrelator(context: L.context, config: CorrelatorConfig(maxLiveFlows: 4))
        for i in 0..<10 {
            c.add(L.obs(.new, .ingress, L.eth0, L.tcp(L.external, UInt16(20000 + i), L.node1IP, 30080), t: UInt64(100 + i), flags: TCPFlags.syn))
            #expect(c.liveFlowCount <= 4)
        }
        let evicted = c.drainFinished()
        #expect(evicted.count == 6 && c.stats.flowsEvicted == 6)
        #expect(evicted.first?.original.srcPort == 20000)
        #expect(evicted.allSatisfy { $0.reason?.contains("evicted early") == true })
        #expect(c.flush().count == 4 && c.stats.flowsFlushed == 4 && c.stats.flowsFinished == 10)
    }

    @Test func newConnectionReusingATupleSupersedesTheOldOne() {
        let a = L.tcpConnection(orig: Self.npOrig, xlat: Self.npXlat, inIf: L.eth0, outIf: L.vethBackend, ctID: 7)
        let b = L.tcpConnection(orig: Self.npOrig, xlat: L.tcp(L.gw, 52000, L.backend, 8080), inIf: L.eth0, outIf: L.vethBackend,
                                ctID: 99, t0: 9_000_000)
        let (records, stats) = L.run(Array(a.prefix(5)) + b)
        #expect(records.count == 2 && stats.flowsSuperseded == 1)
        #expect(Set(records.compactMap { $0.translated?.srcPort }) == [51234, 52000])
    }
}

func permutations<T>(_ items: [T]) -> [[T]] {
    if items.count <= 1 { return [items] }
    var out: [[T]] = []
    for i in items.indices {
        var rest = items
        let x = rest.remove(at: i)
        for p in permutations(rest) { out.append([x] + p) }
    }
    return out
}

@Suite struct ICMPCorrelationTests {
    @Test func echoRepliesFoldIntoTheRequest() throws {
        let req = FiveTuple(src: Lab.ip(Lab.clientPod), dst: Lab.ip(Lab.remoteBackend), srcPort: 7, dstPort: 0, proto: .icmp)
        let rep = FiveTuple(src: Lab.ip(Lab.remoteBackend), dst: Lab.ip(Lab.clientPod), srcPort: 7, dstPort: 0, proto: .icmp)
        let m = ConntrackMapping(id: 31, original: req, reply: rep, status: 8, packetIsReply: nil)
        let seq = [
            Lab.obs(.new, .ingress, Lab.vethClient, req, t: 100, ct: m),
            Lab.obs(.new, .egress, Lab.eth0, req, t: 110, ct: m),
            Lab.obs(.new, .ingress, Lab.eth0, rep, t: 200, ct: m),
            Lab.obs(.new, .egress, Lab.vethClient, rep, t: 210, ct: m),
        ]
        let (records, _) = Lab.run(seq)
        let r = try #require(records.first)
        #expect(records.count == 1)
        #expect(r.protocolName == "icmp" && r.translated == req && r.replyPackets == 1 && r.verdict == .preserved && !r.snat)
        let (fpRecords, _) = Lab.run(seq.map { var o = $0; o.conntrack = nil; o.join = .fingerprint; return o })
        #expect(fpRecords.count == 1 && fpRecords.first?.replyPackets == 1)
    }
}

@Suite struct CorrelatorEdgeTests {
    @Test func countersGoingBackwardsAreStaleNotApplied() throws {
        let orig = Lab.tcp(Lab.external, 40100, Lab.node1IP, 30082)
        var c = FlowCorrelator(context: Lab.context)
        c.add(Lab.obs(.new, .ingress, Lab.eth0, orig, t: 100, packets: 4, flags: TCPFlags.syn))
        c.add(Lab.obs(.new, .ingress, Lab.eth0, orig, t: 90, packets: 2, flags: TCPFlags.syn))
        let r = try #require(c.flush().first)
        #expect(c.stats.staleRecords == 1 && r.packets == 4 && r.startNs == 90 + Lab.context.monotonicToUnixNs)
    }

    @Test func refreshedCatalogAppliesToFlowsFinishedLater() throws {
        let orig = Lab.tcp(Lab.external, 40101, Lab.node1IP, 31999)
        var c = FlowCorrelator(context: Lab.context)
        c.add(Lab.obs(.new, .ingress, Lab.eth0, orig, t: 100, flags: TCPFlags.syn))
        var ctx = Lab.context
        ctx.catalog = ServiceCatalog(services: Lab.services + [
            Service(namespace: "late", name: "np", type: .nodePort, clusterIP: Lab.ip("10.96.0.99"),
                    ports: [ServicePort(name: nil, proto: .tcp, port: 80, nodePort: 31999, endpoints: [])])])
        c.update(context: ctx)
        let r = try #require(c.flush().first)
        #expect(r.service?.id == "late/np" && r.expected == .rejected)
    }

    @Test func ipv6NodePortIsSNATedLikeIPv4() throws {
        let orig = FiveTuple(src: Lab.ip("2001:db8::10"), dst: Lab.ip("fd00::11"), srcPort: 40001, dstPort: 30080, proto: .tcp)
        let xlat = FiveTuple(src: Lab.ip("fd00:10:244:1::1"), dst: Lab.ip("fd00:10:244:1::2"), srcPort: 50001, dstPort: 8080, proto: .tcp)
        var ctx = Lab.context
        ctx.localAddresses.insert(Lab.ip("fd00::11"))
        ctx.clusterCIDRs.append(IPPrefix("fd00:10:244::/56")!)
        ctx.catalog = ServiceCatalog(services: [
            Service(namespace: "default", name: "np6", type: .nodePort, clusterIP: Lab.ip("fd00:10:96::20"),
                    ports: [ServicePort(name: nil, proto: .tcp, port: 80, nodePort: 30080,
                                        endpoints: [ServiceEndpoint(ip: Lab.ip("fd00:10:244:1::2"), port: 8080, nodeName: "node1")])])])
        var c = FlowCorrelator(context: ctx)
        for o in Lab.tcpConnection(orig: orig, xlat: xlat, inIf: Lab.eth0, outIf: Lab.vethBackend, ctID: 61) { c.add(o) }
        let records = c.drainFinished()
        let r = try #require(records.first)
        #expect(records.count == 1 && r.familyName == "ipv6" && r.snat && r.verdict == .snat && r.expected == .snat)
        #expect(r.translated?.src == Lab.ip("fd00:10:244:1::1") && r.original.src.isIPv4 == false)
    }
}

@Suite struct ConntrackReuseTests {
    @Test func reusedConntrackIDWithOtherTuplesStartsANewFlow() {
        let a = Lab.tcpConnection(orig: Lab.tcp(Lab.external, 40201, Lab.node1IP, 30080), xlat: Lab.tcp(Lab.gw, 50201, Lab.backend, 8080),
                                  inIf: Lab.eth0, outIf: Lab.vethBackend, ctID: 500)
        let b = Lab.tcpConnection(orig: Lab.tcp(Lab.external, 40202, Lab.node1IP, 30080), xlat: Lab.tcp(Lab.gw, 50202, Lab.backend, 8080),
                                  inIf: Lab.eth0, outIf: Lab.vethBackend, ctID: 500, t0: 7_000_000)
        let (records, stats) = Lab.run(Array(a.prefix(5)) + b)
        #expect(records.count == 2 && stats.flowsSuperseded == 1)
        #expect(Set(records.map(\.original.srcPort)) == [40201, 40202])
    }
}
