import Testing
@testable import SrcipCore

@Suite struct ObservationFormatTests {
    // 2026-11-25T23:45:01.123456Z
    static let unixNs: UInt64 = 1_795_650_301_123_456_789

    @Test func textLineShowsTheMappingAndNATMarks() {
        let ct = ConntrackMapping(id: 5, original: RecordDecoderTests.client,
                                  reply: RecordDecoderTests.xlat.reversed, status: 0, packetIsReply: false)
        let line = ObservationFormat.text(RecordDecoderTests.observation(ct: ct), interface: "eth0", unixNs: Self.unixNs)
        #expect(line == "23:45:01.123456 eth0     ingress nat     203.0.113.10:40001 → 192.168.10.11:30080 tcp"
                + "  ct 203.0.113.10:40001 → 192.168.10.11:30080 ⇒ 192.168.10.11:51234 → 10.244.1.2:8080 [SNAT DNAT]"
                + "  pkts=3 bytes=180")
    }

    @Test func textLineWithoutConntrackShowsTheFingerprint() {
        let line = ObservationFormat.text(RecordDecoderTests.observation(ct: nil, join: .fingerprint),
                                          interface: "veth1", unixNs: Self.unixNs)
        #expect(line.hasSuffix("tcp  fp id=44 seq=11 len=60  pkts=3 bytes=180"))
    }

    @Test func jsonRecordCarriesTheMapping() {
        let ct = ConntrackMapping(id: 255, original: RecordDecoderTests.client,
                                  reply: RecordDecoderTests.xlat.reversed, status: 0, packetIsReply: true)
        let j = ObservationFormat.json(RecordDecoderTests.observation(ct: ct), node: "node1", interface: "eth0", unixNs: Self.unixNs)
        #expect(j.hasPrefix(#"{"time":"2026-11-25T23:45:01.123456Z","node":"node1","interface":"eth0","ifindex":7,"hook":"ingress","event":"nat","src_ip":"203.0.113.10","src_port":40001"#))
        #expect(j.contains(#""ct_id":"ff","ct_orig_src_ip":"203.0.113.10""#))
        #expect(j.contains(#""ct_reply_src_ip":"10.244.1.2","ct_reply_src_port":8080,"ct_reply_dst_ip":"192.168.10.11","ct_reply_dst_port":51234,"snat":true,"dnat":true,"ct_dir":"reply""#))
    }
}
