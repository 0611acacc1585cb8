import CSrcipABI

/// A tc hook direction.
public enum Hook: UInt8, Hashable, Sendable, CustomStringConvertible, CaseIterable, Codable {
    case ingress = 0
    case egress = 1
    public var description: String { self == .ingress ? "ingress" : "egress" }
}

/// Why the BPF side wrote a record.
public enum ObservationKind: UInt8, Hashable, Sendable, CustomStringConvertible {
    case new = 1
    case nat = 2
    case end = 3
    case expired = 4
    public var description: String {
        switch self {
        case .new: return "new"
        case .nat: return "nat"
        case .end: return "end"
        case .expired: return "expired"
        }
    }
}

/// How ingress and egress views of a flow can be joined.
public enum JoinMethod: UInt8, Hashable, Sendable, CustomStringConvertible {
    case conntrack = 1
    case fingerprint = 2
    public var description: String { self == .conntrack ? "conntrack" : "fingerprint" }
}

/// The kernel's conntrack entry for a flow: original and reply tuples and NAT status.
public struct ConntrackMapping: Hashable, Sendable {
    public var id: UInt64
    public var original: FiveTuple
    public var reply: FiveTuple
    public var status: UInt32
    /// Direction of the observed packet relative to the entry; nil when unknown.
    public var packetIsReply: Bool?

    public init(id: UInt64, original: FiveTuple, reply: FiveTuple, status: UInt32, packetIsReply: Bool?) {
        self.id = id
        self.original = original
        self.reply = reply
        self.status = status
        self.packetIsReply = packetIsReply
    }

    /// Source NAT: the reply is not addressed to the original source.
    public var snat: Bool {
        status & UInt32(SRCIP_IPS_SRC_NAT) != 0 || reply.dst != original.src || reply.dstPort != original.srcPort
    }

    /// Destination NAT: the reply does not come from the original destination.
    public var dnat: Bool {
        status & UInt32(SRCIP_IPS_DST_NAT) != 0 || reply.src != original.dst || reply.srcPort != original.dstPort
    }

    /// The tuple of the original direction after NAT (what the backend sees as the request).
    public var translated: FiveTuple { reply.reversed }
}

/// Fields NAT does not change, used to join the two views of one packet without conntrack.
public struct PacketFingerprint: Hashable, Sendable {
    public var tcpSeq: UInt32
    public var tcpAck: UInt32
    public var tcpTSval: UInt32
    public var ipID: UInt16
    public var length: UInt16

    public init(tcpSeq: UInt32, tcpAck: UInt32, tcpTSval: UInt32, ipID: UInt16, length: UInt16) {
        self.tcpSeq = tcpSeq
        self.tcpAck = tcpAck
        self.tcpTSval = tcpTSval
        self.ipID = ipID
        self.length = length
    }
}

/// The outer packet of an encapsulated flow (srcip_abi.h `struct srcip_encap`): for VXLAN the node-to-node
/// UDP packet that carried the observed (inner) packet over the overlay.
public struct Encapsulation: Hashable, Sendable {
    /// Encapsulation protocols srcip looks inside (`enum srcip_encap_type`).
    public enum Kind: UInt8, Hashable, Sendable, CustomStringConvertible {
        case vxlan = 1
        public var description: String { "vxlan" }
    }

    public var kind: Kind
    /// VXLAN network identifier (24 bits).
    public var vni: UInt32
    /// The outer IP/UDP tuple; nil when unknown (flows expired from the flow map keep only the kind).
    public var outer: FiveTuple?

    public init(kind: Kind, vni: UInt32, outer: FiveTuple?) {
        self.kind = kind
        self.vni = vni
        self.outer = outer
    }
}

/// One decoded ring-buffer record: a flow as it looked at one hook of one interface.
public struct Observation: Hashable, Sendable {
    public var kind: ObservationKind
    public var hook: Hook
    public var ifindex: UInt32
    /// CLOCK_MONOTONIC nanoseconds of the event and of the flow's first packet at this hook.
    public var timestampNs: UInt64
    public var firstSeenNs: UInt64
    public var packets: UInt64
    public var bytes: UInt64
    public var tuple: FiveTuple
    public var tcpFlags: UInt8
    public var join: JoinMethod
    public var conntrack: ConntrackMapping?
    public var fingerprint: PacketFingerprint
    /// Set when the packet was seen encapsulated (VXLAN on a node's uplink): `tuple`, `conntrack` and
    /// `fingerprint` then describe the inner packet.
    public var encapsulation: Encapsulation?

    public init(kind: ObservationKind, hook: Hook, ifindex: UInt32, timestampNs: UInt64, firstSeenNs: UInt64,
                packets: UInt64, bytes: UInt64, tuple: FiveTuple, tcpFlags: UInt8, join: JoinMethod,
                conntrack: ConntrackMapping?, fingerprint: PacketFingerprint, encapsulation: Encapsulation? = nil) {
        self.kind = kind
        self.hook = hook
        self.ifindex = ifindex
        self.timestampNs = timestampNs
        self.firstSeenNs = firstSeenNs
        self.packets = packets
        self.bytes = bytes
        self.tuple = tuple
        self.tcpFlags = tcpFlags
        self.join = join
        self.conntrack = conntrack
        self.fingerprint = fingerprint
        self.encapsulation = encapsulation
    }
}

/// TCP flag bits as in the TCP header.
public enum TCPFlags {
    public static let fin: UInt8 = 0x01
    public static let syn: UInt8 = 0x02
    public static let rst: UInt8 = 0x04
    public static let psh: UInt8 = 0x08
    public static let ack: UInt8 = 0x10
}
