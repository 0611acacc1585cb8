import Testing
@testable import SrcipCore

/// Records carry the BPF side's live counters when user space finishes a flow (exit, idle, TCP after FIN), and a
/// sweep's batch of expired views is applied before any idle decision.
@Suite struct LiveCountTests {
    typealias L = Lab
    static let second: UInt64 = 1_000_000_000

    @Test func flushedFlowsCarryTheLiveCounters() {
        let t = L.udp(L.clientPod, 6000, L.remoteBackend, 9000)
        var c = FlowCorrelator(context: L.context)
        var asked: [FlowView] = []
        c.liveCounts = { view in
            asked.append(view)
            return view.hook == .ingress ? FlowCounts(packets: 1350, bytes: 99_000) : nil
        }
        c.add(L.obs(.new, .ingress, L.vethClient, t, t: Self.second))
        c.add(L.obs(.new, .egress, L.eth0, t, t: Self.second + 10))
        let r = c.flush()
        #expect(r.count == 1)
        #expect(r.first?.packets == 1350 && r.first?.bytes == 99_000)
        #expect(Set(asked) == [FlowView(ifindex: L.vethClient, hook: .ingress, tuple: t), FlowView(ifindex: L.eth0, hook: .egress, tuple: t)])
        #expect(c.stats.liveCountReads == 1)
    }

    @Test func countersThatWentBackwardsAreIgnored() {
        let t = L.udp(L.clientPod, 6001, L.remoteBackend, 9000)
        var c = FlowCorrelator(context: L.context)
        c.liveCounts = { _ in FlowCounts(packets: 1, bytes: 1) }
        c.add(L.obs(.new, .ingress, L.vethClient, t, t: Self.second, packets: 5))
        #expect(c.flush().first?.packets == 5)
    }

    @Test func tcpFlowsLingerAfterTheLastEndUntilQuiet() {
        let orig = L.tcp(L.external, 40000, "192.168.10.11", 30080)
        var config = CorrelatorConfig()
        config.closeLingerNs = Self.second
        var c = FlowCorrelator(context: L.context, config: config)
        var finalPackets: UInt64 = 0
        c.liveCounts = { _ in finalPackets > 0 ? FlowCounts(packets: finalPackets, bytes: finalPackets * 60) : nil }
        for o in L.tcpConnection(orig: orig, xlat: L.tcp("192.168.10.11", 41000, L.remoteBackend, 8080), inIf: L.eth0,
                                 outIf: L.eth0, ctID: 7) { c.add(o) }
        #expect(c.drainFinished().isEmpty, "every view ended, but the close linger has not passed")
        c.noteActivity(tuple: orig, atNs: 1_500_000_000)   // a final ACK after the FINs
        c.advance(toNs: 2_000_000_000)
        #expect(c.drainFinished().isEmpty, "active 0.5 s ago")
        finalPackets = 42
        c.advance(toNs: 2_600_000_000)
        let r = c.drainFinished()
        #expect(r.count == 1 && r.first?.packets == 42)
        #expect(c.stats.flowsEnded == 1)
    }

    @Test func aSweepBatchIsAppliedBeforeIdleDecisions() {
        let a = L.udp(L.clientPod, 6002, L.remoteBackend, 9000), b = L.udp(L.clientPod, 6003, L.remoteBackend, 9000)
        var c = FlowCorrelator(context: L.context, config: CorrelatorConfig(idleTimeoutNs: 2 * Self.second))
        c.liveCounts = { _ in nil }   // the sweep removed the BPF entries
        c.add(L.obs(.new, .ingress, L.vethClient, a, t: Self.second))
        c.add(L.obs(.new, .ingress, L.vethClient, b, t: Self.second))
        c.add(expired: [L.obs(.expired, .ingress, L.vethClient, a, t: 4 * Self.second, first: Self.second, packets: 10),
                        L.obs(.expired, .ingress, L.vethClient, b, t: 4 * Self.second, first: Self.second, packets: 20)])
        let r = c.drainFinished().sorted { $0.packets < $1.packets }
        #expect(r.map(\.packets) == [10, 20])
        #expect(c.stats.lateRecords == 0)
    }

    /// An unanswered SYN (ingress before DNAT, egress after) whose flow idles out: the BPF side never inserted its
    /// views into the flow map, so they are not looked up; once a sweep noted packets of the flow (the map entry the
    /// second packet made), or when the flow is written at exit, they are.
    @Test(arguments: [false, true])
    func idleHandshakeOnlyViewsAreNotLookedUp(activity: Bool) {
        let orig = L.tcp(L.external, 40001, L.node1IP, 30080), xlat = L.tcp(L.gw, 40001, L.backend, 8080)
        let ct = L.ct(9, orig, xlat.reversed, reply: false)
        var c = FlowCorrelator(context: L.context, config: CorrelatorConfig(idleTimeoutNs: 2 * Self.second))
        var asked: [FlowView] = []
        c.liveCounts = { view in
            asked.append(view)
            return nil
        }
        c.add(L.obs(.new, .ingress, L.eth0, orig, t: Self.second, flags: TCPFlags.syn))
        c.add(L.obs(.new, .egress, L.vethBackend, xlat, t: Self.second + 10, flags: TCPFlags.syn, ct: ct))
        if activity { c.noteActivity(tuple: orig, atNs: Self.second + 500) }
        c.advance(toNs: 10 * Self.second)
        #expect(c.drainFinished().count == 1)
        #expect(c.stats.flowsIdledOut == 1)
        #expect(asked.count == (activity ? 2 : 0), "\(asked)")

        asked = []
        c.add(L.obs(.new, .ingress, L.eth0, L.tcp(L.external, 40002, L.node1IP, 30080), t: 11 * Self.second, flags: TCPFlags.syn))
        #expect(c.flush().count == 1)
        #expect(asked.count == 1, "a flow written at exit may have had its second packet within the last sweep")
    }
}
