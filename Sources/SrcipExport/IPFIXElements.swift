import SrcipCore

/// IPFIX Information Elements srcip exports (IANA registry; NAT elements from RFC 8158).
public enum IPFIXElement {
    public static let octetDeltaCount: UInt16 = 1
    public static let packetDeltaCount: UInt16 = 2
    public static let protocolIdentifier: UInt16 = 4
    public static let tcpControlBits: UInt16 = 6
    public static let sourceTransportPort: UInt16 = 7
    public static let sourceIPv4Address: UInt16 = 8
    public static let ingressInterface: UInt16 = 10
    public static let destinationTransportPort: UInt16 = 11
    public static let destinationIPv4Address: UInt16 = 12
    public static let egressInterface: UInt16 = 14
    public static let sourceIPv6Address: UInt16 = 27
    public static let destinationIPv6Address: UInt16 = 28
    public static let forwardingStatus: UInt16 = 89
    public static let flowEndReason: UInt16 = 136
    public static let observationDomainId: UInt16 = 149
    public static let flowStartMilliseconds: UInt16 = 152
    public static let flowEndMilliseconds: UInt16 = 153
    public static let postNATSourceIPv4Address: UInt16 = 225
    public static let postNATDestinationIPv4Address: UInt16 = 226
    public static let postNAPTSourceTransportPort: UInt16 = 227
    public static let postNAPTDestinationTransportPort: UInt16 = 228
    public static let natEvent: UInt16 = 230
    public static let postNATSourceIPv6Address: UInt16 = 281
    public static let postNATDestinationIPv6Address: UInt16 = 282
    public static let observationDomainName: UInt16 = 300
    public static let observationTimeMilliseconds: UInt16 = 323
    /// RFC 5103 reverse elements: the same ids with the enterprise bit and this Private Enterprise Number.
    public static let reversePEN: UInt32 = 29305

    /// srcip's enterprise-specific elements (strings, variable length). PEN 32473 is the number IANA reserves for
    /// documentation (RFC 5612): a placeholder, not registered to srcip; collectors show these as unknown elements.
    public static let srcipPEN: UInt32 = 32473
    /// The request's first ingress interface (`in_interface`).
    public static let ingressInterfaceName: UInt16 = 1
    /// The request's last egress interface (`out_interface`).
    public static let egressInterfaceName: UInt16 = 2
    /// The Kubernetes Service port the flow was attributed to: `namespace/name:port` (empty when none).
    public static let kubernetesService: UInt16 = 3
    /// srcip's verdict: `preserved`, `snat`, `dropped`, `rejected`, `unknown`.
    public static let srcipVerdict: UInt16 = 4
    /// Where SNAT was observed (`snat_interface`; empty when none).
    public static let snatInterfaceName: UInt16 = 5

    /// Field length meaning "variable length" (RFC 7011 §7).
    public static let variableLength: UInt16 = 0xffff
}

/// RFC 8158 natEvent values used by srcip.
public enum NATEvent: UInt8 {
    /// No translation was observed for the flow.
    case none = 0
    /// NAT44 session create: an interim record of a translated flow still open.
    case nat44SessionCreate = 4
    /// NAT44 session delete: the flow (a conntrack session) ended. RFC 8158 defines no NAT66 event, so
    /// srcip uses the same values for IPv6 flows translated by kube-proxy (NAT66).
    case nat44SessionDelete = 5
}

/// IANA forwardingStatus (IE 89, RFC 7270) values used by srcip.
public enum ForwardingStatus: UInt8 {
    case unknown = 0
    /// Forwarded, no further reason.
    case forwarded = 64
    /// Dropped, no further reason (srcip verdict `dropped`).
    case dropped = 128
    /// Dropped: ACL deny (srcip verdict `rejected`: the node answered with RST or ICMP unreachable).
    case droppedACLDeny = 129

    public init(_ v: Verdict) {
        switch v {
        case .preserved, .snat: self = .forwarded
        case .dropped: self = .dropped
        case .rejected: self = .droppedACLDeny
        case .unknown: self = .unknown
        }
    }
}

/// One field of an IPFIX template.
public struct IPFIXField: Hashable, Sendable {
    public var id: UInt16
    public var length: UInt16
    public var enterprise: UInt32?

    public init(id: UInt16, length: UInt16, enterprise: UInt32? = nil) {
        self.id = id
        self.length = length
        self.enterprise = enterprise
    }
}
