import Testing
@testable import SrcipCore

/// `FlowCorrelator.interimRecords`: a flow open longer than the active timeout gets interim records (not final, end
/// reason active timeout, counters since it started, read without removing them); its final record still follows.
@Suite struct InterimRecordTests {
    typealias L = Lab
    static let second: UInt64 = 1_000_000_000

    @Test func openFlowsGetInterimRecordsEveryActiveTimeoutAndThenTheirFinalRecord() {
        let t = L.udp(L.clientPod, 6100, L.remoteBackend, 9000)
        var c = FlowCorrelator(context: L.context, config: CorrelatorConfig(idleTimeoutNs: 100 * Self.second))
        var live: UInt64 = 10
        var peeked = 0
        c.peekCounts = { v in
            peeked += 1
            return v.hook == .ingress ? FlowCounts(packets: live, bytes: live * 100) : nil
        }
        c.add(L.obs(.new, .ingress, L.vethClient, t, t: Self.second))
        c.add(L.obs(.new, .egress, L.eth0, t, t: Self.second + 10))
        c.advance(toNs: 2 * Self.second)
        #expect(c.interimRecords(activeTimeoutNs: 5 * Self.second).isEmpty, "open for 1 s only")
        c.advance(toNs: 6 * Self.second + 10)
        let first = c.interimRecords(activeTimeoutNs: 5 * Self.second)
        #expect(first.count == 1 && first.first?.final == false && first.first?.endReason == .activeTimeout)
        #expect(first.first?.packets == 10 && first.first?.bytes == 1000 && peeked > 0)
        #expect(c.interimRecords(activeTimeoutNs: 5 * Self.second).isEmpty, "the next one is due 5 s after this one")
        live = 25
        c.advance(toNs: 11 * Self.second + 20)
        let second = c.interimRecords(activeTimeoutNs: 5 * Self.second)
        #expect(second.count == 1 && second.first?.packets == 25, "counts since the flow started")
        #expect(second.first?.startNs == first.first?.startNs)
        #expect(c.liveFlowCount == 1 && c.drainFinished().isEmpty && c.stats.interimRecords == 2)
        let final = c.flush()
        #expect(final.count == 1 && final.first?.final == true && final.first?.endReason == .forcedEnd)
        #expect(c.interimRecords(activeTimeoutNs: 0).isEmpty)
    }

    @Test func finalRecordsSayWhyTheyEnded() {
        let t = L.udp(L.clientPod, 6101, L.remoteBackend, 9000)
        var c = FlowCorrelator(context: L.context, config: CorrelatorConfig(idleTimeoutNs: 2 * Self.second))
        c.add(L.obs(.new, .ingress, L.vethClient, t, t: Self.second))
        c.advance(toNs: 4 * Self.second)
        #expect(c.drainFinished().map(\.endReason) == [.idle])
    }
}
