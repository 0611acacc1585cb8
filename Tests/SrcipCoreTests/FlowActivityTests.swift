import Testing
@testable import SrcipCore

/// The BPF side sends no record for ordinary packets; the sweeper's activity reports keep long-lived flows live.
@Suite struct FlowActivityTests {
    typealias L = Lab

    @Test func activityKeepsAFlowLiveUntilItIsReallyIdle() {
        let second: UInt64 = 1_000_000_000
        let t = L.udp(L.clientPod, 6000, L.remoteBackend, 9000)
        var c = FlowCorrelator(context: L.context, config: CorrelatorConfig(idleTimeoutNs: 2 * second))
        c.add(L.obs(.new, .ingress, L.vethClient, t, t: 1 * second))
        c.add(L.obs(.new, .egress, L.eth0, t, t: 1 * second + 10))
        c.noteActivity(tuple: t.reversed, atNs: 2 * second + 500_000_000)   // a reply packet, no record
        c.advance(toNs: 4 * second)
        #expect(c.drainFinished().isEmpty, "active 1.5 s ago: not idle yet")
        c.advance(toNs: 5 * second)
        let done = c.drainFinished()
        #expect(done.count == 1 && done.first?.original == t)
        #expect(c.stats.flowsIdledOut == 1)
    }

    @Test func activityForAnUnknownTupleIsIgnored() {
        var c = FlowCorrelator(context: L.context)
        c.noteActivity(tuple: L.udp("10.0.0.1", 1, "10.0.0.2", 2), atNs: 5)
        #expect(c.stats.liveFlows == 0 && c.flush().isEmpty)
    }
}
