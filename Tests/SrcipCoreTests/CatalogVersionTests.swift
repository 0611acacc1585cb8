import Testing
@testable import SrcipCore

/// A flow is attributed with the Service catalog valid when it started.
@Suite struct CatalogVersionTests {
    static let late = Service(namespace: "late", name: "np", type: .nodePort, clusterIP: Lab.ip("10.96.0.99"),
                              ports: [ServicePort(name: nil, proto: .tcp, port: 80, nodePort: 31999,
                                                  endpoints: [Lab.ep(Lab.backend, 8099, "node1")])])
    static let withLate = ServiceCatalog(services: Lab.services + [late])
    static let withoutLate = ServiceCatalog(services: Lab.services)
    static let sec: UInt64 = 1_000_000_000

    /// A finished NodePort 31999 connection through node1 starting at `t0`.
    func connection(port: UInt16, t0: UInt64, ct: UInt64) -> [Observation] {
        Lab.tcpConnection(orig: Lab.tcp(Lab.external, port, Lab.node1IP, 31999),
                          xlat: Lab.tcp(Lab.gw, port, Lab.backend, 8099), inIf: Lab.eth0, outIf: Lab.vethBackend, ctID: ct, t0: t0)
    }

    @Test func serviceDeletedAfterFlowStartStillNamesIt() throws {
        var ctx = Lab.context
        ctx.catalog = Self.withLate
        var c = FlowCorrelator(context: ctx)
        let obs = connection(port: 40001, t0: 10 * Self.sec, ct: 1)
        for o in obs.prefix(3) { c.add(o) }
        c.update(catalog: Self.withoutLate, validFromNs: 11 * Self.sec)
        for o in obs.dropFirst(3) { c.add(o) }
        for o in connection(port: 40002, t0: 20 * Self.sec, ct: 2) { c.add(o) }
        let records = c.flush()
        #expect(records.count == 2)
        let early = try #require(records.first { $0.original.srcPort == 40001 })
        let after = try #require(records.first { $0.original.srcPort == 40002 })
        #expect(early.service?.id == "late/np" && early.verdict == .snat && early.expected == .snat)
        #expect(after.service == nil && after.expected == nil)
    }

    @Test func serviceAddedAttributesOnlyFlowsStartingAfter() throws {
        var c = FlowCorrelator(context: Lab.context)
        let before = connection(port: 40003, t0: 10 * Self.sec, ct: 3)
        for o in before.prefix(3) { c.add(o) }
        c.update(catalog: Self.withLate, validFromNs: 15 * Self.sec)      // beyond the 2 s grace
        for o in before.dropFirst(3) { c.add(o) }
        for o in connection(port: 40004, t0: 16 * Self.sec, ct: 4) { c.add(o) }
        let records = c.flush()
        #expect(records.first { $0.original.srcPort == 40003 }?.service == nil)
        #expect(records.first { $0.original.srcPort == 40004 }?.service?.id == "late/np")
        #expect(c.stats.catalogUpdates == 1)
    }

    @Test func changeNoticedJustAfterFlowStartAttributesIt() throws {
        var c = FlowCorrelator(context: Lab.context)
        for o in connection(port: 40005, t0: 10 * Self.sec, ct: 5) { c.add(o) }
        let out = c.drainFinished()
        #expect(out.first?.service == nil)     // finished before the refresh arrived
        var c2 = FlowCorrelator(context: Lab.context)
        let obs = connection(port: 40006, t0: 10 * Self.sec, ct: 6)
        for o in obs.prefix(2) { c2.add(o) }
        c2.update(catalog: Self.withLate, validFromNs: 10 * Self.sec + 500_000_000)
        for o in obs.dropFirst(2) { c2.add(o) }
        #expect(c2.flush().first?.service?.id == "late/np")
    }

    /// A SYN turned away while the Service had no endpoints (REJECT, its ICMP suppressed) and retransmitted after
    /// endpoints came is judged by the catalog in force when it was served (seen in the soak: 3 false mismatches).
    @Test func aRetransmittedSYNServedAfterEndpointsCameIsJudgedByThatCatalog() throws {
        var empty = Self.late
        empty.ports[0].endpoints = []
        var ctx = Lab.context
        ctx.catalog = ServiceCatalog(services: Lab.services + [empty])
        var c = FlowCorrelator(context: ctx)
        let orig = Lab.tcp(Lab.external, 40010, Lab.node1IP, 31999)
        // SYNs at 10, 11 and 13 s get no answer; endpoints come at 14 s; the SYN at 17 s is served.
        for t: UInt64 in [10, 11, 13] { c.add(Lab.obs(.new, .ingress, Lab.eth0, orig, t: t * Self.sec, flags: TCPFlags.syn)) }
        c.update(catalog: Self.withLate, validFromNs: 14 * Self.sec)
        for o in connection(port: 40010, t0: 17 * Self.sec, ct: 10) { c.add(o) }
        let records = c.flush()
        #expect(records.count == 1)
        let r = try #require(records.first)
        #expect(r.service?.id == "late/np" && r.verdict == .snat)
        #expect(r.expected == .snat && r.expectationMet == true, "\(String(describing: r.expected)) \(r.reason ?? "")")

        // Never served: judged by the catalog of its first packet.
        var d = FlowCorrelator(context: ctx)
        d.add(Lab.obs(.new, .ingress, Lab.eth0, Lab.tcp(Lab.external, 40011, Lab.node1IP, 31999), t: 10 * Self.sec, flags: TCPFlags.syn))
        d.update(catalog: Self.withLate, validFromNs: 14 * Self.sec)
        #expect(try #require(d.flush().first).expected == .rejected)
    }

    @Test func versionsNoLiveFlowNeedsAreDropped() {
        var c = FlowCorrelator(context: Lab.context)
        let obs = connection(port: 40007, t0: 10 * Self.sec, ct: 7)
        for o in obs.prefix(3) { c.add(o) }
        for i in 0..<20 {
            c.update(catalog: i % 2 == 0 ? Self.withLate : Self.withoutLate, validFromNs: UInt64(20 + 20 * i) * Self.sec)
        }
        // The live flow's version, the newest and the one it superseded (less than catalogHoldNs ago).
        #expect(c.catalogVersionCount == 3)
        for o in obs.dropFirst(3) { c.add(o) }
        #expect(c.flush().first?.service == nil)
        c.update(catalog: Self.withLate, validFromNs: 500 * Self.sec)
        #expect(c.catalogVersionCount == 2)
    }

    @Test func versionsAreCappedWithManyLiveEras() {
        var config = CorrelatorConfig()
        config.maxCatalogVersions = 3
        var c = FlowCorrelator(context: Lab.context, config: config)
        for i in 0..<10 {
            let obs = connection(port: UInt16(41000 + i), t0: UInt64(10 + 10 * i) * Self.sec, ct: UInt64(100 + i))
            c.add(obs[0])
            c.update(catalog: i % 2 == 0 ? Self.withLate : Self.withoutLate, validFromNs: UInt64(15 + 10 * i) * Self.sec)
        }
        #expect(c.catalogVersionCount == 3)
    }

    @Test func flowsFinishingWhileAChangeIsReadWaitForTheNewCatalog() throws {
        var c = FlowCorrelator(context: Lab.context)
        for o in connection(port: 40010, t0: 5 * Self.sec, ct: 10) { c.add(o) }
        #expect(c.drainFinished().count == 1)                         // before the change: emitted at once
        c.catalogChangePending(sinceNs: 10 * Self.sec)
        for o in connection(port: 40011, t0: 10 * Self.sec + 1000, ct: 11) { c.add(o) }
        #expect(c.drainFinished().isEmpty && c.heldFlowCount == 1)
        c.update(catalog: Self.withLate, validFromNs: 10 * Self.sec)
        let r = try #require(c.drainFinished().first)
        #expect(r.service?.id == "late/np" && r.expectationMet == true && c.heldFlowCount == 0)

        c.catalogChangePending(sinceNs: 20 * Self.sec)
        for o in connection(port: 40012, t0: 20 * Self.sec + 1000, ct: 12) { c.add(o) }
        #expect(c.drainFinished().isEmpty)
        c.catalogChangeSettled()                                        // nothing changed after all
        #expect(c.drainFinished().first?.service?.id == "late/np")

        c.catalogChangePending(sinceNs: 30 * Self.sec)
        for o in connection(port: 40013, t0: 30 * Self.sec + 1000, ct: 13) { c.add(o) }
        c.advance(toNs: 30 * Self.sec + CorrelatorConfig().catalogHoldNs + 2000)   // a reader that never answers
        #expect(c.drainFinished().count == 1 && c.heldFlowCount == 0)
    }
}
