/// A client may reuse a tuple for a new connection after a request nothing answered (REJECTed with an ICMP error,
/// or dropped): kube-proxy's rules never created a conntrack entry for it, and the BPF view of the old request can
/// persist, so the new connection's first views would join the old flow and take its start — judged against the
/// Service catalog of a time long gone.
extension FlowCorrelator {
    /// Whether `slot` is a request that never left the node and got no reply, without a conntrack entry, last seen
    /// more than `rejectWindowNs` before `ns`, when a view with a conntrack entry showed its tuple: a new connection.
    func isUnansweredRequestReused(_ slot: Int32, atNs ns: UInt64) -> Bool {
        let st = slots[slot]
        guard st.ctID == 0, !st.segments.isEmpty,
              !st.segments.contains(where: { $0.isReply || $0.hook == .egress }) else { return false }
        let last = st.segments.map(\.lastNs).max() ?? 0
        return ns > last &+ config.rejectWindowNs
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
