import SrcipCore

/// The v1 JSON field names in output order (CSV header order; `service` flattened there). A contract
/// (docs/flow-record-v1.md): fields may be added, never renamed.
public enum FlowRecordField: String, CodingKey, CaseIterable, Sendable {
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

    /// Every field name in contract order.
    public static let names: [String] = allCases.map(\.rawValue)
}

/// The members of the `service` object of a v1 record.
enum ServiceRefField: String, CodingKey, CaseIterable {
    case namespace, name, port, type, frontend
    case portName = "port_name"
    case externalTrafficPolicy = "external_traffic_policy"
    case internalTrafficPolicy = "internal_traffic_policy"
    case resolvedFrom = "resolved_from"
}

/// Why a flow record field could not be decoded (raised while decoding a `FlowRecordJSON`).
public struct FlowRecordFieldError: Error, CustomStringConvertible {
    public var field: String
    public var problem: String
    public var description: String { "\(field): \(problem)" }
}

/// A v1 flow record read from JSON (the model itself, `FlowRecord`, knows no wire format).
struct FlowRecordJSON: Decodable {
    var record: FlowRecord

    /// Decodes a v1 record. Every contract field must be present (nullable ones may be `null`).
    init(from decoder: any Decoder) throws {
        typealias CodingKeys = FlowRecordField
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
        let unset = FiveTuple(src: .v4(0), dst: .v4(0), srcPort: 0, dstPort: 0, proto: .tcp)
        var r = FlowRecord(node: "", startNs: 0, endNs: 0, original: unset, translated: nil, snat: false, dnat: false,
                           clientKind: .external, verdict: .unknown, join: .conntrack)
        r.version = try c.decode(Int.self, forKey: .version)
        guard r.version == FlowRecord.currentVersion else {
            throw bad(.version, "unsupported record version \(r.version); this srcip reads version \(FlowRecord.currentVersion)")
        }
        r.node = try c.decode(String.self, forKey: .node)
        r.startNs = try time(.start)
        r.endNs = try time(.end)
        let protoName = try c.decode(String.self, forKey: .protocol)
        let family = try c.decode(String.self, forKey: .family)
        guard family == "ipv4" || family == "ipv6" else { throw bad(.family, "expected \"ipv4\" or \"ipv6\", got \"\(family)\"") }
        guard var proto = L4Protocol(name: protoName) else { throw bad(.protocol, "unknown protocol \"\(protoName)\"") }
        if proto == .icmp && family == "ipv6" { proto = .icmpv6 }
        let src = try ip(.srcIP), dst = try ip(.dstIP)
        guard src.isIPv4 == (family == "ipv4"), dst.isIPv4 == src.isIPv4 else { throw bad(.family, "does not match src_ip/dst_ip") }
        r.original = FiveTuple(src: src, dst: dst, srcPort: try c.decode(UInt16.self, forKey: .srcPort),
                               dstPort: try c.decode(UInt16.self, forKey: .dstPort), proto: proto)
        let xs = try optIP(.xlatSrcIP), xd = try optIP(.xlatDstIP)
        let xsp = try c.decode(UInt16?.self, forKey: .xlatSrcPort), xdp = try c.decode(UInt16?.self, forKey: .xlatDstPort)
        if let xs, let xd, let xsp, let xdp {
            r.translated = FiveTuple(src: xs, dst: xd, srcPort: xsp, dstPort: xdp, proto: proto)
        } else if xs == nil, xd == nil, xsp == nil, xdp == nil {
            r.translated = nil
        } else {
            throw bad(.xlatSrcIP, "xlat_src_ip, xlat_src_port, xlat_dst_ip and xlat_dst_port must be all set or all null")
        }
        r.snat = try c.decode(Bool.self, forKey: .snat)
        r.dnat = try c.decode(Bool.self, forKey: .dnat)
        r.snatInterface = try c.decode(String?.self, forKey: .snatInterface)
        r.snatHook = try hook(.snatHook)
        r.inInterface = try c.decode(String?.self, forKey: .inInterface)
        r.outInterface = try c.decode(String?.self, forKey: .outInterface)
        r.service = try Self.service(c)
        r.clientKind = try c.decode(ClientKind.self, forKey: .clientKind)
        r.hairpin = try c.decode(Bool.self, forKey: .hairpin)
        r.verdict = try c.decode(Verdict.self, forKey: .verdict)
        r.expected = try c.decode(Verdict?.self, forKey: .expected)
        r.expectationMet = try c.decode(Bool?.self, forKey: .expectationMet)
        r.packets = try c.decode(UInt64.self, forKey: .packets)
        r.bytes = try c.decode(UInt64.self, forKey: .bytes)
        r.replyPackets = try c.decode(UInt64.self, forKey: .replyPackets)
        r.replyBytes = try c.decode(UInt64.self, forKey: .replyBytes)
        let j = try c.decode(String.self, forKey: .join)
        switch j {
        case "conntrack": r.join = .conntrack
        case "fingerprint": r.join = .fingerprint
        default: throw bad(.join, "expected \"conntrack\" or \"fingerprint\", got \"\(j)\"")
        }
        r.dnatInterface = try c.decodeIfPresent(String.self, forKey: .dnatInterface)
        r.dnatHook = c.contains(.dnatHook) ? try hook(.dnatHook) : nil
        r.expectedRow = try c.decodeIfPresent(Int.self, forKey: .expectedRow)
        r.endpointNode = try c.decodeIfPresent(String.self, forKey: .endpointNode)
        r.reason = try c.decodeIfPresent(String.self, forKey: .reason)
        record = r
    }

    /// The `service` member: an object or `null`.
    private static func service(_ c: KeyedDecodingContainer<FlowRecordField>) throws -> ServiceRef? {
        if try c.decodeNil(forKey: .service) { return nil }
        let s = try c.nestedContainer(keyedBy: ServiceRefField.self, forKey: .service)
        return ServiceRef(namespace: try s.decode(String.self, forKey: .namespace), name: try s.decode(String.self, forKey: .name),
                          portName: try s.decode(String?.self, forKey: .portName), port: try s.decode(UInt16.self, forKey: .port),
                          type: try s.decode(ServiceType.self, forKey: .type), frontend: try s.decode(Frontend.self, forKey: .frontend),
                          externalTrafficPolicy: try s.decode(TrafficPolicy.self, forKey: .externalTrafficPolicy),
                          internalTrafficPolicy: try s.decode(TrafficPolicy.self, forKey: .internalTrafficPolicy),
                          resolvedFrom: try s.decode(ServiceResolution.self, forKey: .resolvedFrom))
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
public struct JSONObjectWriter: Sendable {
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
