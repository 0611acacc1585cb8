import CSrcipABI
import Testing
@testable import SrcipCore

@Suite struct RecordDecoderTests {
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

    @Test func roundTripsThroughTheABIStruct() throws {
        let ct = ConntrackMapping(id: 0xdead_beef, original: Self.client, reply: Self.xlat.reversed,
                                  status: SRCIP_IPS_SRC_NAT | SRCIP_IPS_DST_NAT | SRCIP_IPS_CONFIRMED, packetIsReply: false)
        let o = Self.observation(ct: ct)
        var rec = RecordDecoder.encode(o)
        let decoded = try withUnsafeBytes(of: &rec) { try RecordDecoder.decode($0) }
        #expect(decoded == o)
    }

    @Test func decodesIPv6Tuples() throws {
        let t = FiveTuple(src: IPAddress("fd00::10")!, dst: IPAddress("fd00:96::1")!, srcPort: 5, dstPort: 80, proto: .udp)
        #expect(try RecordDecoder.tuple(RecordDecoder.encode(t)) == t)
    }

    @Test func emptyConntrackTuplesDecodeToNoMapping() throws {
        var rec = RecordDecoder.encode(Self.observation(ct: nil))
        rec.join = UInt8(SRCIP_JOIN_CONNTRACK.rawValue)
        let o = try withUnsafeBytes(of: &rec) { try RecordDecoder.decode($0) }
        #expect(o.conntrack == nil)
    }

    @Test func rejectsRecordsItCannotTrust() {
        var rec = RecordDecoder.encode(Self.observation(ct: nil, join: .fingerprint))
        #expect(throws: RecordDecodingError.wrongSize(10)) {
            try withUnsafeBytes(of: &rec) { try RecordDecoder.decode(UnsafeRawBufferPointer(rebasing: $0[0..<10])) }
        }
        var bad = rec
        bad.kind = 9
        #expect(throws: RecordDecodingError.badKind(9)) { try RecordDecoder.decode(bad) }
        bad = rec
        bad.hook = 2
        #expect(throws: RecordDecodingError.badHook(2)) { try RecordDecoder.decode(bad) }
        bad = rec
        bad.join = 0
        #expect(throws: RecordDecodingError.badJoin(0)) { try RecordDecoder.decode(bad) }
        bad = rec
        bad.tuple.family = 5
        #expect(throws: RecordDecodingError.badTuple("family 5")) { try RecordDecoder.decode(bad) }
        bad = rec
        bad.tuple.proto = 47
        #expect(throws: RecordDecodingError.badTuple("protocol 47")) { try RecordDecoder.decode(bad) }
        bad = rec
        bad.tuple = srcip_tuple()
        #expect(throws: RecordDecodingError.badTuple("empty packet tuple")) { try RecordDecoder.decode(bad) }
    }

    /// The BPF side leaves the conntrack tuples and the outer tuple off a record that has none: each record decodes
    /// from exactly the bytes its kind of content needs, whatever follows them (0xff here).
    @Test func decodesRecordsCutToWhatTheyCarry() throws {
        let ct = ConntrackMapping(id: 9, original: Self.client, reply: Self.xlat.reversed, status: SRCIP_IPS_DST_NAT, packetIsReply: false)
        let outer = FiveTuple(src: .v4(0xC0A8_0A0B), dst: .v4(0xC0A8_0A0C), srcPort: 51_000, dstPort: 8472, proto: .udp)
        var encapsulated = Self.observation(ct: nil, join: .fingerprint)
        encapsulated.encapsulation = Encapsulation(kind: .vxlan, vni: 1, outer: outer)
        let cases: [(Observation, Int)] = [(Self.observation(ct: nil, join: .fingerprint), 112), (Self.observation(ct: ct), 192),
                                           (encapsulated, 240)]
        for (o, size) in cases {
            #expect(RecordDecoder.size(of: o) == size)
            var rec = RecordDecoder.encode(o)
            var bytes = withUnsafeBytes(of: &rec) { [UInt8]($0) }
            for i in size..<bytes.count { bytes[i] = 0xff }
            let decoded = try bytes.withUnsafeBytes { raw in try RecordDecoder.decode(UnsafeRawBufferPointer(rebasing: raw[0..<size])) }
            #expect(decoded == o)
        }
        // A conntrack join needs the conntrack tuples; other lengths are not records.
        var rec = RecordDecoder.encode(Self.observation(ct: ct))
        for size in [112, 200] {
            #expect(throws: RecordDecodingError.wrongSize(size)) {
                try withUnsafeBytes(of: &rec) { try RecordDecoder.decode(UnsafeRawBufferPointer(rebasing: $0[0..<size])) }
            }
        }
    }

    @Test func natFlagsFollowTheTuplesAndStatus() {
        let snat = ConntrackMapping(id: 1, original: Self.client, reply: Self.xlat.reversed, status: 0, packetIsReply: nil)
        #expect(snat.snat && snat.dnat)
        #expect(snat.translated == Self.xlat)
        let dnatOnly = FiveTuple(src: Self.xlat.dst, dst: Self.client.src, srcPort: 8080, dstPort: 40001, proto: .tcp)
        let d = ConntrackMapping(id: 1, original: Self.client, reply: dnatOnly, status: 0, packetIsReply: nil)
        #expect(d.dnat && !d.snat)
        let none = ConntrackMapping(id: 1, original: Self.client, reply: Self.client.reversed, status: 0, packetIsReply: nil)
        #expect(!none.dnat && !none.snat)
    }

    @Test func formatsTuplesForPeople() {
        #expect(Self.client.description == "203.0.113.10:40001 → 192.168.10.11:30080 tcp")
        let v6 = FiveTuple(src: IPAddress("fd00::1")!, dst: IPAddress("fd00::2")!, srcPort: 1, dstPort: 2, proto: .udp)
        #expect(v6.description == "[fd00::1]:1 → [fd00::2]:2 udp")
        let icmp = FiveTuple(src: IPAddress("10.0.0.1")!, dst: IPAddress("10.0.0.2")!, srcPort: 7, dstPort: 0, proto: .icmp)
        #expect(icmp.description == "10.0.0.1 → 10.0.0.2 icmp id 7")
        #expect(icmp.reversed.description == "10.0.0.2 → 10.0.0.1 icmp id 7")
        #expect(RecordDecoderTests.client.reversed.reversed == RecordDecoderTests.client)
        #expect(RecordDecoderTests.client.reversed.srcPort == 30080)
    }

    /// The decoder reads fields in place at fixed offsets: they must be the imported struct's.
    @Test func decoderOffsetsMatchTheImportedLayout() {
        typealias O = RecordDecoder.Offset
        typealias R = MemoryLayout<srcip_record>
        #expect(R.offset(of: \.ts_ns) == O.tsNs && R.offset(of: \.first_ns) == O.firstNs)
        #expect(R.offset(of: \.packets) == O.packets && R.offset(of: \.bytes) == O.bytes && R.offset(of: \.ct_id) == O.ctID)
        #expect(R.offset(of: \.ifindex) == O.ifindex && R.offset(of: \.ct_status) == O.ctStatus)
        #expect(R.offset(of: \.kind) == O.kind && R.offset(of: \.hook) == O.hook && R.offset(of: \.ct_dir) == O.ctDir)
        #expect(R.offset(of: \.tcp_flags) == O.tcpFlags && R.offset(of: \.join) == O.join)
        #expect(R.offset(of: \.tuple) == O.tuple && R.offset(of: \.ct_orig) == O.ctOrig && R.offset(of: \.ct_reply) == O.ctReply)
        #expect(R.offset(of: \.fp) == O.fp && R.offset(of: \.encap) == O.encap)
        typealias F = MemoryLayout<srcip_fingerprint>
        #expect(F.offset(of: \.tcp_seq) == O.fpTCPSeq && F.offset(of: \.tcp_ack) == O.fpTCPAck)
        #expect(F.offset(of: \.tcp_tsval) == O.fpTCPTSval && F.offset(of: \.ip_id) == O.fpIPID && F.offset(of: \.length) == O.fpLength)
        typealias E = MemoryLayout<srcip_encap>
        #expect(E.offset(of: \.outer) == 0 && E.offset(of: \.vni) == O.encapVNI && E.offset(of: \.type) == O.encapType)
        typealias T = MemoryLayout<srcip_tuple>
        #expect(T.offset(of: \.saddr) == O.saddr && T.offset(of: \.daddr) == O.daddr && T.offset(of: \.sport) == O.sport)
        #expect(T.offset(of: \.dport) == O.dport && T.offset(of: \.family) == O.family && T.offset(of: \.proto) == O.proto)
    }

    /// A record with every field set (IPv6, encapsulated, reply direction) survives encode → in-place decode.
    @Test func roundTripsIPv6EncapsulatedRecords() throws {
        let c6 = FiveTuple(src: IPAddress("2001:db8::10")!, dst: IPAddress("fd00:96::1")!, srcPort: 40001, dstPort: 443, proto: .tcp)
        let x6 = FiveTuple(src: IPAddress("fd00::1")!, dst: IPAddress("fd00:244::7")!, srcPort: 61000, dstPort: 8443, proto: .tcp)
        let ct = ConntrackMapping(id: 0x0123_4567_89ab_cdef, original: c6, reply: x6.reversed, status: SRCIP_IPS_DST_NAT, packetIsReply: true)
        let outer = FiveTuple(src: .v4(0xC0A8_0A0B), dst: .v4(0xC0A8_0A0C), srcPort: 51_000, dstPort: 4789, proto: .udp)
        let o = Observation(kind: .end, hook: .egress, ifindex: 0xfeed, timestampNs: .max - 1, firstSeenNs: 1 << 40,
                            packets: 1 << 33, bytes: 1 << 45, tuple: x6.reversed, tcpFlags: 0x12, join: .conntrack, conntrack: ct,
                            fingerprint: PacketFingerprint(tcpSeq: .max, tcpAck: 7, tcpTSval: 9, ipID: 0xabcd, length: 1500),
                            encapsulation: Encapsulation(kind: .vxlan, vni: 0xABCDEF, outer: outer))
        var rec = RecordDecoder.encode(o)
        #expect(try withUnsafeBytes(of: &rec) { try RecordDecoder.decode($0) } == o)
        #expect(try RecordDecoder.decode(rec) == o)
    }
}
