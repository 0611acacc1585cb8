import Testing
@testable import SrcipCore

/// Flows that start while the Service rules change are judged against the catalog before and after the change;
/// a REJECT whose ICMP the kernel's rate limit suppressed is not checkable rather than a DROP.
@Suite struct CatalogChangeWindowTests {
    typealias L = Lab
    static let sec: UInt64 = 1_000_000_000

    static func late(endpoints: [ServiceEndpoint]) -> Service {
        Service(namespace: "late", name: "np", type: .nodePort, clusterIP: L.ip("10.96.0.99"),
                ports: [ServicePort(name: nil, proto: .tcp, port: 80, nodePort: 31999, endpoints: endpoints)])
    }
    static let withLate = ServiceCatalog(services: L.services + [late(endpoints: [L.ep(L.backend, 8099, "node1")])])
    static let lateEmpty = ServiceCatalog(services: L.services + [late(endpoints: [])])
    static let withoutLate = ServiceCatalog(services: L.services)

    /// A NodePort 31999 connection through node1 forwarded (SNAT, DNAT) to the backend, starting at `t0`.
    func forwarded(port: UInt16, t0: UInt64, ct: UInt64) -> [Observation] {
        L.tcpConnection(orig: L.tcp(L.external, port, L.node1IP, 31999),
                        xlat: L.tcp(L.gw, port, L.backend, 8099), inIf: L.eth0, outIf: L.vethBackend, ctID: ct, t0: t0)
    }

    /// A NodePort 31999 SYN answered by a RST from the node itself (no rule matched: nothing listens there).
    func resetByNode(port: UInt16, t0: UInt64) -> [Observation] {
        let orig = L.tcp(L.external, port, L.node1IP, 31999)
        return [L.obs(.new, .ingress, L.eth0, orig, t: t0, flags: TCPFlags.syn),
                L.obs(.new, .egress, L.eth0, orig.reversed, t: t0 + 50_000, flags: TCPFlags.rst | TCPFlags.ack)]
    }

    /// Node1 whose catalog was `before` and changed to `after` (noticed at 10 s, read at 11 s), fed `observations`.
    func records(before: ServiceCatalog, after: ServiceCatalog, _ observations: [Observation]) -> [FlowRecord] {
        var ctx = L.context
        ctx.catalog = before
        var c = FlowCorrelator(context: ctx)
        c.update(catalog: after, validFromNs: 10 * Self.sec, readAtNs: 11 * Self.sec)
        for o in observations.sorted(by: { $0.timestampNs < $1.timestampNs }) { c.add(o) }
        return c.flush()
    }

    @Test func resetAfterServiceDeletionIsNotJudgedByTheOldCatalog() throws {
        // Started 200 ms before the deletion was noticed: the rules may already have been gone.
        let recs = records(before: Self.withLate, after: Self.withoutLate,
                           resetByNode(port: 40001, t0: 9_800_000_000) + resetByNode(port: 40002, t0: 5 * Self.sec)
                           + resetByNode(port: 40003, t0: 12 * Self.sec))
        let inWindow = try #require(recs.first { $0.original.srcPort == 40001 })
        #expect(inWindow.service?.id == "late/np" && inWindow.verdict == .rejected && inWindow.expected == .snat)
        #expect(inWindow.expectationMet == nil && inWindow.reason?.contains(FlowCorrelator.catalogChangingNote) == true)
        // Long before the change: the catalog was in force, the RST is a real mismatch.
        let early = try #require(recs.first { $0.original.srcPort == 40002 })
        #expect(early.expected == .snat && early.expectationMet == false)
        // After the new catalog was read: no Service, nothing to judge.
        #expect(recs.first { $0.original.srcPort == 40003 }?.service == nil)
    }

    @Test func flowForwardedJustBeforeEndpointsWereNoticedMatchesTheNewCatalog() throws {
        // Scaled from 0 to 1: the rules forwarded before srcip noticed; then during the read; then after it.
        let recs = records(before: Self.lateEmpty, after: Self.withLate,
                           forwarded(port: 40011, t0: 9_500_000_000, ct: 11) + forwarded(port: 40012, t0: 10_500_000_000, ct: 12)
                           + forwarded(port: 40013, t0: 4 * Self.sec, ct: 13))
        let before = try #require(recs.first { $0.original.srcPort == 40011 })
        #expect(before.verdict == .snat && before.expected == .snat && before.expectationMet == true)
        #expect(before.reason?.contains("as documented by the catalog after the change") == true)
        let during = try #require(recs.first { $0.original.srcPort == 40012 })
        #expect(during.expected == .snat && during.expectationMet == true && during.reason == nil)
        // Forwarded 6 s before the change while the catalog said no endpoints: still a mismatch.
        let early = try #require(recs.first { $0.original.srcPort == 40013 })
        #expect(early.expected == .rejected && early.expectationMet == false)
    }

    @Test func flowsOutsideAnyChangeKeepTheirCatalogsVerdict() throws {
        var ctx = L.context
        ctx.catalog = Self.withLate
        var c = FlowCorrelator(context: ctx)
        c.update(catalog: Self.withoutLate, validFromNs: 10 * Self.sec)      // read time: the latest observation (none: 10 s)
        for o in resetByNode(port: 40021, t0: 10 * Self.sec + 500_000_000) { c.add(o) }
        for o in resetByNode(port: 40022, t0: 8 * Self.sec) { c.add(o) }
        let recs = c.flush()
        #expect(recs.first { $0.original.srcPort == 40021 }?.service == nil)
        #expect(recs.first { $0.original.srcPort == 40022 }?.expectationMet == false)
    }

    @Test func verificationCountsNotCheckableFlowsAsUndecided() throws {
        let recs = records(before: Self.withLate, after: Self.withoutLate,
                           resetByNode(port: 40031, t0: 9_900_000_000) + forwarded(port: 40032, t0: 3 * Self.sec, ct: 32))
        let report = VerificationReport.build(records: recs)
        let row = try #require(report.rows.first { $0.key.service == "late/np" })
        #expect(row.flows == 2 && row.met == 1 && row.missed == 0)
        #expect(row.undecided.counts[FlowCorrelator.catalogChangingNote] == 1)
        #expect(report.flowsUndecided == 1 && report.exitStatus == 0)
    }

    @Test func flowWhoseCatalogVersionWasDroppedIsNotCheckable() throws {
        var config = CorrelatorConfig()
        config.maxCatalogVersions = 2
        var ctx = L.context
        ctx.catalog = Self.withLate
        var c = FlowCorrelator(context: ctx, config: config)
        let old = forwarded(port: 40041, t0: 5 * Self.sec, ct: 41)
        c.add(old[0])
        // Three changes while it is open, each long after the one before: only the two newest versions are kept.
        for (k, catalog) in [Self.lateEmpty, Self.withLate, Self.lateEmpty].enumerated() {
            let t = UInt64(20 + 20 * k) * Self.sec
            for o in forwarded(port: UInt16(40042 + k), t0: t - Self.sec, ct: UInt64(42 + k)) { c.add(o) }
            c.update(catalog: catalog, validFromNs: t, readAtNs: t + 100)
        }
        #expect(c.catalogVersionCount == 2)
        for o in old.dropFirst() { c.add(o) }
        let recs = c.flush()
        let rec = try #require(recs.first { $0.original.srcPort == 40041 })
        #expect(rec.service?.id == "late/np" && rec.expectationMet == nil)
        #expect(rec.reason?.contains(FlowCorrelator.catalogLostNote) == true)
        #expect(VerificationReport.build(records: [rec]).flowsUndecided == 1)
    }

    /// A SYN to the endpoint-less ClusterIP 10.96.0.30, retransmitted once, that no ICMP answered (5–6 s).
    func unansweredSYN(_ c: inout FlowCorrelator) -> FlowRecord? {
        let orig = L.tcp(L.clientPod, 41601, "10.96.0.30", 80)
        c.add(L.obs(.new, .ingress, L.vethClient, orig, t: 6 * Self.sec, first: 5 * Self.sec, packets: 2, flags: TCPFlags.syn,
                    join: .fingerprint, fp: L.fp(7300)))
        return c.flush().first { $0.original == orig }
    }

    @Test func rejectSuppressedByTheICMPRateLimitIsNotCheckable() throws {
        var c = FlowCorrelator(context: L.context)
        c.noteICMPRateLimited(count: 3, fromNs: 4 * Self.sec, toNs: 5 * Self.sec + 100)
        let rec = try #require(unansweredSYN(&c))
        #expect(rec.verdict == .dropped && rec.expected == .rejected && rec.expectationMet == nil)
        #expect(rec.reason?.contains(FlowCorrelator.rejectSuppressedNote) == true)
        let report = VerificationReport.build(records: [rec])
        #expect(report.flowsUndecided == 1 && report.flowsMissed == 0)
    }

    @Test func unansweredRejectWithoutRateLimitEvidenceStaysAMismatch() throws {
        var quiet = FlowCorrelator(context: L.context)
        #expect(try #require(unansweredSYN(&quiet)).expectationMet == false)
        var elsewhere = FlowCorrelator(context: L.context)
        elsewhere.noteICMPRateLimited(count: 5, fromNs: 20 * Self.sec, toNs: 21 * Self.sec)   // long after the flow
        elsewhere.noteICMPRateLimited(count: 0, fromNs: 4 * Self.sec, toNs: 5 * Self.sec)     // nothing suppressed
        let rec = try #require(unansweredSYN(&elsewhere))
        #expect(rec.expectationMet == false && rec.reason?.contains(FlowCorrelator.rejectSuppressedNote) == false)
    }
}

/// A client reusing a tuple after a request nothing answered starts a new flow, judged by the catalog of its own start.
@Suite struct TupleReuseTests {
    typealias L = Lab
    static let sec: UInt64 = 1_000_000_000

    @Test func newConnectionOnTheTupleOfARejectedRequestIsAFlowOfItsOwn() throws {
        let orig = L.tcp(L.external, 40051, L.node1IP, 31999)
        var ctx = L.context
        ctx.catalog = CatalogChangeWindowTests.lateEmpty
        var c = FlowCorrelator(context: ctx)
        // 5 s: REJECTed (the Service has no endpoints); its BPF view at eth0 ingress persists.
        c.add(L.obs(.new, .ingress, L.eth0, orig, t: 5 * Self.sec, flags: TCPFlags.syn, fp: L.fp(7000)))
        c.update(catalog: CatalogChangeWindowTests.withLate, validFromNs: 20 * Self.sec, readAtNs: 20 * Self.sec + 100)
        // 30 s: the same tuple, now forwarded, with Linux's next initial sequence number for it (25 s of 64 ns ticks
        // later); the ingress view still reports the first packet of 5 s.
        let again = L.tcpConnection(orig: orig, xlat: L.tcp(L.gw, 40051, L.backend, 8099), inIf: L.eth0, outIf: L.vethBackend,
                                    ctID: 51, t0: 30 * Self.sec, seq: 7000 &+ UInt32(25 * Self.sec / 64))
            .filter { !($0.kind == .new && $0.hook == .ingress && $0.tuple == orig) }
            .map { o -> Observation in
                var o = o
                if o.hook == .ingress, o.ifindex == L.eth0, o.tuple == orig { o.firstSeenNs = 5 * Self.sec }
                return o
            }
            .sorted { $0.timestampNs < $1.timestampNs }
        for o in again { c.add(o) }
        let all = c.flush()
        let recs = all.filter { $0.original == orig }
        #expect(recs.count == 2)
        let old = try #require(recs.first { $0.startNs == L.context.unixNs(5 * Self.sec) })
        #expect(old.verdict == .dropped && old.expected == .rejected && old.packets == 1)
        let new = try #require(recs.first { $0.startNs > L.context.unixNs(29 * Self.sec) })
        #expect(new.verdict == .snat && new.expected == .snat && new.expectationMet == true)
    }

    @Test func retransmittedSYNThatGetsThroughStaysOneFlow() throws {
        // Within the reject window the answered retransmission is the same connection (no split).
        let orig = L.tcp(L.external, 40052, L.node1IP, 31999)
        var ctx = L.context
        ctx.catalog = CatalogChangeWindowTests.withLate
        var c = FlowCorrelator(context: ctx)
        c.add(L.obs(.new, .ingress, L.eth0, orig, t: 5 * Self.sec, flags: TCPFlags.syn))
        let t0 = 6 * Self.sec
        for o in L.tcpConnection(orig: orig, xlat: L.tcp(L.gw, 40052, L.backend, 8099), inIf: L.eth0, outIf: L.vethBackend,
                                 ctID: 52, t0: t0).filter({ !($0.kind == .new && $0.hook == .ingress) }) {
            c.add(o)
        }
        let recs = c.flush().filter { $0.original == orig }
        #expect(recs.count == 1 && recs.first?.verdict == .snat)
    }

    @Test func synDroppedLongerThanTheRejectWindowThenServedStaysOneFlow() throws {
        // The SYN entered at 5 s and was dropped on the node (the pod's address not yet resolved); a retransmission
        // got through 2.04 s later, beyond the reject window. Its views carry the same initial sequence number (the
        // ingress view's NAT record, from the handshake's ACK, one more), and the ingress view still reports 5 s.
        let orig = L.tcp(L.external, 40053, L.node1IP, 31999)
        var ctx = L.context
        ctx.catalog = CatalogChangeWindowTests.withLate
        var c = FlowCorrelator(context: ctx)
        c.add(L.obs(.new, .ingress, L.eth0, orig, t: 5 * Self.sec, flags: TCPFlags.syn, join: .fingerprint, fp: L.fp(7000)))
        let t0 = 7_040_000_000 as UInt64
        for o in L.tcpConnection(orig: orig, xlat: L.tcp(L.gw, 40053, L.backend, 8099), inIf: L.eth0, outIf: L.vethBackend,
                                 ctID: 53, t0: t0, seq: 7000)
            .filter({ !($0.kind == .new && $0.hook == .ingress && $0.tuple == orig) })
            .map({ o -> Observation in
                var o = o
                if o.hook == .ingress, o.ifindex == L.eth0, o.tuple == orig { o.firstSeenNs = 5 * Self.sec }
                return o
            })
            .sorted(by: { $0.timestampNs < $1.timestampNs }) {
            c.add(o)
        }
        let recs = c.flush().filter { $0.original == orig }
        #expect(recs.count == 1, "\(recs)")
        let rec = try #require(recs.first)
        #expect(rec.startNs == L.context.unixNs(5 * Self.sec) && rec.outInterface != nil)
        #expect(rec.verdict == .snat && rec.expectationMet == true)
    }

    @Test func handshakeContinuationBySequenceNumbers() {
        let orig = L.tcp(L.external, 40054, L.node1IP, 31999)
        func view(_ flags: UInt8, seq: UInt32, ack: UInt32, reply: Bool = false) -> Observation {
            L.obs(.nat, .ingress, L.eth0, reply ? orig.reversed : orig, t: 1, flags: flags,
                  fp: PacketFingerprint(tcpSeq: seq, tcpAck: ack, tcpTSval: 0, ipID: 0, length: 60))
        }
        let ack = TCPFlags.ack, syn = TCPFlags.syn
        let isn: UInt32 = 0xffff_fff0   // wraps: the connection's next numbers are small
        #expect(FlowCorrelator.continuesHandshake(synSeq: isn, view(syn, seq: isn, ack: 0), isReply: false))
        #expect(FlowCorrelator.continuesHandshake(synSeq: isn, view(ack, seq: isn &+ 1, ack: 5), isReply: false))
        #expect(FlowCorrelator.continuesHandshake(synSeq: isn, view(ack, seq: isn &+ 70_000, ack: 5), isReply: false))
        #expect(FlowCorrelator.continuesHandshake(synSeq: isn, view(syn | ack, seq: 9, ack: isn &+ 1, reply: true), isReply: true))
        // Another connection: Linux's next ISN for the tuple 2 s on; a random one behind; a reply acknowledging another.
        #expect(!FlowCorrelator.continuesHandshake(synSeq: isn, view(syn, seq: isn &+ 31_250_000, ack: 0), isReply: false))
        #expect(!FlowCorrelator.continuesHandshake(synSeq: isn, view(syn, seq: isn &- 1, ack: 0), isReply: false))
        #expect(!FlowCorrelator.continuesHandshake(synSeq: isn, view(syn | ack, seq: 9, ack: isn &+ 31_250_001, reply: true), isReply: true))
        // Nothing to compare: no SYN recorded, no fingerprint, a reply without ACK, UDP.
        #expect(!FlowCorrelator.continuesHandshake(synSeq: 0, view(ack, seq: 1, ack: 5), isReply: false))
        #expect(!FlowCorrelator.continuesHandshake(synSeq: isn, L.obs(.nat, .ingress, L.eth0, orig, t: 1, flags: ack), isReply: false))
        #expect(!FlowCorrelator.continuesHandshake(synSeq: isn, view(TCPFlags.rst, seq: 9, ack: isn &+ 1, reply: true), isReply: true))
        let udp = FiveTuple(src: orig.src, dst: orig.dst, srcPort: 40054, dstPort: 53, proto: .udp)
        #expect(!FlowCorrelator.continuesHandshake(synSeq: isn, L.obs(.new, .ingress, L.eth0, udp, t: 1, fp: L.fp(isn)), isReply: false))
    }
}
