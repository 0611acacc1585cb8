import Testing
@testable import SrcipCore

private typealias L = Lab

/// After a flood the correlator shrinks its slot pool and indexes to the live flows; the flows alive across the
/// shrink are finished exactly as if there had been no flood.
@Suite struct StorageCompactionTests {
    /// Connections through node1's NodePort (conntrack) and pod-to-pod ones joined by fingerprint, each split into
    /// the records before and after `t1`.
    static func survivors(t0: UInt64, count: Int) -> (before: [Observation], after: [Observation]) {
        var before: [Observation] = [], after: [Observation] = []
        for i in 0..<count {
            let byConntrack = i % 2 == 0
            let orig = byConntrack ? L.tcp(L.external, UInt16(40_000 + i), L.node1IP, 30080)
                                   : L.tcp(L.clientPod, UInt16(40_000 + i), L.backend, 8080)
            let xlat = byConntrack ? L.tcp(L.gw, UInt16(50_000 + i), L.backend, 8080) : orig
            let c = L.tcpConnection(orig: orig, xlat: xlat, inIf: byConntrack ? L.eth0 : L.vethClient, outIf: L.vethBackend,
                                    ctID: UInt64(1000 + i), conntrack: byConntrack, t0: t0 + UInt64(i) * 1000, seq: UInt32(7000 + i))
            let split = c.firstIndex { $0.kind == .end }!
            before += c[..<split]
            after += c[split...].map { var o = $0; o.timestampNs += 1_100_000_000; return o }
        }
        return (before, after)
    }

    @Test func flowsAliveAcrossTheShrinkAreWrittenAsWithoutAFlood() {
        let config = CorrelatorConfig(idleTimeoutNs: 1_200_000_000)
        let (before, after) = Self.survivors(t0: 500_000_000, count: 60)
        var reference = FlowCorrelator(context: L.context, config: config)
        for o in before + after { reference.add(o) }
        let expected = Set(reference.flush())

        var c = FlowCorrelator(context: L.context, config: config)
        for i in 0..<6_000 {   // one-packet UDP flows from many clients, all idle by the time `after` arrives
            let src = "198.51.100.\(i % 200 + 1)"
            c.add(L.obs(.new, .ingress, L.eth0, L.udp(src, UInt16(10_000 + i), L.node1IP, 31000), t: 1_000_000 + UInt64(i)))
        }
        for o in before { c.add(o) }
        #expect(c.liveFlowCount == 6_060 && c.stats.storageCompactions == 0)
        for o in after { c.add(o) }
        #expect(c.stats.storageCompactions == 1)
        #expect(c.slots.count < 6_000 / 8, "slot pool shrunk to the live flows")
        let written = c.drainFinished() + c.flush()
        #expect(written.filter { $0.original.proto == .udp }.count == 6_000)
        #expect(Set(written.filter { $0.original.proto == .tcp }) == expected)
        #expect(expected.count == 60 && c.stats.unmatchedReplies == reference.stats.unmatchedReplies)
    }

    /// A new flow after the shrink is indexed in the rebuilt tables: its reply and END join it.
    @Test func flowsStartedAfterTheShrinkJoinTheirViews() {
        var c = FlowCorrelator(context: L.context, config: CorrelatorConfig(idleTimeoutNs: 1_200_000_000))
        for i in 0..<5_000 {
            c.add(L.obs(.new, .ingress, L.eth0, L.udp("198.51.100.7", UInt16(10_000 + i), L.node1IP, 31000), t: UInt64(i)))
        }
        let (before, after) = Self.survivors(t0: 2_000_000_000, count: 2)
        for o in before + after { c.add(o) }
        #expect(c.stats.storageCompactions == 1)
        let tcp = (c.drainFinished() + c.flush()).filter { $0.original.proto == .tcp }
        #expect(tcp.count == 2)
        #expect(tcp.allSatisfy { $0.packets == 6 && $0.replyPackets == 5 }, "\(tcp.map { ($0.packets, $0.replyPackets) })")
    }
}
