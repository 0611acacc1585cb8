/// The transport protocols srcip follows.
public enum L4Protocol: UInt8, Hashable, Sendable, CustomStringConvertible, CaseIterable {
    case icmp = 1
    case tcp = 6
    case udp = 17
    case icmpv6 = 58

    /// Parses `tcp`, `udp`, `icmp`, `icmpv6` (any case).
    public init?(name: some StringProtocol) {
        switch name.lowercased() {
        case "tcp": self = .tcp
        case "udp": self = .udp
        case "icmp": self = .icmp
        case "icmpv6", "ipv6-icmp": self = .icmpv6
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .icmp: return "icmp"
        case .tcp: return "tcp"
        case .udp: return "udp"
        case .icmpv6: return "icmpv6"
        }
    }

    /// Whether ports are meaningful (TCP/UDP); ICMP echo carries an identifier in `srcPort` instead.
    public var hasPorts: Bool { self == .tcp || self == .udp }
}

/// A flow's identity as seen in one packet direction: addresses, ports, protocol.
public struct FiveTuple: Hashable, Sendable, CustomStringConvertible {
    public var src: IPAddress
    public var dst: IPAddress
    public var srcPort: UInt16
    public var dstPort: UInt16
    public var proto: L4Protocol

    public init(src: IPAddress, dst: IPAddress, srcPort: UInt16, dstPort: UInt16, proto: L4Protocol) {
        self.src = src
        self.dst = dst
        self.srcPort = srcPort
        self.dstPort = dstPort
        self.proto = proto
    }

    /// The same flow seen from the other direction. ICMP echo keeps its identifier in `srcPort` both ways.
    public var reversed: FiveTuple {
        proto.hasPorts ? FiveTuple(src: dst, dst: src, srcPort: dstPort, dstPort: srcPort, proto: proto)
                       : FiveTuple(src: dst, dst: src, srcPort: srcPort, dstPort: dstPort, proto: proto)
    }

    /// `10.0.0.1:4000 → 10.96.0.10:80 tcp`; ICMP shows the echo id: `10.0.0.1 → 10.0.0.2 icmp id 7`.
    public var description: String {
        if proto.hasPorts {
            return "\(Endpoint.format(src, srcPort)) → \(Endpoint.format(dst, dstPort)) \(proto)"
        }
        return "\(src) → \(dst) \(proto) id \(srcPort)"
    }
}

/// Formatting of `ip:port`, with brackets for IPv6.
public enum Endpoint {
    public static func format(_ ip: IPAddress, _ port: UInt16) -> String {
        ip.isIPv4 ? "\(ip):\(port)" : "[\(ip)]:\(port)"
    }
}

extension L4Protocol: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        guard let p = L4Protocol(name: s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "unknown protocol: \(s)")
        }
        self = p
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
