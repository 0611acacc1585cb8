import SrcipCore
import SrcipJSON

/// The v1 JSON field names in output order (CSV header order; `service` flattened there). A contract
/// (docs/flow-record-v1.md): fields may be added, never renamed.
public enum FlowRecordField: String, CaseIterable, Sendable {
    case version, node, start, end, `protocol`, family
    case srcIP = "src_ip", srcPort = "src_port", dstIP = "dst_ip", dstPort = "dst_port"
    case xlatSrcIP = "xlat_src_ip", xlatSrcPort = "xlat_src_port", xlatDstIP = "xlat_dst_ip", xlatDstPort = "xlat_dst_port"
    case snat, dnat
    case snatInterface = "snat_interface", snatHook = "snat_hook"
    case inInterface = "in_interface", outInterface = "out_interface"
    case service
    case clientKind = "client_kind"
    case hairpin, verdict, expected
    case expectationMet = "expectation_met"
    case packets, bytes
    case replyPackets = "reply_packets", replyBytes = "reply_bytes"
    case join
    case dnatInterface = "dnat_interface", dnatHook = "dnat_hook"
    case expectedRow = "expected_row", endpointNode = "endpoint_node", reason
    case final, endReason = "end_reason", tcpFlags = "tcp_flags"
    case snatAddressInterface = "snat_address_interface"
    case encap, encapVNI = "encap_vni"
    case encapSrcIP = "encap_src_ip", encapSrcPort = "encap_src_port", encapDstIP = "encap_dst_ip", encapDstPort = "encap_dst_port"

    /// Every field name in contract order.
    public static let names: [String] = allCases.map(\.rawValue)
}

/// A v1 flow record read from JSON (the model itself, `FlowRecord`, knows no wire format).
enum FlowRecordJSON {
    /// Decodes a v1 record from a parsed line. Every contract field must be present (nullable ones may be `null`);
    /// fields are checked in contract order, so the first bad one is reported.
    static func decode(_ value: JSONValue) throws(JSONShapeError) -> FlowRecord {
        let c = try JSONObjectReader(value)
        func ip(_ k: String) throws(JSONShapeError) -> IPAddress {
            let s = try c.string(k)
            guard let a = IPAddress(s) else { throw c.invalid(k, "not an IP address: \"\(s)\"") }
            return a
        }
        func optIP(_ k: String) throws(JSONShapeError) -> IPAddress? {
            guard let s = try c.nullableString(k) else { return nil }
            guard let a = IPAddress(s) else { throw c.invalid(k, "not an IP address: \"\(s)\"") }
            return a
        }
        func time(_ k: String) throws(JSONShapeError) -> Int64 {
            let s = try c.string(k)
            guard let t = RFC3339.parse(s) else { throw c.invalid(k, "not an RFC 3339 timestamp: \"\(s)\"") }
            return t
        }
        func hook(_ k: String) throws(JSONShapeError) -> Hook? {
            guard let s = try c.nullableString(k) else { return nil }
            switch s {
            case "ingress": return .ingress
            case "egress": return .egress
            default: throw c.invalid(k, "expected \"ingress\" or \"egress\", got \"\(s)\"")
            }
        }
        let unset = FiveTuple(src: .v4(0), dst: .v4(0), srcPort: 0, dstPort: 0, proto: .tcp)
        var r = FlowRecord(node: "", startNs: 0, endNs: 0, original: unset, translated: nil, snat: false, dnat: false,
                           clientKind: .external, verdict: .unknown, join: .conntrack)
        r.version = try c.integer("version")
        guard r.version == FlowRecord.currentVersion else {
            throw c.invalid("version", "unsupported record version \(r.version); this srcip reads version \(FlowRecord.currentVersion)")
        }
        r.node = try c.string("node")
        r.startNs = try time("start")
        r.endNs = try time("end")
        let protoName = try c.string("protocol")
        let family = try c.string("family")
        guard family == "ipv4" || family == "ipv6" else { throw c.invalid("family", "expected \"ipv4\" or \"ipv6\", got \"\(family)\"") }
        guard var proto = L4Protocol(name: protoName) else { throw c.invalid("protocol", "unknown protocol \"\(protoName)\"") }
        if proto == .icmp && family == "ipv6" { proto = .icmpv6 }
        let src = try ip("src_ip"), dst = try ip("dst_ip")
        guard src.isIPv4 == (family == "ipv4"), dst.isIPv4 == src.isIPv4 else { throw c.invalid("family", "does not match src_ip/dst_ip") }
        r.original = FiveTuple(src: src, dst: dst, srcPort: try c.integer("src_port"), dstPort: try c.integer("dst_port"), proto: proto)
        let xs = try optIP("xlat_src_ip"), xd = try optIP("xlat_dst_ip")
        let xsp: UInt16? = try c.nullableInteger("xlat_src_port"), xdp: UInt16? = try c.nullableInteger("xlat_dst_port")
        if let xs, let xd, let xsp, let xdp {
            r.translated = FiveTuple(src: xs, dst: xd, srcPort: xsp, dstPort: xdp, proto: proto)
        } else if xs == nil, xd == nil, xsp == nil, xdp == nil {
            r.translated = nil
        } else {
            throw c.invalid("xlat_src_ip", "xlat_src_ip, xlat_src_port, xlat_dst_ip and xlat_dst_port must be all set or all null")
        }
        r.snat = try c.bool("snat")
        r.dnat = try c.bool("dnat")
        r.snatInterface = try c.nullableString("snat_interface")
        r.snatHook = try hook("snat_hook")
        r.inInterface = try c.nullableString("in_interface")
        r.outInterface = try c.nullableString("out_interface")
        r.service = try service(c.nullableObject("service"))
        r.clientKind = try c.enum("client_kind")
        r.hairpin = try c.bool("hairpin")
        r.verdict = try c.enum("verdict")
        r.expected = try c.nullableEnum("expected")
        r.expectationMet = try c.nullableBool("expectation_met")
        r.packets = try c.integer("packets")
        r.bytes = try c.integer("bytes")
        r.replyPackets = try c.integer("reply_packets")
        r.replyBytes = try c.integer("reply_bytes")
        let j = try c.string("join")
        switch j {
        case "conntrack": r.join = .conntrack
        case "fingerprint": r.join = .fingerprint
        default: throw c.invalid("join", "expected \"conntrack\" or \"fingerprint\", got \"\(j)\"")
        }
        // Added after v1 shipped: may be absent.
        r.dnatInterface = c.contains("dnat_interface") ? try c.nullableString("dnat_interface") : nil
        r.dnatHook = c.contains("dnat_hook") ? try hook("dnat_hook") : nil
        r.expectedRow = c.contains("expected_row") ? try c.nullableInteger("expected_row") : nil
        r.endpointNode = c.contains("endpoint_node") ? try c.nullableString("endpoint_node") : nil
        r.reason = c.contains("reason") ? try c.nullableString("reason") : nil
        r.final = c.contains("final") ? try c.bool("final") : true
        r.endReason = c.contains("end_reason") ? try c.nullableEnum("end_reason") : nil
        r.tcpFlags = c.contains("tcp_flags") ? try c.integer("tcp_flags") : 0
        r.snatAddressInterface = c.contains("snat_address_interface") ? try c.nullableString("snat_address_interface") : nil
        r.encapsulation = try encapsulation(c, proto: proto)
        return r
    }

    /// The `encap*` members (absent or null: not encapsulated). The outer tuple is all set or all null.
    private static func encapsulation(_ c: JSONObjectReader, proto: L4Protocol) throws(JSONShapeError) -> Encapsulation? {
        guard c.contains("encap"), let kind = try c.nullableString("encap") else { return nil }
        guard kind == "vxlan" else { throw c.invalid("encap", "expected \"vxlan\" or null, got \"\(kind)\"") }
        var vni: UInt32 = 0
        if c.contains("encap_vni"), let v: UInt32 = try c.nullableInteger("encap_vni") {
            guard v < 1 << 24 else { throw c.invalid("encap_vni", "a VNI has 24 bits, got \(v)") }
            vni = v
        }
        func optIP(_ k: String) throws(JSONShapeError) -> IPAddress? {
            guard c.contains(k), let s = try c.nullableString(k) else { return nil }
            guard let a = IPAddress(s) else { throw c.invalid(k, "not an IP address: \"\(s)\"") }
            return a
        }
        func optPort(_ k: String) throws(JSONShapeError) -> UInt16? { c.contains(k) ? try c.nullableInteger(k) : nil }
        let src = try optIP("encap_src_ip"), dst = try optIP("encap_dst_ip")
        let sp = try optPort("encap_src_port"), dp = try optPort("encap_dst_port")
        var outer: FiveTuple?
        if let src, let dst, let sp, let dp {
            guard src.isIPv4 == dst.isIPv4 else { throw c.invalid("encap_dst_ip", "encap_src_ip and encap_dst_ip differ in family") }
            outer = FiveTuple(src: src, dst: dst, srcPort: sp, dstPort: dp, proto: .udp)
        } else if src != nil || dst != nil || sp != nil || dp != nil {
            throw c.invalid("encap_src_ip", "encap_src_ip, encap_src_port, encap_dst_ip and encap_dst_port must be all set or all null")
        }
        return Encapsulation(kind: .vxlan, vni: vni, outer: outer)
    }

    /// The `service` member: an object or `null`.
    private static func service(_ s: JSONObjectReader?) throws(JSONShapeError) -> ServiceRef? {
        guard let s else { return nil }
        return ServiceRef(namespace: try s.string("namespace"), name: try s.string("name"), portName: try s.nullableString("port_name"),
                          port: try s.integer("port"), type: try s.enum("type"), frontend: try s.enum("frontend"),
                          externalTrafficPolicy: try s.enum("external_traffic_policy"),
                          internalTrafficPolicy: try s.enum("internal_traffic_policy"), resolvedFrom: try s.enum("resolved_from"))
    }
}

extension FlowRecord {
    /// The record as one line of JSON (no trailing newline), keys in contract order.
    public func jsonLine() -> String {
        var w = JSONObjectWriter(reservingCapacity: 2048)
        w.string("kind", "flow")
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
        w.bool("final", final)
        w.string("end_reason", endReason?.rawValue)
        w.int("tcp_flags", Int(tcpFlags))
        w.string("snat_address_interface", snatAddressInterface)
        w.string("encap", encapsulation?.kind.description)
        w.int("encap_vni", encapsulation.map { Int($0.vni) })
        let outer = encapsulation?.outer
        w.string("encap_src_ip", outer?.src.description)
        w.int("encap_src_port", outer.map { Int($0.srcPort) })
        w.string("encap_dst_ip", outer?.dst.description)
        w.int("encap_dst_port", outer.map { Int($0.dstPort) })
        return w.finish()
    }
}
