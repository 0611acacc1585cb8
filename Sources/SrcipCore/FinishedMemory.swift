/// Bounded memory of recently finished flows (tuples and conntrack ids), to recognise late records.
struct FinishedMemory {
    private var ring: [(FiveTuple?, UInt64)]
    private var tuples: [FiveTuple: Int] = [:]
    private var cts: [UInt64: Int] = [:]
    private var nextSeq = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        ring = []
        ring.reserveCapacity(Swift.min(capacity, 1 << 16))
    }

    /// Whether the observation belongs to a finished flow: by conntrack id when it carries one (a new connection on
    /// a reused tuple has a new id), else by its tuple in either direction.
    func contains(_ o: Observation, _ ct: ConntrackMapping?) -> Bool {
        if let ct, ct.id != 0 { return cts[ct.id] != nil }
        return tuples[o.tuple] != nil || tuples[o.tuple.reversed] != nil
    }

    /// Whether `t` identified a finished flow (an original-direction tuple).
    func containsRequest(_ t: FiveTuple) -> Bool { tuples[t] != nil }

    /// Remembers a finished flow; returns how many older entries were forgotten to make room.
    mutating func remember(tuples ts: [FiveTuple], ctID: UInt64) -> UInt64 {
        guard capacity > 0 else { return 0 }
        var forgotten: UInt64 = 0
        var items: [(FiveTuple?, UInt64)] = ts.map { ($0, 0) }
        if ctID != 0 { items.append((nil, ctID)) }
        for item in items {
            let seq = nextSeq
            nextSeq += 1
            let pos = seq % capacity
            if ring.count < capacity {
                ring.append(item)
            } else {
                let old = ring[pos]
                if let t = old.0, tuples[t] == seq - capacity { tuples[t] = nil }
                if old.1 != 0, cts[old.1] == seq - capacity { cts[old.1] = nil }
                ring[pos] = item
                forgotten += 1
            }
            if let t = item.0 { tuples[t] = seq } else { cts[item.1] = seq }
        }
        return forgotten
    }
}
