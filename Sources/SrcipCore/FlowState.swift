/// A flow as seen at one (interface, hook, direction): the unit the BPF side counts.
struct FlowSegment {
    var ifindex: UInt32
    var hook: Hook
    var isReply: Bool
    var done: Bool
    var tcpFlags: UInt8
    var tuple: FiveTuple
    var firstNs: UInt64
    var lastNs: UInt64
    var packets: UInt64
    var bytes: UInt64

    /// Whether the BPF flow map may hold an entry for this view: anything but the NEW record of a handshake packet
    /// (TCP SYN or SYN-ACK, one packet, no FIN/RST), which the BPF side keeps out of the map until the flow's next
    /// packet (silently inserted then, and reported by the next sweep's `noteActivity`).
    var mayHaveMapEntry: Bool {
        guard tuple.proto == .tcp, packets <= 1, !done else { return true }
        return tcpFlags & TCPFlags.syn == 0 || tcpFlags & (TCPFlags.fin | TCPFlags.rst) != 0
    }

    /// Order of appearance along the packet path: earlier first, ingress before egress on ties.
    func precedes(_ o: FlowSegment) -> Bool {
        if firstNs != o.firstNs { return firstNs < o.firstNs }
        return hook == .ingress && o.hook == .egress
    }
}

/// One place the BPF programs count a flow: interface, hook and the packet tuple there (the BPF flow map's key).
public struct FlowView: Hashable, Sendable {
    public var ifindex: UInt32
    public var hook: Hook
    public var tuple: FiveTuple
    public init(ifindex: UInt32, hook: Hook, tuple: FiveTuple) {
        self.ifindex = ifindex
        self.hook = hook
        self.tuple = tuple
    }
}

/// Packets and bytes of one view, as the BPF programs count them.
public struct FlowCounts: Hashable, Sendable {
    public var packets: UInt64
    public var bytes: UInt64
    public init(packets: UInt64, bytes: UInt64) {
        self.packets = packets
        self.bytes = bytes
    }
}

/// Fingerprint of a flow's first packet, for joining ingress and egress views without conntrack.
struct FingerprintKey: Hashable {
    var fp: PacketFingerprint
    var proto: L4Protocol
    var v4: Bool
}

/// Mutable state of one live flow inside the correlator.
struct FlowState {
    var segments: [FlowSegment] = []
    var conntrack: ConntrackMapping?
    /// Where the conntrack mapping was first attached (interface, hook).
    var ctIfindex: UInt32 = 0
    var ctHook: Hook?
    var ctSeenReply = false
    var fingerprint: FingerprintKey?
    var fingerprintHook: Hook = .ingress
    var fingerprintNs: UInt64 = 0
    var fingerprintJoined = false
    var sawFingerprintRecords = false
    /// The sequence number of the opening SYN of the request (0: none seen), which its retransmissions repeat.
    var synSeq: UInt32 = 0
    var lastActivityNs: UInt64 = 0
    /// LRU links (slot indexes, -1 = none); head is most recently used.
    var prev: Int32 = -1
    var next: Int32 = -1
    var live = false
    /// Every view ended; waiting out `CorrelatorConfig.closeLingerNs`.
    var closing = false
    /// A sweep of the BPF flow map saw packets of this flow (`FlowCorrelator.noteActivity`).
    var activityNoted = false
    /// When the flow started or its last interim record was written (`FlowCorrelator.interimRecords`).
    var interimSinceNs: UInt64 = 0
    /// The outer packet of the first request view seen VXLAN-encapsulated (one with its outer tuple preferred).
    var encapsulation: Encapsulation?

    /// Keeps `e` unless an encapsulation is known already (a later one with the outer tuple replaces one without).
    mutating func noteEncapsulation(_ e: Encapsulation) {
        if encapsulation == nil || (encapsulation?.outer == nil && e.outer != nil) { encapsulation = e }
    }

    var ctID: UInt64 { conntrack?.id ?? 0 }

    /// When kube-proxy's rules decided the flow: when its first request packet left the node, else when its first
    /// packet came. A SYN that a REJECT turned away (its ICMP suppressed by the rate limit) or a DROP is
    /// retransmitted, and may be served seconds later by rules that changed meanwhile: the catalog of that moment
    /// documents what happened to it.
    var decidedNs: UInt64? {
        var egress: UInt64?, first: UInt64?
        for s in segments {
            first = min(first ?? s.firstNs, s.firstNs)
            if !s.isReply, s.hook == .egress { egress = min(egress ?? s.firstNs, s.firstNs) }
        }
        return egress ?? first
    }

    /// Calls `body` with every original-direction tuple that identifies this flow (index keys; repeats possible),
    /// without building an array.
    @inline(__always)
    func forEachIndexTuple(_ body: (FiveTuple) -> Void) {
        for s in segments { body(s.isReply ? s.tuple.reversed : s.tuple) }
        if let ct = conntrack {
            let translated = ct.translated
            body(ct.original)
            body(translated)
            if let h = FlowState.halfTranslated(ct.original, translated) {
                body(h.0)
                body(h.1)
            }
        } else if let i = segments.first(where: { !$0.isReply && $0.hook == .ingress }),
                  let e = segments.last(where: { !$0.isReply && $0.hook == .egress }),
                  let h = FlowState.halfTranslated(i.tuple, e.tuple) {
            body(h.0)
            body(h.1)
        }
    }

    /// The request tuples of a flow with only one of its rewrites applied: a reply crossing a bridge with
    /// br_netfilter is seen at the bridge device after the SNAT is undone and before the DNAT is (and the
    /// reverse on the way in). Nil when the flow is not both SNATed and DNATed.
    static func halfTranslated(_ original: FiveTuple, _ translated: FiveTuple) -> (FiveTuple, FiveTuple)? {
        let snat = original.src != translated.src || original.srcPort != translated.srcPort
        let dnat = original.dst != translated.dst || original.dstPort != translated.dstPort
        guard snat, dnat else { return nil }
        return (
            FiveTuple(src: original.src, dst: translated.dst, srcPort: original.srcPort, dstPort: translated.dstPort, proto: original.proto),
            FiveTuple(src: translated.src, dst: original.dst, srcPort: translated.srcPort, dstPort: original.dstPort, proto: original.proto)
        )
    }

    /// Every view ended. A request view that saw only its SYN counts as ended once a reply view ended with a RST (the
    /// connection was refused): the BPF side records such a SYN without a flow entry, so it has no END or expiry of its own.
    var allDone: Bool {
        guard !segments.isEmpty else { return false }
        let refused = segments.contains { $0.isReply && $0.done && $0.tcpFlags & TCPFlags.rst != 0 }
        return segments.allSatisfy { $0.done || (refused && !$0.isReply && $0.tcpFlags == TCPFlags.syn) }
    }
}

/// A client address and port (port 0: any port of the address).
struct ClientPort: Hashable {
    var ip: IPAddress
    var port: UInt16
}
