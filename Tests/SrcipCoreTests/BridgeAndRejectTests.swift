import Testing
@testable import SrcipCore

/// Pod traffic crosses a bridge: the same first packet shows at the pod's port and again at the bridge device after
/// br_netfilter's DNAT; and a REJECT answers from the Service address the client used.
@Suite struct BridgeAndRejectTests {
    typealias L = Lab

    @Test func fingerprintJoinsAPacketSeenAtThePortAndAtTheBridge() throws {
        let orig = L.tcp(L.clientPod, 41500, "10.96.0.10", 80)
        let xlat = L.tcp(L.clientPod, 41500, L.remoteBackend, 8080)
        let f = L.fp(5000), r = L.fp(9000)
        let syn = TCPFlags.syn, fin = TCPFlags.fin | TCPFlags.ack
        let obs = [
            L.obs(.new, .ingress, L.vethClient, orig, t: 1_000, flags: syn, join: .fingerprint, fp: f),
            L.obs(.new, .ingress, L.cni0, xlat, t: 1_100, flags: syn, join: .fingerprint, fp: f),
            L.obs(.new, .egress, L.eth0, xlat, t: 1_200, flags: syn, join: .fingerprint, fp: f),
            L.obs(.new, .ingress, L.eth0, xlat.reversed, t: 2_000, flags: syn | TCPFlags.ack, join: .fingerprint, fp: r),
            L.obs(.new, .egress, L.vethClient, orig.reversed, t: 2_100, flags: syn | TCPFlags.ack, join: .fingerprint, fp: r),
            L.obs(.end, .ingress, L.vethClient, orig, t: 5_000, first: 1_000, packets: 5, flags: syn | fin, join: .fingerprint),
            L.obs(.end, .ingress, L.cni0, xlat, t: 5_100, first: 1_100, packets: 5, flags: syn | fin, join: .fingerprint),
            L.obs(.end, .egress, L.eth0, xlat, t: 5_200, first: 1_200, packets: 5, flags: syn | fin, join: .fingerprint),
            L.obs(.end, .ingress, L.eth0, xlat.reversed, t: 5_300, first: 2_000, packets: 4, flags: syn | fin, join: .fingerprint),
            L.obs(.end, .egress, L.vethClient, orig.reversed, t: 5_400, first: 2_100, packets: 4, flags: syn | fin, join: .fingerprint),
        ]
        let (records, stats) = L.run(obs)
        #expect(records.count == 1, "\(records)")
        let rec = try #require(records.first)
        #expect(rec.original == orig && rec.translated == xlat)
        #expect(rec.inInterface == "veth-client" && rec.outInterface == "eth0")
        #expect(rec.dnat && !rec.snat && rec.dnatInterface == "cni0" && rec.dnatHook == .ingress)
        #expect(rec.verdict == .preserved && rec.join == .fingerprint && stats.fingerprintJoins >= 1)
    }

    @Test func icmpFromTheServiceAddressMeansRejected() throws {
        let orig = L.tcp(L.clientPod, 41501, "10.96.0.30", 80)
        // As the BPF side reports a destination unreachable: the quoted client port, type 3 << 8 | code 3.
        let icmp = FiveTuple(src: L.ip("10.96.0.30"), dst: L.ip(L.clientPod), srcPort: 41501, dstPort: 0x0303, proto: .icmp)
        let obs = [
            L.obs(.new, .ingress, L.vethClient, orig, t: 1_000, flags: TCPFlags.syn, join: .fingerprint, fp: L.fp(7000)),
            L.obs(.new, .egress, L.vethClient, icmp, t: 1_050, join: .fingerprint),
        ]
        let (records, _) = L.run(obs)
        let rec = try #require(records.first { $0.original == orig })
        #expect(rec.verdict == .rejected && rec.expected == .rejected && rec.expectedRow == 23 && rec.expectationMet == true)
    }

    @Test func icmpQuotingAnotherConnectionDoesNotRejectThisOne() throws {
        // A request to a Service outside loadBalancerSourceRanges is dropped; the same client's next request is rejected.
        let dropped = L.tcp(L.clientPod, 41502, "10.96.0.30", 80)
        let icmp = FiveTuple(src: L.ip("10.96.0.30"), dst: L.ip(L.clientPod), srcPort: 41503, dstPort: 0x0303, proto: .icmp)
        let obs = [
            L.obs(.new, .ingress, L.vethClient, dropped, t: 1_000, flags: TCPFlags.syn, join: .fingerprint, fp: L.fp(7100)),
            L.obs(.new, .egress, L.vethClient, icmp, t: 1_000_000, join: .fingerprint),
        ]
        let (records, _) = L.run(obs)
        let rec = try #require(records.first { $0.original == dropped })
        #expect(rec.verdict == .dropped)
    }
}
