/// Builds raw Ethernet frames for BPF_PROG_TEST_RUN.
public enum PacketBuilder {
    public static let srcMAC: [UInt8] = [0x02, 0, 0, 0, 0, 1]
    public static let dstMAC: [UInt8] = [0x02, 0, 0, 0, 0, 2]

    public static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    public static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }

    public static func ethernet(type: UInt16, vlan: UInt16? = nil) -> [UInt8] {
        var b = dstMAC + srcMAC
        if let vlan { b += be16(0x8100) + be16(vlan) }
        return b + be16(type)
    }

    /// IPv4 header; `ihlWords` may be set to a bad value on purpose. Options are zero bytes.
    public static func ipv4(src: [UInt8], dst: [UInt8], proto: UInt8, payloadLength: Int, id: UInt16 = 0x1234,
                     fragOffset: UInt16 = 0, ihlWords: UInt8 = 5, optionBytes: Int = 0) -> [UInt8] {
        let hdrLen = 20 + optionBytes
        var b: [UInt8] = [0x40 | ihlWords, 0]
        b += be16(UInt16(hdrLen + payloadLength)) + be16(id) + be16(fragOffset) + [64, proto, 0, 0]
        b += src + dst
        b += [UInt8](repeating: 1, count: optionBytes) // NOP options
        return b
    }

    public static func ipv6(src: [UInt8], dst: [UInt8], nextHeader: UInt8, payloadLength: Int) -> [UInt8] {
        [0x60, 0, 0, 0] + be16(UInt16(payloadLength)) + [nextHeader, 64] + src + dst
    }

    /// TCP header with a timestamp option (TSval given).
    public static func tcp(sport: UInt16, dport: UInt16, seq: UInt32, ack: UInt32, flags: UInt8, tsval: UInt32? = nil) -> [UInt8] {
        var opts: [UInt8] = []
        if let tsval { opts = [1, 1, 8, 10] + be32(tsval) + be32(0) }
        let doff = UInt8((20 + opts.count) / 4)
        return be16(sport) + be16(dport) + be32(seq) + be32(ack) + [doff << 4, flags] + be16(65535) + [0, 0, 0, 0] + opts
    }

    public static func udp(sport: UInt16, dport: UInt16, payload: Int) -> [UInt8] {
        be16(sport) + be16(dport) + be16(UInt16(8 + payload)) + [0, 0] + [UInt8](repeating: 0x61, count: payload)
    }

    public static func icmpEcho(id: UInt16, seq: UInt16, v6: Bool = false) -> [UInt8] {
        [v6 ? 128 : 8, 0, 0, 0] + be16(id) + be16(seq) + [UInt8](repeating: 0x70, count: 8)
    }

    public static let a4: [UInt8] = [10, 1, 2, 3]
    public static let b4: [UInt8] = [10, 9, 8, 7]
    public static let a6: [UInt8] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    public static let b6: [UInt8] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]

    public static func ipv4TCP(flags: UInt8 = 0x02, sport: UInt16 = 40000, vlan: UInt16? = nil, tsval: UInt32? = 777) -> [UInt8] {
        let t = tcp(sport: sport, dport: 80, seq: 1000, ack: 0, flags: flags, tsval: tsval)
        return ethernet(type: 0x0800, vlan: vlan) + ipv4(src: a4, dst: b4, proto: 6, payloadLength: t.count) + t
    }

    public static func ipv4UDP() -> [UInt8] {
        let u = udp(sport: 5353, dport: 53, payload: 12)
        return ethernet(type: 0x0800) + ipv4(src: a4, dst: b4, proto: 17, payloadLength: u.count) + u
    }

    public static func ipv4ICMP() -> [UInt8] {
        let i = icmpEcho(id: 4242, seq: 1)
        return ethernet(type: 0x0800) + ipv4(src: a4, dst: b4, proto: 1, payloadLength: i.count) + i
    }

    /// IPv6 TCP behind hop-by-hop, routing, destination-options and a first fragment header; a SYN unless `flags` says
    /// otherwise (an ACK is an established flow's packet: a SYN without a flow entry takes the handshake path).
    public static func ipv6TCPWithExtensions(flags: UInt8 = 0x02) -> [UInt8] {
        let t = tcp(sport: 41000, dport: 443, seq: 5, ack: 0, flags: flags, tsval: 99)
        let hopByHop: [UInt8] = [43, 0, 1, 4, 0, 0, 0, 0]            // next: routing, 8 bytes
        let routing: [UInt8] = [60, 1, 0, 0, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 8) // next: dstopts, 16 bytes
        let dstOpts: [UInt8] = [44, 0, 1, 4, 0, 0, 0, 0]             // next: fragment
        let fragment: [UInt8] = [6, 0, 0, 1, 0, 0, 0, 7]             // offset 0, more fragments, next: TCP
        let ext = hopByHop + routing + dstOpts + fragment
        return ethernet(type: 0x86DD) + ipv6(src: a6, dst: b6, nextHeader: 0, payloadLength: ext.count + t.count) + ext + t
    }

    public static func ipv6NonFirstFragment() -> [UInt8] {
        let fragment: [UInt8] = [6, 0, 0x05, 0xa8, 0, 0, 0, 7]      // offset 181*8
        let body = [UInt8](repeating: 0x55, count: 32)
        return ethernet(type: 0x86DD) + ipv6(src: a6, dst: b6, nextHeader: 44, payloadLength: 8 + body.count) + fragment + body
    }

    public static func ipv6ICMP() -> [UInt8] {
        let i = icmpEcho(id: 77, seq: 1, v6: true)
        return ethernet(type: 0x86DD) + ipv6(src: a6, dst: b6, nextHeader: 58, payloadLength: i.count) + i
    }
}

/// VXLAN frames (RFC 7348) as flannel sends them between nodes: outer Ethernet/IPv4/UDP to port 8472 or 4789.
extension PacketBuilder {
    public static let node2: [UInt8] = [192, 168, 10, 12]
    public static let node1: [UInt8] = [192, 168, 10, 11]

    /// The 8-byte VXLAN header: flags (0x08: VNI valid), VNI, reserved bytes.
    public static func vxlanHeader(vni: UInt32, flags: UInt8 = 0x08, lastByte: UInt8 = 0) -> [UInt8] {
        [flags, 0, 0, 0, UInt8(vni >> 16 & 0xff), UInt8(vni >> 8 & 0xff), UInt8(vni & 0xff), lastByte]
    }

    /// `inner` (a whole Ethernet frame) behind a VXLAN header in UDP 51000 → `port` from node2 to node1.
    /// `udpLength` overrides the UDP length field; the payload is appended as given.
    public static func vxlan(_ inner: [UInt8], vni: UInt32 = 1, port: UInt16 = 8472, header: [UInt8]? = nil,
                             udpLength: UInt16? = nil) -> [UInt8] {
        let payload = (header ?? vxlanHeader(vni: vni)) + inner
        var u = be16(51000) + be16(port) + be16(udpLength ?? UInt16(8 + payload.count)) + [0, 0]
        u += payload
        return ethernet(type: 0x0800) + ipv4(src: node2, dst: node1, proto: 17, payloadLength: u.count) + u
    }

    /// An inner IPv6 TCP SYN fd00::1:41000 → fd00::2:443, no extension headers.
    public static func ipv6TCP() -> [UInt8] {
        let t = tcp(sport: 41000, dport: 443, seq: 5, ack: 0, flags: 0x02, tsval: 99)
        return ethernet(type: 0x86DD) + ipv6(src: a6, dst: b6, nextHeader: 6, payloadLength: t.count) + t
    }
}
