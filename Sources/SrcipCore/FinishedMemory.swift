/// Bounded memory of recently finished flows (tuples and conntrack ids), to recognise late records.
struct FinishedMemory {
    /// One remembered tuple or conntrack id, in the order remembered.
    private enum Item {
        case tuple(FiveTuple)
        case ct(UInt64)
    }

    private var ring: [Item]
    /// Sequence number (truncated to 32 bits) of the newest entry of each remembered tuple and id. Entries live for
    /// `capacity` < 2³¹ sequence numbers, so truncated numbers of live entries never collide.
    private var tuples = TupleIndex()
    private var cts = ConntrackIndex()
    private var nextSeq = 0
    /// First sequence number of the flow being remembered (its repeated tuples take one entry).
    private var flowStartSeq = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = Swift.min(capacity, Int(Int32.max))
        ring = []
        ring.reserveCapacity(Swift.min(capacity, 1 << 16))
    }

    /// Whether the observation belongs to a finished flow: by conntrack id when it carries one (a new connection on
    /// a reused tuple has a new id), else by its tuple in either direction.
    func contains(_ o: Observation, _ ct: ConntrackMapping?) -> Bool {
        if let ct, ct.id != 0 { return cts[ct.id] != nil }
        return tuples[o.tuple] != nil || tuples[o.tuple.reversed] != nil
    }

    /// Entries in the ring, remembered tuples and remembered conntrack ids.
    var counts: (ring: Int, tuples: Int, cts: Int) { (ring.count, tuples.count, cts.count) }

    /// Whether `t` identified a finished flow (an original-direction tuple).
    func containsRequest(_ t: FiveTuple) -> Bool { tuples[t] != nil }

    /// Starts remembering one finished flow: call before its `remember(tuple:)` and `remember(ctID:)`.
    mutating func beginFlow() { flowStartSeq = nextSeq }

    /// Remembers one tuple of the flow begun last; returns how many older entries were forgotten to make room.
    mutating func remember(tuple t: FiveTuple) -> UInt64 {
        guard capacity > 0 else { return 0 }
        if let seq = tuples[t], seq &- Int32(truncatingIfNeeded: flowStartSeq) >= 0 { return 0 }   // already, for this flow
        return store(.tuple(t))
    }

    /// Remembers the conntrack id of the flow begun last (0: none).
    mutating func remember(ctID: UInt64) -> UInt64 {
        guard capacity > 0, ctID != 0 else { return 0 }
        return store(.ct(ctID))
    }

    private mutating func store(_ item: Item) -> UInt64 {
        let seq = nextSeq
        nextSeq += 1
        var forgotten: UInt64 = 0
        if ring.count < capacity {
            ring.append(item)
        } else {
            let pos = seq % capacity
            let old = Int32(truncatingIfNeeded: seq - capacity)
            switch ring[pos] {
            case .tuple(let t): if tuples[t] == old { tuples[t] = nil }
            case .ct(let id): if cts[id] == old { cts[id] = nil }
            }
            ring[pos] = item
            forgotten = 1
        }
        switch item {
        case .tuple(let t): tuples[t] = Int32(truncatingIfNeeded: seq)
        case .ct(let id): cts[id] = Int32(truncatingIfNeeded: seq)
        }
        return forgotten
    }
}
