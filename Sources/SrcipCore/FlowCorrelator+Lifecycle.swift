/// How flows end and where they live: finishing into records, idle and memory-bound sweeps, the slot pool and its
/// LRU list (most recently active first).
extension FlowCorrelator {
    enum FinishReason { case ended, idle, evicted, superseded, flushed }

    mutating func finish(_ slot: Int32, _ why: FinishReason) {
        guard slots[slot].live else { return }
        let st = slots[slot]
        if !park(st, why) { output.append(finishedRecord(st, why)) }
        if !st.segments.contains(where: { !$0.isReply }) { stats.unmatchedReplies += 1 }
        let tuples = st.indexTuples
        for t in tuples where byTuple[t] == slot { byTuple[t] = nil }
        if st.ctID != 0, byCt[st.ctID] == slot { byCt[st.ctID] = nil }
        if let k = st.fingerprint, byFingerprint[k] == slot { byFingerprint[k] = nil }
        stats.finishedMemoryEvictions += finished.remember(tuples: tuples, ctID: st.ctID)
        release(slot)
        stats.flowsFinished += 1
        switch why {
        case .ended: stats.flowsEnded += 1
        case .idle: stats.flowsIdledOut += 1
        case .evicted: stats.flowsEvicted += 1
        case .superseded: stats.flowsSuperseded += 1
        case .flushed: stats.flowsFlushed += 1
        }
    }

    mutating func sweep() {
        while tail >= 0, slots[tail].lastActivityNs &+ config.idleTimeoutNs < nowNs { finish(tail, .idle) }
        while stats.liveFlows > config.maxLiveFlows, tail >= 0 { finish(tail, .evicted) }
    }

    // MARK: - slots and LRU

    mutating func allocate() -> Int32 {
        let s: Int32
        if let f = freeSlots.popLast() {
            s = f
            slots[Int(s)] = FlowState()
        } else {
            s = Int32(slots.count)
            slots.append(FlowState())
        }
        slots[s].live = true
        slots[s].lastActivityNs = nowNs
        linkFront(s)
        stats.liveFlows += 1
        return s
    }

    mutating func release(_ s: Int32) {
        unlink(s)
        slots[s] = FlowState()
        freeSlots.append(s)
        stats.liveFlows -= 1
    }

    mutating func touch(_ s: Int32) {
        slots[s].lastActivityNs = max(slots[s].lastActivityNs, nowNs)
        guard head != s else { return }
        unlink(s)
        linkFront(s)
    }

    mutating func linkFront(_ s: Int32) {
        slots[s].prev = -1
        slots[s].next = head
        if head >= 0 { slots[head].prev = s }
        head = s
        if tail < 0 { tail = s }
    }

    mutating func unlink(_ s: Int32) {
        let p = slots[s].prev, n = slots[s].next
        if p >= 0 { slots[p].next = n } else if head == s { head = n }
        if n >= 0 { slots[n].prev = p } else if tail == s { tail = p }
        slots[s].prev = -1
        slots[s].next = -1
    }
}

extension Array where Element == FlowState {
    /// Slot access by the correlator's `Int32` slot numbers.
    subscript(i: Int32) -> FlowState {
        get { self[Int(i)] }
        set { self[Int(i)] = newValue }
        _modify { yield &self[Int(i)] }
    }
}
