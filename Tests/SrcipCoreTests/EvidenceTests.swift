import Testing
@testable import SrcipCore

/// Verdicts only from evidence, connection identity on reused tuples, no reply-only records (issue 8, defects 4–7).
@Suite struct EvidenceTests {
    typealias L = Lab
    static let orig = L.tcp(L.external, 40001, L.node1IP, 30080)
    static let xlat = L.tcp(L.node1IP, 51234, L.backend, 8080)

    /// Only the uplink traced (routed veth to the backend): the SYN at ingress has no entry yet, the next packets and
    /// the replies carry it.
    static func uplinkOnly(ct: Bool, t0: UInt64 = 1_000, id: UInt64 = 7, xlat: FiveTuple = xlat) -> [Observation] {
        let m: (Bool) -> ConntrackMapping? = { ct ? L.ct(id, orig, xlat.reversed, reply: $0) : nil }
        let join: JoinMethod = ct ? .conntrack : .fingerprint
        let fin = TCPFlags.fin | TCPFlags.ack
        return [
            L.obs(.new, .ingress, L.eth0, orig, t: t0, flags: TCPFlags.syn, join: join),
            L.obs(.new, .egress, L.eth0, orig.reversed, t: t0 + 50, flags: TCPFlags.syn | TCPFlags.ack, ct: m(true), join: join),
            L.obs(.nat, .ingress, L.eth0, orig, t: t0 + 70, first: t0, packets: 2, flags: TCPFlags.syn | TCPFlags.ack, ct: m(false), join: join),
            L.obs(.end, .egress, L.eth0, orig.reversed, t: t0 + 400, first: t0 + 50, packets: 4, flags: fin | TCPFlags.syn, ct: m(true), join: join),
            L.obs(.end, .ingress, L.eth0, orig, t: t0 + 500, first: t0, packets: 5, flags: fin | TCPFlags.syn, ct: m(false), join: join),
        ]
    }

    @Test func uplinkOnlyViewOfASNATedFlowTakesTheAddressFromConntrack() throws {
        let (records, _) = L.run(Self.uplinkOnly(ct: true))
        let r = try #require(records.first)
        #expect(records.count == 1)
        #expect(r.translated == Self.xlat && r.snat && r.verdict == .snat && r.expectationMet == true)
        #expect(r.snatInterface == nil && r.outInterface == nil, "SNAT happened at an egress that was not traced")
        #expect(r.reason?.contains("egress toward \(L.backend) not observed") == true, "\(r.reason ?? "")")
        // Every arrival order of the first three records gives the same record.
        let seq = Self.uplinkOnly(ct: true)
        for p in permutations(Array(seq.prefix(3))) { #expect(L.run(p + seq.dropFirst(3)).0 == records) }
    }

    @Test func uplinkOnlyWithoutConntrackIsUnknownNeverPreserved() throws {
        let (records, _) = L.run(Self.uplinkOnly(ct: false))
        let r = try #require(records.first)
        #expect(records.count == 1 && r.translated == nil)
        #expect(r.verdict == .unknown && r.expectationMet == nil && r.expected == .snat)
        #expect(r.reason?.contains("not observed") == true && r.reason?.contains("eth0 ingress, eth0 egress (replies)") == true,
                "\(r.reason ?? "")")
    }

    @Test func conntrackReplyToTheClientIsEvidenceOfPreservation() throws {
        let orig = L.tcp(L.external, 40002, L.node1IP, 30081)
        let x = L.tcp(L.external, 40002, L.backend, 8081)
        let m = L.ct(8, orig, x.reversed, reply: true)
        let seq = [L.obs(.new, .ingress, L.eth0, orig, t: 10, flags: TCPFlags.syn),
                   L.obs(.new, .egress, L.eth0, orig.reversed, t: 20, flags: TCPFlags.syn | TCPFlags.ack, ct: m)]
        let r = try #require(L.run(seq).0.first)
        #expect(r.verdict == .preserved && r.translated == x && r.expectedRow == 11 && r.expectationMet == true)
    }

    @Test func clientPortReusedWithinTimeWaitGivesOneRecordPerConnection() throws {
        var config = CorrelatorConfig()
        config.closeLingerNs = 1_000_000_000
        var seq: [Observation] = []
        for i in 0..<5 {
            let x = L.tcp(L.node1IP, UInt16(50000 + i), L.backend, 8080)
            seq += L.tcpConnection(orig: Self.orig, xlat: x, inIf: L.eth0, outIf: L.vethBackend, ctID: UInt64(100 + i),
                                   t0: 1_000_000 + UInt64(i) * 20_000, seq: UInt32(1000 + 7 * i))
            seq += Self.uplinkOnly(ct: true, t0: 50_000_000 + UInt64(i) * 20_000, id: UInt64(200 + i), xlat: x)
        }
        let (records, stats) = L.run(seq, config: config)
        #expect(records.count == 10, "\(records.map { "\($0.translated?.srcPort ?? 0) \($0.verdict) \($0.packets)" })")
        #expect(records.allSatisfy { $0.verdict == .snat && $0.expectationMet == true && $0.packets > 1 })
        #expect(Set(records.compactMap { $0.translated?.srcPort }) == Set((0..<5).map { UInt16(50000 + $0) }))
        #expect(stats.unmatchedReplies == 0)
    }

    @Test func bridgedReplyWithOnlyTheSNATUndoneFoldsIntoItsRequest() throws {
        // br_netfilter: the reply reaches cni0 ingress after de-SNAT, before de-DNAT; conntrack has no such tuple.
        let x = L.tcp(L.gw, 51234, L.backend, 8080)
        var seq = L.tcpConnection(orig: Self.orig, xlat: x, inIf: L.eth0, outIf: L.vethBackend, ctID: 7)
        let half = L.tcp(L.backend, 8080, L.external, 40001)
        seq.insert(L.obs(.new, .ingress, L.cni0, half, t: 1_000_105, flags: TCPFlags.syn | TCPFlags.ack), at: 5)
        seq.append(L.obs(.end, .ingress, L.cni0, half, t: 1_005_105, first: 1_000_105, packets: 5, flags: TCPFlags.fin | TCPFlags.ack))
        let (records, stats) = L.run(seq)
        #expect(records.count == 1 && records.first?.verdict == .snat && records.first?.packets == 6, "\(records)")
        #expect(stats.unmatchedReplies == 0)
    }

    @Test func repliesWithoutTheirRequestAreCountedNotWritten() {
        let reply = L.tcp(L.backend, 8080, L.external, 40009)
        let (records, stats) = L.run([L.obs(.new, .ingress, L.cni0, reply, t: 100, flags: TCPFlags.syn | TCPFlags.ack)])
        #expect(records.isEmpty && stats.unmatchedReplies == 1)
    }

    @Test func udpRequestAndResponseAreOneRecordEvenWhenTheAnswerIsLate() throws {
        let q = L.udp(L.clientPod, 5300, "10.244.2.9", 53)
        var c = FlowCorrelator(context: L.context, config: CorrelatorConfig(idleTimeoutNs: 1_000))
        c.add(L.obs(.new, .egress, L.eth0, q, t: 100, join: .fingerprint))
        c.add(L.obs(.new, .ingress, L.eth0, q.reversed, t: 200, join: .fingerprint))
        c.advance(toNs: 5_000)
        let first = c.drainFinished()
        #expect(first.count == 1 && first.first?.replyPackets == 1)
        c.add(L.obs(.new, .ingress, L.eth0, q.reversed, t: 6_000, join: .fingerprint))
        #expect(c.flush().isEmpty && c.stats.lateRecords == 1)
    }
}

@Suite struct KubeProxyRulesExpectationTests {
    static func context(source: String, services: [Service]) -> NodeContext {
        var ctx = Lab.context
        let origin: CatalogOrigin = switch source {
        case "iptables": .iptablesRules
        case "nftables": .nftablesRules
        default: .kubernetesObjects
        }
        ctx.catalog = ServiceCatalog(services: services, source: source, origin: origin, clusterCIDRs: Lab.context.clusterCIDRs)
        return ctx
    }

    @Test(arguments: ["iptables", "nftables"])
    func internalTrafficPolicyLocalWithoutLocalEndpointIsDropped(source: String) throws {
        // kube-proxy's rules on node1 show no endpoint, only the "has no local endpoints" DROP that set iTP Local.
        let svc = Service(namespace: "default", name: "itp", type: .clusterIP, clusterIP: Lab.ip("10.96.0.70"),
                          ports: [ServicePort(name: nil, proto: .tcp, port: 80, endpoints: [])], internalTrafficPolicy: .local)
        var c = FlowCorrelator(context: Self.context(source: source, services: [svc]))
        c.add(Lab.obs(.new, .ingress, Lab.vethClient, Lab.tcp(Lab.clientPod, 41100, "10.96.0.70", 80), t: 100, flags: TCPFlags.syn))
        let r = try #require(c.flush().first)
        #expect(r.verdict == .dropped && r.expected == .dropped && r.expectedRow == 7 && r.expectationMet == true)
        #expect(r.reason?.contains("internalTrafficPolicy Local and no local endpoint on node1") == true, "\(r.reason ?? "")")
        // A kubectl dump lists every endpoint: none at all is "no endpoints", REJECT.
        var k = FlowCorrelator(context: Self.context(source: "kubectl", services: [svc]))
        k.add(Lab.obs(.new, .ingress, Lab.vethClient, Lab.tcp(Lab.clientPod, 41101, "10.96.0.70", 80), t: 100, flags: TCPFlags.syn))
        #expect(k.flush().first?.expectedRow == 23)
    }

    @Test func nftablesDropsOutOfRangeSourcesBeforeTheNoEndpointReject() {
        let base = ExpectationInput(frontend: .loadBalancer, client: .external, hasEndpoints: false, sourceAllowedByRanges: false)
        var nft = base
        nft.nftables = true
        #expect(Expectation.expected(base)?.row == 23 && Expectation.expected(base)?.verdict == .rejected)
        #expect(Expectation.expected(nft)?.row == 21 && Expectation.expected(nft)?.verdict == .dropped)
    }

    @Test func withoutALocalTrafficDetectorPodsGetNoShortCircuit() {
        for frontend in [Frontend.nodePort, .loadBalancer] {
            var i = ExpectationInput(frontend: frontend, externalTrafficPolicy: .local, client: .pod, hasLocalEndpoints: false)
            #expect(Expectation.expected(i)?.verdict == .preserved)
            i.detectLocal = false
            #expect(Expectation.expected(i)?.verdict == .dropped && [12, 17].contains(Expectation.expected(i)?.row ?? 0))
            i.hasLocalEndpoints = true
            #expect(Expectation.expected(i)?.verdict == .preserved && [11, 16].contains(Expectation.expected(i)?.row ?? 0))
        }
    }
}
