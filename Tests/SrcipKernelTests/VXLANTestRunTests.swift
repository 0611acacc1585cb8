import SrcipTestbed
import SrcipCore
import Testing
@testable import SrcipKernel

/// The VXLAN parser on crafted frames (BPF_PROG_TEST_RUN, both hooks, both flavours): a well-formed VXLAN
/// packet is followed as its inner flow with the outer tuple and VNI attached; anything malformed passes
/// through unchanged, is counted, and is followed as the plain UDP packet it is — never as a parse of garbage.
@Suite("VXLAN parser on crafted frames", .privileged)
struct VXLANTestRunTests {
    typealias P = PacketBuilder
    static let outer8472 = "192.168.10.12:51000 → 192.168.10.11:8472 udp"

    @Test("VXLAN packets are followed as their inner flow, with the outer tuple and VNI", arguments: [
        ("8472, inner IPv4 TCP", P.vxlan(P.ipv4TCP()), "10.1.2.3:40000 → 10.9.8.7:80 tcp", 1, 8472),
        ("4789, inner IPv4 UDP, VNI 0x123456", P.vxlan(P.ipv4UDP(), vni: 0x12_3456, port: 4789), "10.1.2.3:5353 → 10.9.8.7:53 udp", 0x12_3456, 4789),
        ("inner VLAN-tagged IPv4 TCP", P.vxlan(P.ipv4TCP(vlan: 7)), "10.1.2.3:40000 → 10.9.8.7:80 tcp", 1, 8472),
        ("inner IPv6 TCP", P.vxlan(P.ipv6TCP()), "[fd00::1]:41000 → [fd00::2]:443 tcp", 1, 8472),
        ("inner IPv6 TCP behind extension headers", P.vxlan(P.ipv6TCPWithExtensions()), "[fd00::1]:41000 → [fd00::2]:443 tcp", 1, 8472),
        ("inner ICMP echo", P.vxlan(P.ipv4ICMP()), "10.1.2.3 → 10.9.8.7 icmp id 4242", 1, 8472),
        ("group-policy flag (0x88)", P.vxlan(P.ipv4TCP(), header: P.vxlanHeader(vni: 1, flags: 0x88)), "10.1.2.3:40000 → 10.9.8.7:80 tcp", 1, 8472),
    ] as [(String, [UInt8], String, UInt32, UInt16)])
    func inner(name: String, packet: [UInt8], tuple: String, vni: UInt32, port: UInt16) throws {
        for fingerprint in [false, true] {
            let (c, records, flows) = try ProgramTestRunTests.run(packet, fingerprint: fingerprint)
            #expect(c.vxlan == 2 && c.vxlanNotVXLAN == 0 && c.vxlanInnerSkipped == 0, "\(name): \(c)")
            let syn = tuple.hasSuffix(" tcp") // recorded, inserted by the flow's next packet
            #expect(c.flowsCreated + c.handshakesDeferred == 2 && flows == (syn ? 0 : 2) && c.records == 2, "\(name): \(c)")
            #expect(c.handshakesDeferred == (syn ? 2 : 0), "\(name): \(c)")
            try #require(records.count == 2, "\(name)")
            for r in records {
                #expect(r.tuple.description == tuple, "\(name)")
                let e = try #require(r.encapsulation, "\(name): encapsulation missing")
                #expect(e.kind == .vxlan && e.vni == vni, "\(name): \(e)")
                #expect(e.outer?.description == "192.168.10.12:51000 → 192.168.10.11:\(port) udp", "\(name)")
                #expect(r.bytes == UInt64(packet.count), "bytes count the whole outer packet")
                #expect(r.conntrack == nil)
            }
        }
    }

    @Test("the inner fingerprint is reported, so the overlay hop joins the decapsulated one")
    func innerFingerprint() throws {
        let (_, records, _) = try ProgramTestRunTests.run(P.vxlan(P.ipv4TCP(tsval: 0xdead_beef)))
        let fp = try #require(records.first?.fingerprint)
        #expect(fp == PacketFingerprint(tcpSeq: 1000, tcpAck: 0, tcpTSval: 0xdead_beef, ipID: 0x1234, length: 20 + 32))
    }

    static let validInner = P.ipv4TCP()
    static let innerLength = UInt16(8 + 8 + P.ipv4TCP().count)

    @Test("malformed VXLAN passes through as the outer UDP flow, counted", arguments: [
        ("VXLAN header cut short", P.vxlan([], header: [0x08, 0, 0, 0]), \CounterSnapshot.vxlanNotVXLAN),
        ("I flag missing", P.vxlan(validInner, header: P.vxlanHeader(vni: 1, flags: 0)), \CounterSnapshot.vxlanNotVXLAN),
        ("unknown flag bits", P.vxlan(validInner, header: P.vxlanHeader(vni: 1, flags: 0x0c)), \CounterSnapshot.vxlanNotVXLAN),
        ("reserved byte set", P.vxlan(validInner, header: P.vxlanHeader(vni: 1, lastByte: 1)), \CounterSnapshot.vxlanNotVXLAN),
        ("other UDP on 8472 (text)", P.vxlan([], header: Array("GET /metrics HTTP/1.1\r\n\r\n".utf8)), \CounterSnapshot.vxlanNotVXLAN),
        ("inner Ethernet cut short", P.vxlan(Array(validInner.prefix(10))), \CounterSnapshot.vxlanInnerSkipped),
        ("inner VLAN tag cut short", P.vxlan(Array(P.ipv4TCP(vlan: 7).prefix(16))), \CounterSnapshot.vxlanInnerSkipped),
        ("inner IPv4 cut short", P.vxlan(Array(validInner.prefix(14 + 12))), \CounterSnapshot.vxlanInnerSkipped),
        ("inner TCP cut short", P.vxlan(Array(validInner.prefix(14 + 20 + 8))), \CounterSnapshot.vxlanInnerSkipped),
        ("inner IPv6 cut short", P.vxlan(Array(P.ipv6TCP().prefix(14 + 30))), \CounterSnapshot.vxlanInnerSkipped),
        ("inner ARP", P.vxlan(P.ethernet(type: 0x0806) + [UInt8](repeating: 0, count: 28)), \CounterSnapshot.vxlanInnerSkipped),
        ("inner IPv4 with a bad IHL", P.vxlan(P.ethernet(type: 0x0800) + P.ipv4(src: P.a4, dst: P.b4, proto: 6, payloadLength: 20, ihlWords: 3) + P.tcp(sport: 1, dport: 2, seq: 0, ack: 0, flags: 2)),
         \CounterSnapshot.vxlanInnerSkipped),
        ("inner IP longer than the UDP datagram says", P.vxlan(validInner, udpLength: innerLength - 20), \CounterSnapshot.vxlanInnerSkipped),
        ("UDP length too short for any inner frame", P.vxlan(validInner, udpLength: 8 + 8 + 10), \CounterSnapshot.vxlanInnerSkipped),
    ] as [(String, [UInt8], any KeyPath<CounterSnapshot, UInt64> & Sendable)])
    func malformed(name: String, packet: [UInt8], bucket: any KeyPath<CounterSnapshot, UInt64> & Sendable) throws {
        for fingerprint in [false, true] {
            let (c, records, flows) = try ProgramTestRunTests.run(packet, fingerprint: fingerprint)
            #expect(c[keyPath: bucket] == 2, "\(name): \(c)")
            #expect(c.vxlan == 0 && c.vxlanNotVXLAN + c.vxlanInnerSkipped == 2, "\(name): \(c)")
            #expect(c.flowsCreated == 2 && flows == 2, "\(name): \(c)")
            try #require(records.count == 2, "\(name)")
            for r in records {
                #expect(r.tuple.description == Self.outer8472, "\(name): the outer UDP packet, nothing from inside")
                #expect(r.encapsulation == nil, "\(name)")
            }
        }
    }

    @Test("VXLAN to any other port is plain UDP")
    func otherPort() throws {
        let (c, records, _) = try ProgramTestRunTests.run(P.vxlan(P.ipv4TCP(), port: 4790))
        #expect(c.vxlan + c.vxlanNotVXLAN + c.vxlanInnerSkipped == 0, "\(c)")
        try #require(records.count == 2)
        #expect(records.allSatisfy { $0.tuple.description == "192.168.10.12:51000 → 192.168.10.11:4790 udp" && $0.encapsulation == nil })
    }

    @Test("an outer UDP header cut short is truncated: no flow, no look inside")
    func truncatedOuter() throws {
        let packet = Array(P.vxlan(P.ipv4TCP()).prefix(14 + 20 + 6))
        let (c, records, flows) = try ProgramTestRunTests.run(packet)
        #expect(c.truncated == 2 && c.vxlan + c.vxlanNotVXLAN + c.vxlanInnerSkipped == 0, "\(c)")
        #expect(flows == 0 && records.isEmpty)
    }

    @Test("the inner flow and a plain flow with the same tuple are separate flows on one interface")
    func separateFromPlain() throws {
        let obj = try ProgramTestRunTests.load()
        var records: [Observation] = []
        let reader = try RingBufferReader(object: obj) { records.append($0) }
        _ = try obj.testRun(hook: .ingress, packet: P.ipv4TCP())
        _ = try obj.testRun(hook: .ingress, packet: P.vxlan(P.ipv4TCP()))
        _ = try obj.testRun(hook: .ingress, packet: P.vxlan(P.ipv4TCP(flags: 0x10)))
        _ = try obj.testRun(hook: .ingress, packet: P.ipv4TCP(flags: 0x10))
        reader.drain()
        #expect(obj.flowCount() == 2)
        #expect(records.map { $0.encapsulation != nil } == [false, true])
        let expired = try obj.sweepFlows(idleNs: 0, now: KernelClock.nowNs() + 1)
        let vx = try #require(expired.first { $0.encapsulation != nil })
        #expect(vx.packets == 2 && vx.encapsulation?.kind == .vxlan)
    }
}
