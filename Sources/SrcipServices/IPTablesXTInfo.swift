import Foundation

/// The xtables extensions iptables-nft sends as `match`/`target` expressions (their `xt_*` info structs, host byte
/// order where the kernel struct has it), printed as their `save` functions print them; nil for any other extension,
/// revision or option.
enum IPTablesXTInfo {
    static func match(name: String, revision: UInt32, info: [UInt8]) -> String? {
        guard revision == 0 else { return nil }
        switch name {
        case "comment":
            // struct xt_comment_info { char comment[256]; }
            guard info.count >= 256, let text = saveString(NFTNetlink.cString(info)) else { return nil }
            return "-m comment --comment " + text
        case "statistic":
            // struct xt_statistic_info { __u16 mode, flags; union { struct { __u32 probability; } random; … } u; … }
            // libxt_statistic: mode 0 is random; flags 0 (not inverted) prints " --mode random --probability %.11f"
            // of probability / 2^31.
            guard info.count >= 8, u16(info, 0) == 0, u16(info, 2) == 0 else { return nil }
            return "-m statistic --mode random --probability " + fixed11(Double(u32(info, 4)) / 2_147_483_648)
        case "tcp", "udp":
            // struct xt_tcp { __u16 spts[2], dpts[2]; __u8 option, flg_mask, flg_cmp, invflags; }, struct xt_udp
            // { __u16 spts[2], dpts[2]; __u8 invflags; }: any port, nothing else, prints nothing but `-m NAME`.
            guard info.count >= 12, u16(info, 0) == 0, u16(info, 2) == 0xffff, u16(info, 4) == 0, u16(info, 6) == 0xffff,
                  info[8...].allSatisfy({ $0 == 0 }) else { return nil }
            return "-m " + name
        default:
            return nil
        }
    }

    static func target(name: String, revision: UInt32, info: [UInt8]) -> String? {
        // struct nf_nat_range2 { unsigned int flags; union nf_inet_addr min_addr, max_addr; union
        // nf_conntrack_man_proto min_proto, max_proto, base_proto; }: one address (NF_NAT_RANGE_MAP_IPS), one port
        // (NF_NAT_RANGE_PROTO_SPECIFIED, network order) or none; no ranges, random, persistent or offset.
        guard name == "DNAT", revision == 2, info.count >= 42 else { return nil }
        let flags = u32(info, 0)
        guard flags == 1 || flags == 3, info[4..<20].elementsEqual(info[20..<36]), info[8..<20].allSatisfy({ $0 == 0 }),
              info[40] == 0, info[41] == 0 else { return nil }
        var text = "-j DNAT --to-destination " + info[4..<8].map(String.init).joined(separator: ".")
        if flags == 3 {
            guard info[36] == info[38], info[37] == info[39] else { return nil }
            text += ":\(Int(info[36]) << 8 | Int(info[37]))"
        } else {
            guard info[36..<40].allSatisfy({ $0 == 0 }) else { return nil }
        }
        return text
    }

    /// A string as `xtables_save_string` prints it: bare when it is only `[A-Za-z0-9_-]`, else in double quotes.
    /// Strings it would escape (`"`, `\`, `'`) or with other than printable ASCII are not printed here.
    static func saveString(_ s: String) -> String? {
        let bytes = Array(s.utf8)
        guard !bytes.isEmpty, bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7f && $0 != 0x22 && $0 != 0x5c && $0 != 0x27 }) else { return nil }
        let bare = bytes.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) || $0 == 0x5f || $0 == 0x2d }
        return bare ? s : "\"" + s + "\""
    }

    /// `printf("%.11f", value)`.
    static func fixed11(_ value: Double) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer in
            let n = withVaList([value]) { vsnprintf(buffer.baseAddress!, 64, "%.11f", $0) }
            return String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress!, count: Int(max(0, min(n, 63)))), as: UTF8.self)
        }
    }

    private static func u16(_ b: [UInt8], _ o: Int) -> UInt16 { UInt16(b[o]) | UInt16(b[o + 1]) << 8 }
    private static func u32(_ b: [UInt8], _ o: Int) -> UInt32 {
        UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
    }
}
