import SrcipTestbed
import CSrcipABI
import SrcipCore
import Testing
@testable import SrcipKernel

/// BPF_PROG_TEST_RUN on crafted packets: the programs never change a packet, count garbage in the right
/// bucket, and only make flows (and records) for packets they can identify.
@Suite("BPF programs on crafted packets", .privileged)
struct ProgramTestRunTests {
    static func load(fingerprint: Bool = false) throws -> BPFObject {
        var o = LoadOptions()
        o.forceFingerprint = fingerprint
        o.ringBufferBytes = 1 << 18
        o.flowCapacity = 1024
        return try BPFObject(options: o)
    }

    @Test("a load the kernel refuses is an error naming it, and the skeleton is freed once (no crash)")
    func refusedLoad() throws {
        var o = LoadOptions()
        o.flowCapacity = 0 // the kernel refuses a hash map of no entries
        for _ in 0..<3 {
            do {
                _ = try BPFObject(options: o)
                Issue.record("a flow map of 0 entries loaded")
            } catch let KernelError.loadFailed(errno, log) {
                #expect(errno != 0 && log.contains("flows"), "\(errno): \(log)")
            }
        }
        _ = try Self.load() // the process and libbpf are fine afterwards
    }

    /// Runs `packet` through both hooks; checks pass-through and identity; returns counters and records.
    static func run(_ packet: [UInt8], fingerprint: Bool = false) throws -> (CounterSnapshot, [Observation], Int) {
        let obj = try load(fingerprint: fingerprint)
        var records: [Observation] = []
        let reader = try RingBufferReader(object: obj) { records.append($0) }
        for hook in Hook.allCases {
            let r = try obj.testRun(hook: hook, packet: packet)
            #expect(r.retval == -1, "\(hook) must pass the packet through (TC_ACT_UNSPEC/TCX_NEXT)")
            #expect(r.dataOut == packet, "\(hook) must not modify the packet")
        }
        reader.drain()
        #expect(reader.decodeErrors == 0)
        return (try obj.counters(), records, obj.flowCount())
    }

    @Test("garbage is counted in its bucket and creates no flow", arguments: [
        // The kernel's test runner wants a whole IPv4 header after an IPv4 EtherType, so the two
        // shortest cases hide behind a VLAN tag, which it does not look through.
        ("truncated VLAN header", PacketBuilder.ethernet(type: 0x8100) + [0, 42], \CounterSnapshot.truncated),
        ("truncated IPv4", Array(PacketBuilder.ipv4TCP(vlan: 42).prefix(18 + 12)), \CounterSnapshot.truncated),
        ("truncated TCP", Array(PacketBuilder.ipv4TCP(tsval: nil).prefix(14 + 20 + 10)), \CounterSnapshot.truncated),
        ("IPv4 options beyond the packet",
         PacketBuilder.ethernet(type: 0x0800) + PacketBuilder.ipv4(src: PacketBuilder.a4, dst: PacketBuilder.b4, proto: 6, payloadLength: 0, ihlWords: 15),
         \CounterSnapshot.truncated),
        ("bad IHL", PacketBuilder.ethernet(type: 0x0800) + PacketBuilder.ipv4(src: PacketBuilder.a4, dst: PacketBuilder.b4, proto: 6, payloadLength: 20, ihlWords: 4) + PacketBuilder.tcp(sport: 1, dport: 2, seq: 0, ack: 0, flags: 2),
         \CounterSnapshot.badHeader),
        ("IPv4 non-first fragment", PacketBuilder.ethernet(type: 0x0800) + PacketBuilder.ipv4(src: PacketBuilder.a4, dst: PacketBuilder.b4, proto: 6, payloadLength: 24, fragOffset: 0x20b9) + [UInt8](repeating: 0xee, count: 24),
         \CounterSnapshot.fragment),
        ("IPv6 non-first fragment", PacketBuilder.ipv6NonFirstFragment(), \CounterSnapshot.fragment),
        ("unknown protocol (GRE)", PacketBuilder.ethernet(type: 0x0800) + PacketBuilder.ipv4(src: PacketBuilder.a4, dst: PacketBuilder.b4, proto: 47, payloadLength: 8) + [UInt8](repeating: 0, count: 8),
         \CounterSnapshot.unknownProto),
        ("ICMP neither echo nor unreachable (time exceeded)", PacketBuilder.ethernet(type: 0x0800) + PacketBuilder.ipv4(src: PacketBuilder.a4, dst: PacketBuilder.b4, proto: 1, payloadLength: 8) + [11, 0, 0, 0, 0, 0, 0, 0],
         \CounterSnapshot.unknownProto),
        ("ARP", PacketBuilder.ethernet(type: 0x0806) + [UInt8](repeating: 0, count: 28), \CounterSnapshot.notIP),
    ] as [(String, [UInt8], any KeyPath<CounterSnapshot, UInt64> & Sendable)])
    func garbage(name: String, packet: [UInt8], bucket: any KeyPath<CounterSnapshot, UInt64> & Sendable) throws {
        let (c, records, flows) = try Self.run(packet)
        #expect(c.packets == 2, "\(name)")
        #expect(c[keyPath: bucket] == 2, "\(name): \(c)")
        #expect(c.flowsCreated == 0 && flows == 0, "\(name)")
        #expect(c.records == 0 && records.isEmpty, "\(name)")
    }

    @Test("valid packets make one flow and one NEW record per hook", arguments: [
        ("IPv4 TCP", PacketBuilder.ipv4TCP(), "10.1.2.3:40000 → 10.9.8.7:80 tcp"),
        ("IPv4 UDP", PacketBuilder.ipv4UDP(), "10.1.2.3:5353 → 10.9.8.7:53 udp"),
        ("IPv4 ICMP echo", PacketBuilder.ipv4ICMP(), "10.1.2.3 → 10.9.8.7 icmp id 4242"),
        ("VLAN IPv4 TCP", PacketBuilder.ipv4TCP(vlan: 42), "10.1.2.3:40000 → 10.9.8.7:80 tcp"),
        ("IPv6 TCP behind extension headers", PacketBuilder.ipv6TCPWithExtensions(), "[fd00::1]:41000 → [fd00::2]:443 tcp"),
        ("IPv6 ICMP echo", PacketBuilder.ipv6ICMP(), "fd00::1 → fd00::2 icmpv6 id 77"),
    ])
    func valid(name: String, packet: [UInt8], tuple: String) throws {
        for fingerprint in [false, true] {
            let (c, records, flows) = try Self.run(packet, fingerprint: fingerprint)
            // A TCP SYN without an entry is recorded but not inserted (its flow's next packet inserts it).
            let syn = tuple.hasSuffix(" tcp")
            #expect(c.packets == 2 && c.flowsCreated == (syn ? 0 : 2) && flows == (syn ? 0 : 2), "\(name): \(c)")
            #expect(c.handshakesDeferred == (syn ? 2 : 0), "\(name): \(c)")
            #expect(c.truncated + c.badHeader + c.fragment + c.unknownProto + c.notIP == 0, "\(name): \(c)")
            #expect(c.records == 2 && c.ringbufLost == 0)
            try #require(records.count == 2, "\(name)")
            #expect(Set(records.map(\.hook)) == [.ingress, .egress])
            for r in records {
                #expect(r.kind == .new)
                #expect(r.tuple.description == tuple, "\(name)")
                #expect(r.packets == 1 && r.bytes == UInt64(packet.count))
                #expect(r.join == .fingerprint && r.conntrack == nil, "no conntrack entry exists for a test packet")
                #expect(r.ifindex == 1)
            }
        }
    }

    @Test("an ICMP destination unreachable (a REJECT) is a flow: the quoted client port, type << 8 | code")
    func destinationUnreachable() throws {
        // Port unreachable from 10.9.8.7 to 10.1.2.3, quoting the client's TCP SYN 10.1.2.3:40000 → 10.9.8.7:80.
        let quoted = PacketBuilder.ipv4(src: PacketBuilder.a4, dst: PacketBuilder.b4, proto: 6, payloadLength: 20)
            + Array(PacketBuilder.tcp(sport: 40000, dport: 80, seq: 1, ack: 0, flags: 2).prefix(8))
        let packet = PacketBuilder.ethernet(type: 0x0800)
            + PacketBuilder.ipv4(src: PacketBuilder.b4, dst: PacketBuilder.a4, proto: 1, payloadLength: 8 + quoted.count)
            + [3, 3, 0, 0, 0, 0, 0, 0] + quoted
        for fingerprint in [false, true] {
            let (c, records, flows) = try Self.run(packet, fingerprint: fingerprint)
            #expect(c.flowsCreated == 2 && flows == 2 && c.unknownProto == 0, "\(c)")
            try #require(records.count == 2)
            for r in records {
                #expect(r.tuple.proto == .icmp && r.tuple.src.description == "10.9.8.7" && r.tuple.dst.description == "10.1.2.3")
                #expect(r.tuple.srcPort == 40000 && r.tuple.dstPort == 0x0303, "\(r.tuple.srcPort) \(r.tuple.dstPort)")
                #expect(r.conntrack == nil)
            }
        }
    }

    @Test("fingerprint carries IP id, TCP seq/ack, TSval and length")
    func fingerprint() throws {
        let (_, records, _) = try Self.run(PacketBuilder.ipv4TCP(tsval: 0xdead_beef))
        let fp = try #require(records.first?.fingerprint)
        #expect(fp == PacketFingerprint(tcpSeq: 1000, tcpAck: 0, tcpTSval: 0xdead_beef, ipID: 0x1234, length: 20 + 32))
        let (_, v6, _) = try Self.run(PacketBuilder.ipv6TCPWithExtensions())
        #expect(v6.first?.fingerprint.tcpTSval == 99)
        #expect(v6.first?.fingerprint.ipID == 0)
    }

    @Test("TCP FIN ends a flow once; later packets of it are quiet; a new SYN restarts it")
    func tcpEnd() throws {
        let obj = try Self.load()
        var records: [Observation] = []
        let reader = try RingBufferReader(object: obj) { records.append($0) }
        for flags: UInt8 in [0x02, 0x10, 0x11, 0x10, 0x11, 0x02] {
            _ = try obj.testRun(hook: .ingress, packet: PacketBuilder.ipv4TCP(flags: flags))
        }
        reader.drain()
        #expect(records.map(\.kind) == [.new, .end, .new])
        #expect(records[1].packets == 3 && records[1].tcpFlags == 0x13)
        let c = try obj.counters()
        #expect(c.flowsEnded == 1 && c.flowsCreated == 2 && c.records == 3)
    }

    @Test("sweeping expires idle flows with their final counters")
    func sweep() throws {
        let obj = try Self.load()
        _ = try obj.testRun(hook: .egress, packet: PacketBuilder.ipv4UDP())
        _ = try obj.testRun(hook: .egress, packet: PacketBuilder.ipv4UDP())
        _ = try obj.testRun(hook: .ingress, packet: PacketBuilder.ipv4TCP(flags: 0x04)) // RST: ended, swept with its counts
        #expect(obj.flowCount() == 2)
        #expect(try obj.sweepFlows(idleNs: 60_000_000_000).isEmpty, "nothing idle for a minute yet")
        let expired = try obj.sweepFlows(idleNs: 0, now: KernelClock.nowNs() + 1)
        #expect(obj.flowCount() == 0)
        try #require(expired.count == 2)
        let udp = try #require(expired.first { $0.tuple.proto == .udp })
        #expect(udp.kind == .expired && udp.hook == .egress && udp.packets == 2)
        let tcp = try #require(expired.first { $0.tuple.proto == .tcp }, "packets after a FIN/RST must count too")
        #expect(tcp.kind == .expired && tcp.packets == 1 && tcp.tcpFlags & TCPFlags.rst != 0)
    }
}
