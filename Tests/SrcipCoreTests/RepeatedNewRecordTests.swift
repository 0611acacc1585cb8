import Testing
@testable import SrcipCore

/// The BPF side records a TCP handshake packet without making a flow entry; the flow's next packet makes it. When the
/// handshake's slot was overwritten in between (a flood of SYNs), that packet is a NEW record again. The correlator
/// folds such repeated NEW records into the flow they belong to.
@Suite struct RepeatedNewRecordTests {
    typealias L = Lab

    /// `seq` with every request-direction NEW followed by the NEW its flow's second packet made (an ACK, 2 packets);
    /// at ingress with conntrack that record replaces the NAT record.
    static func repeated(_ seq: [Observation]) -> [Observation] {
        var out: [Observation] = []
        for o in seq {
            if o.kind == .nat { continue }
            out.append(o)
            guard o.kind == .new, o.tcpFlags == TCPFlags.syn else { continue }
            var again = o
            again.kind = .new
            again.timestampNs = o.timestampNs + 300
            again.packets = 2
            again.tcpFlags = TCPFlags.ack
            if o.hook == .ingress, let ct = seq.first(where: { $0.kind == .nat && $0.hook == .ingress })?.conntrack {
                again.conntrack = ct
                again.join = .conntrack
            }
            out.append(again)
        }
        return out
    }

    @Test(arguments: [true, false])
    func repeatedNewRecordsFoldIntoOneFlow(conntrack: Bool) throws {
        let orig = L.tcp(L.external, 40001, L.node1IP, 30080), xlat = L.tcp(L.gw, 51234, L.backend, 8080)
        let seq = L.tcpConnection(orig: orig, xlat: xlat, inIf: L.eth0, outIf: L.vethBackend, ctID: 7, conntrack: conntrack)
        let (plain, plainStats) = L.run(seq)
        let (folded, stats) = L.run(Self.repeated(seq))
        #expect(Self.repeated(seq).count == seq.count + (conntrack ? 1 : 2))
        let p = try #require(plain.first), f = try #require(folded.first)
        #expect(folded.count == 1 && plain.count == 1)
        #expect(f.original == p.original && f.translated == p.translated && f.verdict == p.verdict)
        #expect(f.inInterface == p.inInterface && f.outInterface == p.outInterface && f.join == p.join)
        #expect(f.packets == p.packets && f.replyPackets == p.replyPackets && f.startNs == p.startNs)
        #expect(stats.flowsCreated == plainStats.flowsCreated && stats.lateRecords == 0, "\(stats) vs \(plainStats)")
    }
}

/// A SYN recorded without a BPF entry has no END or expiry of its own: its flow ends with a RST answer, or idles out
/// counted from its last packet — a reply view's expiry must not restart the idle time.
@Suite struct HandshakeWithoutEntryTests {
    typealias L = Lab
    static let req = L.tcp(L.external, 40001, L.node1IP, 82)

    @Test func aRefusedHandshakeEndsWithTheRST() {
        var c = FlowCorrelator(context: L.context, config: CorrelatorConfig(idleTimeoutNs: 120_000_000_000))
        c.add(L.obs(.new, .ingress, L.eth0, Self.req, t: 1_000_000, flags: TCPFlags.syn))
        c.add(L.obs(.new, .egress, L.eth0, Self.req.reversed, t: 1_100_000, flags: TCPFlags.rst | TCPFlags.ack))
        c.add(L.obs(.end, .egress, L.eth0, Self.req.reversed, t: 1_100_000, flags: TCPFlags.rst | TCPFlags.ack))
        c.advance(toNs: 5_000_000_000)
        let done = c.drainFinished()
        #expect(done.count == 1 && c.liveFlowCount == 0)
        #expect(done.first?.endReason == .endOfFlow && done.first?.replyPackets == 1)
    }

    @Test func aReplyViewsExpiryDoesNotRestartTheIdleTime() {
        var c = FlowCorrelator(context: L.context, config: CorrelatorConfig(idleTimeoutNs: 2_000_000_000))
        let synack = TCPFlags.syn | TCPFlags.ack
        c.add(L.obs(.new, .ingress, L.eth0, Self.req, t: 1_000_000, flags: TCPFlags.syn))
        c.add(L.obs(.new, .egress, L.eth0, Self.req.reversed, t: 1_100_000, flags: synack))
        c.add(expired: [L.obs(.expired, .egress, L.eth0, Self.req.reversed, t: 2_600_000_000, first: 1_100_000, flags: synack)])
        c.advance(toNs: 3_200_000_000)
        let done = c.drainFinished()
        #expect(done.count == 1 && c.liveFlowCount == 0, "idle 2 s after the SYN-ACK, not 2 s after its expiry")
        #expect(done.first?.endReason == .idle)
    }
}
