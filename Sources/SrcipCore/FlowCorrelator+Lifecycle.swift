/// How flows end and where they live: finishing into records, idle and memory-bound sweeps, the slot pool and its
/// LRU list (most recently active first).
extension FlowCorrelator {
    enum FinishReason { case ended, idle, evicted, superseded, flushed }

    /// Raises the views' counters of `slot` to what `counts` reports (never lowers them). With `skipHandshakes`, views
    /// known to have no BPF flow-map entry are not asked (see `mayHaveMapEntry`).
    mutating func refreshCounts(_ slot: Int32, _ counts: ((FlowView) -> FlowCounts?)?, skipHandshakes: Bool = false) {
        guard let counts else { return }
        for i in slots[slot].segments.indices {
            let s = slots[slot].segments[i]
            if skipHandshakes, !slots[slot].activityNoted, !s.mayHaveMapEntry { continue }
            guard let c = counts(FlowView(ifindex: s.ifindex, hook: s.hook, tuple: s.tuple)),
                  c.packets >= s.packets else { continue }
            slots[slot].segments[i].packets = c.packets
            slots[slot].segments[i].bytes = c.bytes
            stats.liveCountReads += 1
        }
    }

    mutating func finish(_ slot: Int32, _ why: FinishReason) {
        guard slots[slot].live else { return }
        // A flow idle this long had every packet after its handshake reported by a sweep of the BPF map
        // (`noteActivity`): without that, its handshake-only views have no entry, and looking each up (a failing
        // bpf syscall) was most of the cost of an unanswered SYN under a flood.
        refreshCounts(slot, liveCounts, skipHandshakes: why == .idle)
        let st = slots[slot]
        // Replies whose request was neither seen nor shown by a conntrack entry claim nothing: counted, not written.
        let requestSeen = st.segments.contains(where: { !$0.isReply })
        if (requestSeen || st.conntrack != nil) && !park(st, why) { output.append(finishedRecord(st, why)) }
        if !requestSeen { stats.unmatchedReplies += 1 }
        finished.beginFlow()
        var forgotten: UInt64 = 0
        st.forEachIndexTuple { t in
            if byTuple[t] == slot { byTuple[t] = nil }
            forgotten += finished.remember(tuple: t)
        }
        if st.ctID != 0, byCt[st.ctID] == slot { byCt[st.ctID] = nil }
        if let k = st.fingerprint, byFingerprint[k] == slot { byFingerprint[k] = nil }
        stats.finishedMemoryEvictions += forgotten + finished.remember(ctID: st.ctID)
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

    /// Interim records (`final` false, end reason active timeout) for every live flow that started, or had its last
    /// interim record, at least `activeTimeoutNs` before the correlator's time; counters are cumulative since the flow
    /// started, read through `peekCounts` (which must not remove them). The flows stay live; their final record follows.
    public mutating func interimRecords(activeTimeoutNs: UInt64) -> [FlowRecord] {
        guard activeTimeoutNs > 0 else { return [] }
        var out: [FlowRecord] = []
        var s = head
        while s >= 0 {
            let next = slots[s].next
            if !slots[s].closing, slots[s].interimSinceNs &+ activeTimeoutNs <= nowNs,
               slots[s].segments.contains(where: { !$0.isReply }) || slots[s].conntrack != nil {
                refreshCounts(s, peekCounts)
                var rec = builder.record(slots[s], icmpFromNode: icmpFromNode)
                rec.final = false
                rec.endReason = .activeTimeout
                rec.endNs = max(rec.endNs, context.unixNs(nowNs))
                out.append(rec)
                slots[s].interimSinceNs = nowNs
                stats.interimRecords += 1
            }
            s = next
        }
        return out
    }

    /// Every view of `slot` ended: written now, or after the close linger.
    mutating func ended(_ slot: Int32) {
        guard config.closeLingerNs > 0, slots[slot].segments.contains(where: { $0.tuple.proto == .tcp }) else {
            return finish(slot, .ended)
        }
        slots[slot].closing = true
        closingQueue.append((slot, nowNs))
    }

    /// Writes closing flows quiet for the close linger; requeues those that saw packets meanwhile.
    mutating func sweepClosing() {
        let linger = config.closeLingerNs
        while closingHead < closingQueue.count {
            let (s, since) = closingQueue[closingHead]
            guard slots[s].live, slots[s].closing else { closingHead += 1; continue }
            if since &+ linger >= nowNs { break }
            closingHead += 1
            if slots[s].lastActivityNs &+ linger >= nowNs {
                closingQueue.append((s, slots[s].lastActivityNs))
            } else {
                finish(s, .ended)
            }
        }
        if closingHead == closingQueue.count {
            closingQueue.removeAll(keepingCapacity: closingQueue.count < 4096)
            closingHead = 0
        } else if closingHead > 4096, closingHead * 2 > closingQueue.count {
            closingQueue.removeFirst(closingHead)
            closingHead = 0
        }
    }

    mutating func sweep() {
        if closingHead < closingQueue.count { sweepClosing() }
        while tail >= 0, slots[tail].lastActivityNs &+ config.idleTimeoutNs < nowNs {
            finish(tail, slots[tail].closing ? .ended : .idle)
        }
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
        slots[s].interimSinceNs = nowNs
        linkFront(s)
        stats.liveFlows += 1
        return s
    }

    mutating func release(_ s: Int32) {
        unlink(s)
        slots[s] = FlowState()
        freeSlots.append(s)
        stats.liveFlows -= 1
        if stats.liveFlows == 0, slots.count > 4096 { releaseStorage() }
    }

    /// After a flood: with no live flow left, gives the slot pool and index tables back to the allocator.
    mutating func releaseStorage() {
        slots = []
        freeSlots = []
        head = -1
        tail = -1
        byTuple = TupleIndex()
        byCt = ConntrackIndex()
        byFingerprint = FingerprintIndex()
        closingQueue = []
        closingHead = 0
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
