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
        line += "  pkts=\(o.packets) bytes=\(o.bytes)"
        return line
    }

    /// One JSON object per observation (raw record stream).
    public static func json(_ o: Observation, node: String, interface: String, unixNs: UInt64) -> String {
        var w = JSONObjectWriter()
        w.add("time", RFC3339.format(unixNs: unixNs))
        w.add("node", node)
        w.add("interface", interface)
        w.add("ifindex", Int(o.ifindex))
        w.add("hook", o.hook.description)
        w.add("event", o.kind.description)
        addTuple(&w, prefix: "", o.tuple)
        w.add("protocol", o.tuple.proto.description)
        w.add("packets", Int(o.packets))
        w.add("bytes", Int(o.bytes))
        w.add("tcp_flags", Int(o.tcpFlags))
        w.add("join", o.join.description)
        if let ct = o.conntrack {
            w.add("ct_id", String(ct.id, radix: 16))
            addTuple(&w, prefix: "ct_orig_", ct.original)
            addTuple(&w, prefix: "ct_reply_", ct.reply)
            w.add("snat", ct.snat)
            w.add("dnat", ct.dnat)
            if let r = ct.packetIsReply { w.add("ct_dir", r ? "reply" : "original") }
        }
        w.add("fp_ip_id", Int(o.fingerprint.ipID))
        w.add("fp_tcp_seq", Int(o.fingerprint.tcpSeq))
        w.add("fp_tcp_ack", Int(o.fingerprint.tcpAck))
        w.add("fp_tcp_tsval", Int(o.fingerprint.tcpTSval))
        w.add("fp_length", Int(o.fingerprint.length))
        return w.finish()
    }

    private static func addTuple(_ w: inout JSONObjectWriter, prefix: String, _ t: FiveTuple) {
        w.add(prefix + "src_ip", t.src.description)
        w.add(prefix + "src_port", Int(t.srcPort))
        w.add(prefix + "dst_ip", t.dst.description)
        w.add(prefix + "dst_port", Int(t.dstPort))
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

func two(_ v: UInt64) -> String { zeroPad(v, 2) }

func zeroPad(_ v: UInt64, _ width: Int) -> String {
    let s = String(v)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}

/// RFC 3339 timestamps in UTC with microseconds, without Foundation.
public enum RFC3339 {
    /// `2026-11-25T23:45:01.123456Z`.
    public static func format(unixNs: UInt64) -> String {
        let secs = Int64(unixNs / 1_000_000_000)
        let micros = unixNs / 1_000 % 1_000_000
        let days = secs / 86_400
        let rem = UInt64(secs % 86_400)
        let (y, m, d) = civil(fromDays: days)
        return "\(zeroPad(UInt64(y), 4))-\(two(UInt64(m)))-\(two(UInt64(d)))T\(two(rem / 3600)):\(two(rem / 60 % 60)):\(two(rem % 60)).\(zeroPad(micros, 6))Z"
    }

    /// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}

/// Builds one JSON object as text, keys in insertion order.
public struct JSONObjectWriter {
    private var out = "{"
    private var first = true

    public init() {}

    public mutating func add(_ key: String, _ value: String?) {
        guard let value else { return addRaw(key, "null") }
        addRaw(key, JSONObjectWriter.quote(value))
    }

    public mutating func add(_ key: String, _ value: Int?) { addRaw(key, value.map { String($0) } ?? "null") }

    public mutating func add(_ key: String, _ value: Bool?) { addRaw(key, value.map { $0 ? "true" : "false" } ?? "null") }

    /// Adds an already-encoded JSON value (object, array, number).
    public mutating func addRaw(_ key: String, _ json: String) {
        if !first { out += "," }
        first = false
        out += JSONObjectWriter.quote(key)
        out += ":"
        out += json
    }

    public func finish() -> String { out + "}" }

    /// A JSON string literal (RFC 8259 escaping).
    public static func quote(_ s: String) -> String {
        var r = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": r += "\\\""
            case "\\": r += "\\\\"
            case "\n": r += "\\n"
            case "\r": r += "\\r"
            case "\t": r += "\\t"
            case _ where u.value < 0x20:
                let h = String(u.value, radix: 16)
                r += "\\u" + String(repeating: "0", count: 4 - h.count) + h
            default: r.unicodeScalars.append(u)
            }
        }
        return r + "\""
    }
}
