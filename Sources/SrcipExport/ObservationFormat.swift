import SrcipCore
import SrcipJSON

/// Renders raw observations (one ring-buffer record each) for `srcip trace --raw`.
public enum ObservationFormat {
    /// One line a person reads at a glance:
    /// `23:45:01.123456 eth0     ingress nat  203.0.113.10:40001 → 192.168.10.11:30080 tcp  ct 203.0.113.10:40001 → 192.168.10.11:30080 ⇒ 192.168.10.11:51234 → 10.244.1.2:8080 [SNAT DNAT]`
    public static func text(_ o: Observation, interface: String, unixNs: UInt64) -> String {
        var line = "\(clock(unixNs)) \(pad(interface, 8)) \(pad(o.hook.description, 7)) \(pad(o.kind.description, 7)) \(o.tuple)"
        if let ct = o.conntrack {
            var marks: [String] = []
            if ct.snat { marks.append("SNAT") }
            if ct.dnat { marks.append("DNAT") }
            let dir = ct.packetIsReply == true ? " reply" : ""
            line += "  ct\(dir) \(endpoints(ct.original)) ⇒ \(endpoints(ct.translated))"
            line += marks.isEmpty ? " [no NAT]" : " [\(marks.joined(separator: " "))]"
        } else if o.join == .fingerprint {
            line += "  fp id=\(o.fingerprint.ipID) seq=\(o.fingerprint.tcpSeq) len=\(o.fingerprint.length)"
        }
        if let e = o.encapsulation {
            line += "  \(e.kind) vni \(e.vni)" + (e.outer.map { " outer \(endpoints($0))" } ?? "")
        }
        line += "  pkts=\(o.packets) bytes=\(o.bytes)"
        return line
    }

    /// One JSON object per observation (raw record stream); a VXLAN-encapsulated one adds `encap`, `encap_vni` and the
    /// outer tuple as `encap_src_ip` … `encap_dst_port`.
    public static func json(_ o: Observation, node: String, interface: String, unixNs: UInt64) -> String {
        var w = JSONObjectWriter()
        w.string("time", RFC3339.format(unixNs: Int64(clamping: unixNs)))
        w.string("node", node)
        w.string("interface", interface)
        w.int("ifindex", Int(o.ifindex))
        w.string("hook", o.hook.description)
        w.string("event", o.kind.description)
        addTuple(&w, prefix: "", o.tuple)
        w.string("protocol", o.tuple.proto.description)
        w.int("packets", Int(o.packets))
        w.int("bytes", Int(o.bytes))
        w.int("tcp_flags", Int(o.tcpFlags))
        w.string("join", o.join.description)
        if let ct = o.conntrack {
            w.string("ct_id", String(ct.id, radix: 16))
            addTuple(&w, prefix: "ct_orig_", ct.original)
            addTuple(&w, prefix: "ct_reply_", ct.reply)
            w.bool("snat", ct.snat)
            w.bool("dnat", ct.dnat)
            if let r = ct.packetIsReply { w.string("ct_dir", r ? "reply" : "original") }
        }
        w.int("fp_ip_id", Int(o.fingerprint.ipID))
        w.int("fp_tcp_seq", Int(o.fingerprint.tcpSeq))
        w.int("fp_tcp_ack", Int(o.fingerprint.tcpAck))
        w.int("fp_tcp_tsval", Int(o.fingerprint.tcpTSval))
        w.int("fp_length", Int(o.fingerprint.length))
        if let e = o.encapsulation {
            w.string("encap", e.kind.description)
            w.int("encap_vni", Int(e.vni))
            if let outer = e.outer { addTuple(&w, prefix: "encap_", outer) }
        }
        return w.finish()
    }

    private static func addTuple(_ w: inout JSONObjectWriter, prefix: String, _ t: FiveTuple) {
        w.string(prefix + "src_ip", t.src.description)
        w.int(prefix + "src_port", Int(t.srcPort))
        w.string(prefix + "dst_ip", t.dst.description)
        w.int(prefix + "dst_port", Int(t.dstPort))
    }

    private static func endpoints(_ t: FiveTuple) -> String {
        t.proto.hasPorts ? "\(Endpoint.format(t.src, t.srcPort)) → \(Endpoint.format(t.dst, t.dstPort))" : "\(t.src) → \(t.dst)"
    }

    /// `HH:MM:SS.uuuuuu` (UTC) of a Unix time in nanoseconds.
    static func clock(_ unixNs: UInt64) -> String {
        let secs = unixNs / 1_000_000_000
        let micros = unixNs / 1_000 % 1_000_000
        let day = secs % 86_400
        return "\(two(day / 3600)):\(two(day / 60 % 60)):\(two(day % 60)).\(zeroPad(micros, 6))"
    }

    private static func pad(_ s: String, _ n: Int) -> String {
        s.count >= n ? s : s + String(repeating: " ", count: n - s.count)
    }
}

private func two(_ v: UInt64) -> String { zeroPad(v, 2) }

private func zeroPad(_ v: UInt64, _ width: Int) -> String {
    let s = String(v)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}
