extension FlowCorrelator {
    /// After a flood: when fewer than an eighth of the slots are live, moves the live flows into a pool of their
    /// size (in LRU order) and rebuilds the indexes for it, so the slot pool and index tables the flood grew are
    /// given back to the allocator. Every index entry keeps pointing at the same flow.
    mutating func compactStorage() {
        var moved = [Int32](repeating: -1, count: slots.count)
        var kept: [FlowState] = []
        kept.reserveCapacity(stats.liveFlows)
        var s = head
        while s >= 0 {
            moved[Int(s)] = Int32(kept.count)
            kept.append(slots[s])
            s = slots[s].next
        }
        for i in kept.indices {
            kept[i].prev = Int32(i) - 1
            kept[i].next = i + 1 < kept.count ? Int32(i) + 1 : -1
        }
        slots = kept
        freeSlots = []
        head = kept.isEmpty ? -1 : 0
        tail = Int32(kept.count) - 1
        let remap: (Int32) -> Int32? = { moved[Int($0)] >= 0 ? moved[Int($0)] : nil }
        byTuple.remapValues(remap)
        byCt.remapValues(remap)
        byFingerprint.remapValues(remap)
        closingQueue = closingQueue[closingHead...].compactMap { e in remap(e.slot).map { ($0, e.sinceNs) } }
        closingHead = 0
        stats.storageCompactions += 1
    }
}
