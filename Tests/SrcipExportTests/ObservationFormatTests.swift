import Testing
import SrcipCore
@testable import SrcipExport

@Suite struct ObservationFormatTests {
    // 2026-11-25T23:45:01.123456Z
    static let unixNs: UInt64 = 1_795_650_301_123_456_789

    @Test func textLineShowsTheMappingAndNATMarks() {
        let ct = ConntrackMapping(id: 5, original: ObservationFixtures.client,
                                  reply: ObservationFixtures.xlat.reversed, status: 0, packetIsReply: false)
        let line = ObservationFormat.text(ObservationFixtures.observation(ct: ct), interface: "eth0", unixNs: Self.unixNs)
        #expect(line == "23:45:01.123456 eth0     ingress nat     203.0.113.10:40001 → 192.168.10.11:30080 tcp"
                + "  ct 203.0.113.10:40001 → 192.168.10.11:30080 ⇒ 192.168.10.11:51234 → 10.244.1.2:8080 [SNAT DNAT]"
                + "  pkts=3 bytes=180")
    }

    @Test func textLineWithoutConntrackShowsTheFingerprint() {
        let line = ObservationFormat.text(ObservationFixtures.observation(ct: nil, join: .fingerprint),
                                          interface: "veth1", unixNs: Self.unixNs)
        #expect(line.hasSuffix("tcp  fp id=44 seq=11 len=60  pkts=3 bytes=180"))
    }

    @Test func jsonRecordCarriesTheMapping() {
        let ct = ConntrackMapping(id: 255, original: ObservationFixtures.client,
                                  reply: ObservationFixtures.xlat.reversed, status: 0, packetIsReply: true)
        let j = ObservationFormat.json(ObservationFixtures.observation(ct: ct), node: "node1", interface: "eth0", unixNs: Self.unixNs)
        #expect(j.hasPrefix(#"{"time":"2026-11-25T23:45:01.123456Z","node":"node1","interface":"eth0","ifindex":7,"hook":"ingress","event":"nat","src_ip":"203.0.113.10","src_port":40001"#))
        #expect(j.contains(#""ct_id":"ff","ct_orig_src_ip":"203.0.113.10""#))
        #expect(j.contains(#""ct_reply_src_ip":"10.244.1.2","ct_reply_src_port":8080,"ct_reply_dst_ip":"192.168.10.11","ct_reply_dst_port":51234,"snat":true,"dnat":true,"ct_dir":"reply""#))
    }
}

/// One ingress NAT observation of a NodePort connection, with or without its conntrack mapping.
enum ObservationFixtures {
    static let client = FiveTuple(src: IPAddress("203.0.113.10")!, dst: IPAddress("192.168.10.11")!,
                                  srcPort: 40001, dstPort: 30080, proto: .tcp)
    static let xlat = FiveTuple(src: IPAddress("192.168.10.11")!, dst: IPAddress("10.244.1.2")!,
                                srcPort: 51234, dstPort: 8080, proto: .tcp)

    static func observation(ct: ConntrackMapping?, join: JoinMethod = .conntrack) -> Observation {
        Observation(kind: .nat, hook: .ingress, ifindex: 7, timestampNs: 2_000, firstSeenNs: 1_000,
                    packets: 3, bytes: 180, tuple: client, tcpFlags: TCPFlags.syn | TCPFlags.ack, join: join,
                    conntrack: ct,
                    fingerprint: PacketFingerprint(tcpSeq: 11, tcpAck: 22, tcpTSval: 33, ipID: 44, length: 60))
    }
}
