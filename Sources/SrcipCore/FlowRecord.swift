/// What happened to a flow's source IP, observed or expected.
public enum Verdict: String, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// The backend saw the client's own address.
    case preserved
    /// The source was rewritten (MASQUERADE / SNAT).
    case snat
    /// The request entered and was silently discarded (no egress, no reply).
    case dropped
    /// The node answered in place of the Service (ICMP port-unreachable or TCP RST).
    case rejected
    /// Not enough was observed to say.
    case unknown

    public var description: String { rawValue }
}

/// Who opened a flow, as kube-proxy's rules classify it.
public enum ClientKind: String, Hashable, Sendable, Codable, CaseIterable {
    /// Source inside a cluster CIDR (pod network).
    case pod
    /// Source is an address of this node or of another cluster node.
    case node
    /// Anything else.
    case external
}

/// The Service a flow was attributed to, as written in a flow record.
public struct ServiceRef: Hashable, Sendable {
    public var namespace: String
    public var name: String
    public var portName: String?
    public var port: UInt16
    public var type: ServiceType
    public var frontend: Frontend
    public var externalTrafficPolicy: TrafficPolicy
    public var internalTrafficPolicy: TrafficPolicy
    public var resolvedFrom: ServiceResolution

    public init(namespace: String, name: String, portName: String?, port: UInt16, type: ServiceType, frontend: Frontend,
                externalTrafficPolicy: TrafficPolicy, internalTrafficPolicy: TrafficPolicy, resolvedFrom: ServiceResolution) {
        self.namespace = namespace
        self.name = name
        self.portName = portName
        self.port = port
        self.type = type
        self.frontend = frontend
        self.externalTrafficPolicy = externalTrafficPolicy
        self.internalTrafficPolicy = internalTrafficPolicy
        self.resolvedFrom = resolvedFrom
    }

    public init(_ m: ServiceMatch) {
        self.init(namespace: m.service.namespace, name: m.service.name, portName: m.port.name, port: m.port.port,
                  type: m.service.type, frontend: m.frontend, externalTrafficPolicy: m.service.externalTrafficPolicy,
                  internalTrafficPolicy: m.service.internalTrafficPolicy, resolvedFrom: m.resolvedFrom)
    }

    /// `namespace/name`.
    public var id: String { "\(namespace)/\(name)" }
}

/// Flow record v1: one flow as it crossed one node, with its translation, Service and verdict.
/// Its wire formats (JSON Lines, text, CSV, IPFIX) live in SrcipExport; the JSON field names are a contract
/// (docs/flow-record-v1.md, `FlowRecordField`).
public struct FlowRecord: Hashable, Sendable {
    public static let currentVersion = 1

    public var version: Int = FlowRecord.currentVersion
    public var node: String
    /// Unix-epoch nanoseconds.
    public var startNs: Int64
    public var endNs: Int64
    /// Original tuple, as the flow entered this node.
    public var original: FiveTuple
    /// As it left this node toward the backend; nil if it never left.
    public var translated: FiveTuple?
    public var snat: Bool
    public var dnat: Bool
    public var snatInterface: String?
    public var snatHook: Hook?
    /// The interface of the node that owns the SNAT source address (eth0: the node IP, cni0, flannel.1: the
    /// overlay address); nil when the source is not one of the node's addresses or not known.
    public var snatAddressInterface: String?
    public var dnatInterface: String?
    public var dnatHook: Hook?
    public var inInterface: String?
    public var outInterface: String?
    /// The ifindex of `inInterface` / `outInterface` on this node (IPFIX ingressInterface/egressInterface); not part of
    /// the JSON v1 record, so nil for records read from a file.
    public var inIfindex: UInt32?
    public var outIfindex: UInt32?
    public var service: ServiceRef?
    public var clientKind: ClientKind
    public var hairpin: Bool
    public var verdict: Verdict
    public var expected: Verdict?
    public var expectationMet: Bool?
    /// The §4 truth-table row the expectation came from, when one applied.
    public var expectedRow: Int?
    /// Node that hosts the serving endpoint, when the catalog knows it.
    public var endpointNode: String?
    /// Why a verdict or expectation was chosen when it is not obvious (drop reason, missing evidence).
    public var reason: String?
    public var packets: UInt64
    public var bytes: UInt64
    public var replyPackets: UInt64
    public var replyBytes: UInt64
    public var join: JoinMethod
    /// False for an interim record of a flow still open (`--active-timeout`); its final record follows.
    public var final: Bool = true
    /// Why the record was written; nil when unknown (e.g. read from a file that predates the field).
    public var endReason: FlowEndReason?
    /// TCP flags seen in either direction at any hook (OR of every view); 0 for UDP/ICMP.
    public var tcpFlags: UInt8 = 0
    /// Set when a request view of this flow was VXLAN-encapsulated (a node's uplink carrying the overlay): the outer
    /// tuple and VNI of the first such view. The tuples above are always the inner (pod-network) packet's.
    public var encapsulation: Encapsulation?

    public init(node: String, startNs: Int64, endNs: Int64, original: FiveTuple, translated: FiveTuple?,
                snat: Bool, dnat: Bool, snatInterface: String? = nil, snatHook: Hook? = nil,
                dnatInterface: String? = nil, dnatHook: Hook? = nil, inInterface: String? = nil, outInterface: String? = nil,
                service: ServiceRef? = nil, clientKind: ClientKind, hairpin: Bool = false, verdict: Verdict,
                expected: Verdict? = nil, expectationMet: Bool? = nil, expectedRow: Int? = nil, endpointNode: String? = nil,
                reason: String? = nil, packets: UInt64 = 0, bytes: UInt64 = 0, replyPackets: UInt64 = 0,
                replyBytes: UInt64 = 0, join: JoinMethod) {
        self.node = node
        self.startNs = startNs
        self.endNs = endNs
        self.original = original
        self.translated = translated
        self.snat = snat
        self.dnat = dnat
        self.snatInterface = snatInterface
        self.snatHook = snatHook
        self.dnatInterface = dnatInterface
        self.dnatHook = dnatHook
        self.inInterface = inInterface
        self.outInterface = outInterface
        self.service = service
        self.clientKind = clientKind
        self.hairpin = hairpin
        self.verdict = verdict
        self.expected = expected
        self.expectationMet = expectationMet
        self.expectedRow = expectedRow
        self.endpointNode = endpointNode
        self.reason = reason
        self.packets = packets
        self.bytes = bytes
        self.replyPackets = replyPackets
        self.replyBytes = replyBytes
        self.join = join
    }

    /// `tcp`, `udp` or `icmp` (ICMPv6 is `icmp` with family `ipv6`).
    public var protocolName: String {
        switch original.proto {
        case .tcp: return "tcp"
        case .udp: return "udp"
        case .icmp, .icmpv6: return "icmp"
        }
    }

    /// `ipv4` or `ipv6`.
    public var familyName: String { original.src.isIPv4 ? "ipv4" : "ipv6" }
}

/// Why a flow record was written (the IPFIX flowEndReason values, RFC 5102 / IANA IE 136).
public enum FlowEndReason: String, Sendable, Hashable, CaseIterable {
    /// No packet for the idle timeout.
    case idle = "idle"
    /// An interim record of a flow still open (`--active-timeout`).
    case activeTimeout = "active_timeout"
    /// TCP FIN/RST at every hook, or a new connection on the same tuple.
    case endOfFlow = "end_of_flow"
    /// srcip stopped while the flow was open.
    case forcedEnd = "forced_end"
    /// Evicted early by the live-flow bound.
    case lackOfResources = "lack_of_resources"

    /// The IPFIX flowEndReason code.
    public var ipfixCode: UInt8 {
        switch self {
        case .idle: return 1
        case .activeTimeout: return 2
        case .endOfFlow: return 3
        case .forcedEnd: return 4
        case .lackOfResources: return 5
        }
    }
}
