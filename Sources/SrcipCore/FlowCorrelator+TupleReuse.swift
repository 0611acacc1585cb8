/// A client may reuse a tuple for a new connection after a request nothing answered (REJECTed with an ICMP error,
/// or dropped): kube-proxy's rules never created a conntrack entry for it, and the BPF view of the old request can
/// persist, so the new connection's first views would join the old flow and take its start — judged against the
/// Service catalog of a time long gone.
extension FlowCorrelator {
    /// Whether `slot` is a request that never left the node and got no reply, without a conntrack entry, last seen
    /// more than `rejectWindowNs` before `ns`, when `o`, a view with a conntrack entry, showed its tuple: a new
    /// connection. Not when `o` continues the request's TCP handshake (`continuesHandshake`): a SYN dropped on its
    /// way (a neighbour not yet resolved, a pod starting) and retransmitted seconds later is the same connection.
    func isUnansweredRequestReused(_ slot: Int32, by o: Observation, isReply: Bool, atNs ns: UInt64) -> Bool {
        let st = slots[slot]
        guard st.ctID == 0, !st.segments.isEmpty,
              !st.segments.contains(where: { $0.isReply || $0.hook == .egress }) else { return false }
        let last = st.segments.map(\.lastNs).max() ?? 0
        return ns > last &+ config.rejectWindowNs && !FlowCorrelator.continuesHandshake(synSeq: st.synSeq, o, isReply: isReply)
    }

    /// How far past the opening SYN's sequence number a packet of the same connection may be and still be
    /// recognised as such: the request had no answer, so the client sent at most an initial window since.
    static let handshakeSeqWindow: UInt32 = 1 << 20

    /// Whether TCP view `o` belongs to the connection whose opening SYN had sequence number `synSeq`: a request
    /// packet's sequence number (a reply's acknowledgment) lies within `handshakeSeqWindow` after it. A new
    /// connection on the tuple has a new initial sequence number: random, or on Linux (RFC 6528) the old one plus a
    /// tick per 64 ns, over 31 million past it after the 2 s an unanswered request waits. Unknown (no SYN or no
    /// fingerprint recorded): false.
    static func continuesHandshake(synSeq: UInt32, _ o: Observation, isReply: Bool) -> Bool {
        guard synSeq != 0, o.tuple.proto == .tcp, o.fingerprint != zeroFingerprint else { return false }
        if isReply {
            guard o.tcpFlags & TCPFlags.ack != 0 else { return false }
            let d = o.fingerprint.tcpAck &- synSeq
            return d >= 1 && d <= handshakeSeqWindow
        }
        return o.fingerprint.tcpSeq &- synSeq <= handshakeSeqWindow
    }

    /// Finishes the unanswered request in `slot`; views of its tuple read from now on start no earlier than
    /// `floorNs`, when the new connection was first seen (the persisting BPF view reports the old request's time).
    mutating func supersedeUnanswered(_ slot: Int32, floorNs: UInt64) {
        if reusedTupleFloor.count >= 4096 { reusedTupleFloor.removeAll(keepingCapacity: true) }
        for seg in slots[slot].segments { reusedTupleFloor[seg.tuple] = floorNs }
        finish(slot, .superseded)
    }

    /// `o` with its first-seen time raised to the floor of a reused tuple.
    func reuseClamped(_ o: Observation) -> Observation {
        guard !reusedTupleFloor.isEmpty, let floor = reusedTupleFloor[o.tuple], o.firstSeenNs < floor else { return o }
        var c = o
        c.firstSeenNs = min(floor, c.timestampNs)
        return c
    }
}
