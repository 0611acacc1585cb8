/// Why a flow record field could not be decoded (raised inside `FlowRecord.init(from:)`).
public struct FlowRecordFieldError: Error, CustomStringConvertible {
    public var field: String
    public var problem: String
    public var description: String { "\(field): \(problem)" }
}

extension FlowRecord: Decodable {
    /// Decodes a v1 record. Every contract field must be present (nullable ones may be `null`).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func bad(_ k: CodingKeys, _ why: String) -> FlowRecordFieldError { FlowRecordFieldError(field: k.rawValue, problem: why) }
        func ip(_ k: CodingKeys) throws -> IPAddress {
            let s = try c.decode(String.self, forKey: k)
            guard let a = IPAddress(s) else { throw bad(k, "not an IP address: \"\(s)\"") }
            return a
        }
        func optIP(_ k: CodingKeys) throws -> IPAddress? {
            guard let s = try c.decode(String?.self, forKey: k) else { return nil }
            guard let a = IPAddress(s) else { throw bad(k, "not an IP address: \"\(s)\"") }
            return a
        }
        func time(_ k: CodingKeys) throws -> Int64 {
            let s = try c.decode(String.self, forKey: k)
            guard let t = RFC3339.parse(s) else { throw bad(k, "not an RFC 3339 timestamp: \"\(s)\"") }
            return t
        }
        func hook(_ k: CodingKeys) throws -> Hook? {
            guard let s = try c.decode(String?.self, forKey: k) else { return nil }
            switch s {
            case "ingress": return .ingress
            case "egress": return .egress
            default: throw bad(k, "expected \"ingress\" or \"egress\", got \"\(s)\"")
            }
        }
        version = try c.decode(Int.self, forKey: .version)
        guard version == FlowRecord.currentVersion else {
            throw bad(.version, "unsupported record version \(version); this srcip reads version \(FlowRecord.currentVersion)")
        }
        node = try c.decode(String.self, forKey: .node)
        startNs = try time(.start)
        endNs = try time(.end)
        let protoName = try c.decode(String.self, forKey: .protocol)
        let family = try c.decode(String.self, forKey: .family)
        guard family == "ipv4" || family == "ipv6" else { throw bad(.family, "expected \"ipv4\" or \"ipv6\", got \"\(family)\"") }
        guard var proto = L4Protocol(name: protoName) else { throw bad(.protocol, "unknown protocol \"\(protoName)\"") }
        if proto == .icmp && family == "ipv6" { proto = .icmpv6 }
        let src = try ip(.srcIP), dst = try ip(.dstIP)
        guard src.isIPv4 == (family == "ipv4"), dst.isIPv4 == src.isIPv4 else { throw bad(.family, "does not match src_ip/dst_ip") }
        original = FiveTuple(src: src, dst: dst, srcPort: try c.decode(UInt16.self, forKey: .srcPort),
                             dstPort: try c.decode(UInt16.self, forKey: .dstPort), proto: proto)
        let xs = try optIP(.xlatSrcIP), xd = try optIP(.xlatDstIP)
        let xsp = try c.decode(UInt16?.self, forKey: .xlatSrcPort), xdp = try c.decode(UInt16?.self, forKey: .xlatDstPort)
        if let xs, let xd, let xsp, let xdp {
            translated = FiveTuple(src: xs, dst: xd, srcPort: xsp, dstPort: xdp, proto: proto)
        } else if xs == nil, xd == nil, xsp == nil, xdp == nil {
            translated = nil
        } else {
            throw bad(.xlatSrcIP, "xlat_src_ip, xlat_src_port, xlat_dst_ip and xlat_dst_port must be all set or all null")
        }
        snat = try c.decode(Bool.self, forKey: .snat)
        dnat = try c.decode(Bool.self, forKey: .dnat)
        snatInterface = try c.decode(String?.self, forKey: .snatInterface)
        snatHook = try hook(.snatHook)
        inInterface = try c.decode(String?.self, forKey: .inInterface)
        outInterface = try c.decode(String?.self, forKey: .outInterface)
        service = try c.decode(ServiceRef?.self, forKey: .service)
        clientKind = try c.decode(ClientKind.self, forKey: .clientKind)
        hairpin = try c.decode(Bool.self, forKey: .hairpin)
        verdict = try c.decode(Verdict.self, forKey: .verdict)
        expected = try c.decode(Verdict?.self, forKey: .expected)
        expectationMet = try c.decode(Bool?.self, forKey: .expectationMet)
        packets = try c.decode(UInt64.self, forKey: .packets)
        bytes = try c.decode(UInt64.self, forKey: .bytes)
        replyPackets = try c.decode(UInt64.self, forKey: .replyPackets)
        replyBytes = try c.decode(UInt64.self, forKey: .replyBytes)
        let j = try c.decode(String.self, forKey: .join)
        switch j {
        case "conntrack": join = .conntrack
        case "fingerprint": join = .fingerprint
        default: throw bad(.join, "expected \"conntrack\" or \"fingerprint\", got \"\(j)\"")
        }
        dnatInterface = try c.decodeIfPresent(String.self, forKey: .dnatInterface)
        dnatHook = c.contains(.dnatHook) ? try hook(.dnatHook) : nil
        expectedRow = try c.decodeIfPresent(Int.self, forKey: .expectedRow)
        endpointNode = try c.decodeIfPresent(String.self, forKey: .endpointNode)
        reason = try c.decodeIfPresent(String.self, forKey: .reason)
    }
}

extension FlowRecord {
    /// The record as one line of JSON (no trailing newline), keys in contract order.
    public func jsonLine() -> String {
        var w = JSONObjectWriter()
        w.int("version", version)
        w.string("node", node)
        w.string("start", RFC3339.format(unixNs: startNs))
        w.string("end", RFC3339.format(unixNs: endNs))
        w.string("protocol", protocolName)
        w.string("family", familyName)
        w.string("src_ip", original.src.description)
        w.int("src_port", Int(original.srcPort))
        w.string("dst_ip", original.dst.description)
        w.int("dst_port", Int(original.dstPort))
        w.string("xlat_src_ip", translated?.src.description)
        w.int("xlat_src_port", translated.map { Int($0.srcPort) })
        w.string("xlat_dst_ip", translated?.dst.description)
        w.int("xlat_dst_port", translated.map { Int($0.dstPort) })
        w.bool("snat", snat)
        w.bool("dnat", dnat)
        w.string("snat_interface", snatInterface)
        w.string("snat_hook", snatHook?.description)
        w.string("in_interface", inInterface)
        w.string("out_interface", outInterface)
        if let s = service {
            var o = JSONObjectWriter()
            o.string("namespace", s.namespace)
            o.string("name", s.name)
            o.string("port_name", s.portName)
            o.int("port", Int(s.port))
            o.string("type", s.type.rawValue)
            o.string("frontend", s.frontend.rawValue)
            o.string("external_traffic_policy", s.externalTrafficPolicy.rawValue)
            o.string("internal_traffic_policy", s.internalTrafficPolicy.rawValue)
            o.string("resolved_from", s.resolvedFrom.rawValue)
            w.raw("service", o.finish())
        } else {
            w.raw("service", "null")
        }
        w.string("client_kind", clientKind.rawValue)
        w.bool("hairpin", hairpin)
        w.string("verdict", verdict.rawValue)
        w.string("expected", expected?.rawValue)
        w.bool("expectation_met", expectationMet)
        w.uint("packets", packets)
        w.uint("bytes", bytes)
        w.uint("reply_packets", replyPackets)
        w.uint("reply_bytes", replyBytes)
        w.string("join", join.description)
        w.string("dnat_interface", dnatInterface)
        w.string("dnat_hook", dnatHook?.description)
        w.int("expected_row", expectedRow)
        w.string("endpoint_node", endpointNode)
        w.string("reason", reason)
        return w.finish()
    }
}

/// Builds one JSON object by appending members in order.
public struct JSONObjectWriter {
    private var out = "{"
    private var first = true

    private mutating func key(_ k: String) {
        if !first { out += "," }
        first = false
        out += "\""
        out += k
        out += "\":"
    }

    mutating func raw(_ k: String, _ v: String) { key(k); out += v }
    mutating func string(_ k: String, _ v: String?) {
        key(k)
        if let v { JSONObjectWriter.appendQuoted(v, to: &out) } else { out += "null" }
    }
    mutating func int(_ k: String, _ v: Int?) { key(k); out += v.map { String($0) } ?? "null" }
    mutating func uint(_ k: String, _ v: UInt64) { key(k); out += String(v) }
    mutating func bool(_ k: String, _ v: Bool?) { key(k); out += v.map { $0 ? "true" : "false" } ?? "null" }
    mutating func finish() -> String { out += "}"; return out }

    /// `s` as a JSON string literal (RFC 8259 escaping).
    public static func quoted(_ s: String) -> String {
        var out = ""
        appendQuoted(s, to: &out)
        return out
    }

    /// Appends `s` as a JSON string literal (RFC 8259 escaping).
    static func appendQuoted(_ s: String, to out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }
}
