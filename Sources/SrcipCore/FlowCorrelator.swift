/// Turns one node's BPF observations into finished flow records.
///
/// Views of one connection (ingress/egress, request/reply, per interface) are joined by conntrack id, by tuple
/// (a view's tuple equals another's original, translated or reversed tuple) or, without conntrack, by equal
/// first-packet fingerprints at ingress and egress. Replies are folded into their flow. Memory is bounded by
/// `CorrelatorConfig.maxLiveFlows` (LRU eviction) and the idle timeout. Pure: no I/O, no clocks.
public struct FlowCorrelator {
    public internal(set) var context: NodeContext
    public let config: CorrelatorConfig
    public internal(set) var stats = CorrelatorStats()

    var slots: [FlowState] = []
    var freeSlots: [Int32] = []
    var head: Int32 = -1
    var tail: Int32 = -1
    var byCt = ConntrackIndex()
    var byTuple = TupleIndex()
    var byFingerprint = FingerprintIndex()
    var finished = FinishedMemory(capacity: 0)
    /// ICMP destination-unreachable errors the node sent, by client address and the client port they quote (0: unknown).
    var icmpFromNode: [ClientPort: UInt64] = [:]
    var output: [FlowRecord] = []
    var nowNs: UInt64 = 0
    var builder: FlowRecordBuilder
    /// Slots waiting out the close linger, with the time they were queued; `closingHead` is the next to check.
    var closingQueue: [(slot: Int32, sinceNs: UInt64)] = []
    var closingHead = 0
    /// Set while a batch is fed: no idle sweep until it is all in.
    var holdSweep = false
    /// Reads (and removes) the live counters of a view when its flow is written: set by a consumer that owns the
    /// BPF flow map, so records carry every packet counted up to then (open flows at exit, idle flows, TCP after FIN).
    public var liveCounts: ((FlowView) -> FlowCounts?)?
    /// Catalogs by the time they became valid, oldest first; empty until the first `update(catalog:validFromNs:)`.
    var catalogVersions: [CatalogVersion] = []
    /// Set while a Service change is being read: flows started since then wait in `parked` for the new catalog.
    var catalogPendingSinceNs: UInt64?
    var parked: [(FlowState, FinishReason)] = []
    /// ICMP errors the kernel's rate limit suppressed, by sampling interval (`noteICMPRateLimited`).
    var icmpSuppressed: [ICMPSuppression] = []
    /// Tuples reused after an unanswered request, and the time the new connection's views cannot start before.
    var reusedTupleFloor: [FiveTuple: UInt64] = [:]
    /// New-flow sampling past `CorrelatorConfig.maxNewFlowsPerSecond` (FlowCorrelator+Sampling.swift).
    var sampler: NewFlowSampler
    /// Reads a view's live counters without removing them, for interim records of open flows (`interimRecords`).
    public var peekCounts: ((FlowView) -> FlowCounts?)?

    public init(context: NodeContext, config: CorrelatorConfig = CorrelatorConfig()) {
        self.context = context
        self.config = config
        self.finished = FinishedMemory(capacity: config.finishedMemory)
        self.sampler = NewFlowSampler(limit: config.maxNewFlowsPerSecond, lingerNs: config.idleTimeoutNs &+ 5_000_000_000)
        self.builder = FlowRecordBuilder(context: context, rejectWindowNs: config.rejectWindowNs)
    }

    /// Replaces the node context (e.g. a refreshed Service catalog); flows finished from now on use it.
    public mutating func update(context: NodeContext) {
        self.context = context
        builder = FlowRecordBuilder(context: context, rejectWindowNs: config.rejectWindowNs)
        catalogVersions = []
    }

    /// Estimated bytes per live flow from type layouts: slot, `segments` views (array header + elements), the
    /// tuple-index entries of a SNATed and DNATed flow (original, translated and the two half-translated tuples) and
    /// one conntrack-index entry, with index buckets at a 3/4 load.
    public static func estimatedBytesPerFlow(segments: Int = 4) -> Int {
        let slot = MemoryLayout<FlowState>.stride
        let views = 32 + segments * MemoryLayout<FlowSegment>.stride
        return slot + views + (4 + 1) * TupleIndex.bytesPerBucket * 4 / 3
    }

    /// Live (not yet emitted) flows.
    public var liveFlowCount: Int { stats.liveFlows }

    /// Feeds one observation; finished flows accumulate until `drainFinished()`.
    public mutating func add(_ observation: Observation) {
        stats.observations += 1
        if observation.timestampNs > nowNs { nowNs = observation.timestampNs }
        if sampler.limit > 0, refusesAgain(observation) { return }
        var o = reuseClamped(observation)
        let ct = o.conntrack
        var isReply = false
        var slot: Int32 = -1

        if let ct {
            isReply = FlowCorrelator.isReply(o.tuple, ct)
            var byID = byCt[ct.id] ?? -1
            if byID >= 0, let old = slots[byID].conntrack, old.original != ct.original {
                finish(byID, .superseded)   // conntrack id reused by a new connection (entry freed and reallocated)
                byID = -1
            }
            let byT = byTuple[isReply ? o.tuple.reversed : o.tuple] ?? -1
            if byT >= 0, slots[byT].ctID != 0, slots[byT].ctID != ct.id {
                finish(byT, .superseded)   // an older connection with the same tuple
                slot = byID
            } else if byT >= 0, byT != byID, isUnansweredRequestReused(byT, by: o, isReply: isReply, atNs: o.timestampNs) {
                supersedeUnanswered(byT, floorNs: o.timestampNs)
                o = reuseClamped(o)
                slot = byID
            } else if byID >= 0, byT >= 0, byID != byT {
                merge(byT, into: byID)
                slot = byID
            } else {
                slot = byID >= 0 ? byID : byT
            }
        } else if let f = byTuple[o.tuple] {
            slot = f
        } else if let r = byTuple[o.tuple.reversed] {
            slot = r
            isReply = true
        } else {
            isReply = FlowCorrelator.looksLikeReply(o)
        }

        if slot >= 0, o.kind == .new, FlowCorrelator.opensConnection(o),
           let seg = slots[slot].segments.first(where: { $0.ifindex == o.ifindex && $0.hook == o.hook && $0.isReply == isReply }),
           seg.done, ct == nil || slots[slot].ctID == 0 {
            finish(slot, .superseded)      // the same tuple reused by a new connection
            slot = -1
        }

        if slot < 0 {
            // A reply, a non-opening segment or a non-first record of a finished flow is late; so is a UDP/ICMP
            // packet answering (reversed tuple) a finished flow. None of them starts a flow of its own.
            let answersFinished = ct == nil && o.tuple.proto != .tcp && finished.containsRequest(o.tuple.reversed)
            if !FlowCorrelator.opensConnection(o) || o.kind != .new || isReply || answersFinished, finished.contains(o, ct) {
                stats.lateRecords += 1
                return
            }
        }
        if slot < 0, sampler.limit > 0, !admitNewFlow(o, isReply: isReply) { return }
        if slot < 0 {
            slot = allocate()
            stats.flowsCreated += 1
            // REJECT answers from the address the client used: a node address, or the Service's ClusterIP/external/LB IP.
            if o.tuple.proto == .icmp || o.tuple.proto == .icmpv6, o.hook == .egress,
               context.localAddresses.contains(o.tuple.src) || context.catalog.isServiceAddress(o.tuple.src) {
                if icmpFromNode.count >= 4096 { icmpFromNode.removeAll(keepingCapacity: true) }
                // ICMP errors carry the quoted packet's source port in srcPort (BPF: port 0, type<<8|code in dstPort).
                let quoted = o.tuple.dstPort != 0 ? o.tuple.srcPort : 0
                icmpFromNode[ClientPort(ip: o.tuple.dst, port: quoted)] = o.timestampNs
            }
        }

        apply(o, isReply: isReply, to: slot)
        if let ct { attach(ct, from: o, isReply: isReply, to: slot) }
        if ct == nil, !isReply, o.kind == .new { joinByFingerprint(o, slot) }
        let key = isReply ? o.tuple.reversed : o.tuple
        // `attach` has just pointed the conntrack tuples at `slot`.
        if !(ct.map { key == $0.original || key == $0.translated } ?? false) { register(key, slot, by: o, isReply: isReply) }
        // An expiry says a view went quiet: it must not restart the flow's idle time. A view without a BPF entry (an
        // unanswered or rejected handshake, recorded but not inserted) has no expiry of its own to end the flow.
        if o.kind != .expired { touch(slot) }
        if slots[slot].live, !slots[slot].closing, slots[slot].allDone { ended(slot) }
        if !holdSweep { sweep() }
    }

    /// Feeds the `.expired` observations of one sweep of the BPF flow map, all before any idle decision: a flow must
    /// not be finished as idle (reading counters the sweep already removed) while its own final counts wait in the batch.
    public mutating func add(expired batch: [Observation]) {
        holdSweep = true
        for o in batch { add(o) }
        holdSweep = false
        sweep()
    }

    /// The flow that has `tuple` as a view (either direction) saw a packet at `ns` without a record (the BPF side
    /// only reports new, translated and ended views): keeps a long-lived flow from being finished as idle.
    public mutating func noteActivity(tuple: FiveTuple, atNs ns: UInt64) {
        // Activity the flow's records already showed must not move it to the front of the idle order: behind newer
        // flows it would wait for them to idle out first.
        guard let slot = byTuple[tuple] ?? byTuple[tuple.reversed], slots[slot].live else { return }
        slots[slot].activityNoted = true
        guard ns > slots[slot].lastActivityNs else { return }
        slots[slot].lastActivityNs = ns
        guard head != slot else { return }
        unlink(slot)
        linkFront(slot)
    }

    /// Finishes flows idle at `nowNs` (CLOCK_MONOTONIC), for when no records arrive.
    public mutating func advance(toNs now: UInt64) {
        if now > nowNs { nowNs = now }
        sweep()
        releaseParkedIfStale()
    }

    /// The flows finished since the last call.
    public mutating func drainFinished() -> [FlowRecord] {
        defer { output.removeAll(keepingCapacity: output.count <= 1024) }
        return output
    }

    /// Finishes every live flow (at exit) and returns all pending records.
    public mutating func flush() -> [FlowRecord] {
        while tail >= 0 { finish(tail, .flushed) }
        catalogChangeSettled()
        return drainFinished()
    }

    // MARK: - joining

    static let zeroFingerprint = PacketFingerprint(tcpSeq: 0, tcpAck: 0, tcpTSval: 0, ipID: 0, length: 0)

    /// Whether a packet tuple is the reply direction of a conntrack entry.
    static func isReply(_ t: FiveTuple, _ ct: ConntrackMapping) -> Bool {
        if t == ct.original || t == ct.translated { return false }
        if t == ct.reply || t == ct.original.reversed { return true }
        return ct.packetIsReply ?? false
    }

    /// Without conntrack, a flow first seen with SYN+ACK (or an ICMP echo reply-less guess) is a reply.
    static func looksLikeReply(_ o: Observation) -> Bool {
        o.tuple.proto == .tcp && o.tcpFlags & TCPFlags.syn != 0 && o.tcpFlags & TCPFlags.ack != 0
    }

    /// Whether a record can start a connection (anything but a TCP segment without SYN).
    static func opensConnection(_ o: Observation) -> Bool {
        o.tuple.proto != .tcp || o.tcpFlags & TCPFlags.syn != 0
    }

    /// Joins the request views of one packet at ingress and egress by equal fingerprints (no conntrack), or
    /// registers this view's fingerprint for the partner still to come.
    /// Joins a flow's first request view to the flow that saw the same first packet (equal fingerprint) at another
    /// hook or interface: ingress → egress across NAT, and also a bridged packet seen at the pod's port and again at
    /// the bridge device (after br_netfilter DNAT) or leaving through the bridge and then the port (after SNAT).
    private mutating func joinByFingerprint(_ o: Observation, _ slot: Int32) {
        guard o.fingerprint != FlowCorrelator.zeroFingerprint, slots[slot].live else { return }
        let key = FingerprintKey(fp: o.fingerprint, proto: o.tuple.proto, v4: o.tuple.src.isIPv4)
        if let p = byFingerprint[key], p != slot {
            let st = slots[p]
            let near = st.fingerprintNs > o.firstSeenNs ? st.fingerprintNs - o.firstSeenNs : o.firstSeenNs - st.fingerprintNs
            let a = slots[slot].ctID, b = st.ctID
            let views = Set(st.segments.filter { !$0.isReply }.map { ViewKey(ifindex: $0.ifindex, hook: $0.hook) })
            let overlap = slots[slot].segments.contains { !$0.isReply && views.contains(ViewKey(ifindex: $0.ifindex, hook: $0.hook)) }
            guard near <= config.fingerprintWindowNs, !overlap, a == 0 || b == 0 || a == b else {
                stats.fingerprintRejected += 1
                return
            }
            merge(p, into: slot)
            let joined = slots[slot]
            joined.forEachIndexTuple { t in if byTuple[t] == nil { byTuple[t] = slot } }
            slots[slot].fingerprintJoined = true
            stats.fingerprintJoins += 1
        } else if byFingerprint[key] == nil, slots[slot].fingerprint == nil {
            byFingerprint[key] = slot
            slots[slot].fingerprint = key
            slots[slot].fingerprintHook = o.hook
            slots[slot].fingerprintNs = o.firstSeenNs
        }
    }

    /// One place a packet is seen: interface and hook.
    private struct ViewKey: Hashable {
        var ifindex: UInt32
        var hook: Hook
    }

    private mutating func apply(_ o: Observation, isReply: Bool, to slot: Int32) {
        if o.join == .fingerprint { slots[slot].sawFingerprintRecords = true }
        let ends = o.kind == .end || o.kind == .expired
        if let i = slots[slot].segments.firstIndex(where: {
            $0.ifindex == o.ifindex && $0.hook == o.hook && $0.isReply == isReply && $0.tuple == o.tuple
        }) {
            var s = slots[slot].segments[i]
            if o.packets < s.packets { stats.staleRecords += 1 } else { s.packets = o.packets; s.bytes = o.bytes }
            s.firstNs = min(s.firstNs, o.firstSeenNs)
            s.lastNs = max(s.lastNs, o.timestampNs)
            s.tcpFlags |= o.tcpFlags
            if ends { if s.done { stats.duplicateEnds += 1 } else { s.done = true } }
            slots[slot].segments[i] = s
        } else {
            slots[slot].segments.append(FlowSegment(
                ifindex: o.ifindex, hook: o.hook, isReply: isReply, done: ends, tcpFlags: o.tcpFlags, tuple: o.tuple,
                firstNs: o.firstSeenNs, lastNs: max(o.timestampNs, o.firstSeenNs), packets: o.packets, bytes: o.bytes))
        }
        if let ct = o.conntrack, isReply || ct.status & 2 != 0 { slots[slot].ctSeenReply = true }
        if !isReply, let e = o.encapsulation { slots[slot].noteEncapsulation(e) }
        if !isReply, slots[slot].synSeq == 0, o.tuple.proto == .tcp, o.tcpFlags & (TCPFlags.syn | TCPFlags.ack) == TCPFlags.syn {
            slots[slot].synSeq = o.fingerprint.tcpSeq
        }
    }

    private mutating func attach(_ ct: ConntrackMapping, from o: Observation, isReply: Bool, to slot: Int32) {
        if let old = slots[slot].conntrack {
            if old.original != ct.original || old.reply != ct.reply {
                stats.conntrackChanged += 1
                slots[slot].conntrack = ct
            } else if old.status != ct.status {
                slots[slot].conntrack?.status |= ct.status
            }
        } else {
            slots[slot].conntrack = ct
            slots[slot].ctIfindex = o.ifindex
            slots[slot].ctHook = o.hook
            if let k = slots[slot].fingerprint {       // conntrack joins from here on
                if byFingerprint[k] == slot { byFingerprint[k] = nil }
                slots[slot].fingerprint = nil
            }
        }
        if ct.id != 0 {
            if let other = byCt[ct.id] {
                if other != slot {
                    merge(other, into: slot)
                    byCt[ct.id] = slot
                }
            } else {
                byCt[ct.id] = slot
            }
        }
        let translated = ct.translated
        register(ct.original, slot, by: o, isReply: isReply)
        register(translated, slot, by: o, isReply: isReply)
        if let (h0, h1) = FlowState.halfTranslated(ct.original, translated) {
            if byTuple[h0] == nil { byTuple[h0] = slot }
            if byTuple[h1] == nil { byTuple[h1] = slot }
        }
    }

    /// Points an original-direction tuple at `slot` (which `o` was just applied to), merging or superseding whatever
    /// flow held it.
    private mutating func register(_ t: FiveTuple, _ slot: Int32, by o: Observation, isReply: Bool) {
        guard let other = byTuple[t] else { byTuple[t] = slot; return }
        if other == slot { return }
        let a = slots[slot].ctID, b = slots[other].ctID
        if a != 0, b != 0, a != b {
            finish(other, .superseded)
        } else if a != 0, b == 0, isUnansweredRequestReused(other, by: o, isReply: isReply, atNs: nowNs) {
            supersedeUnanswered(other, floorNs: slots[slot].segments.map(\.firstNs).min() ?? nowNs)
        } else {
            merge(other, into: slot)
        }
        byTuple[t] = slot
    }

    /// Moves every view of flow `b` into flow `a` and frees `b`.
    private mutating func merge(_ b: Int32, into a: Int32) {
        guard a != b, slots[b].live else { return }
        let other = slots[b]
        for s in other.segments {
            if let i = slots[a].segments.firstIndex(where: {
                $0.ifindex == s.ifindex && $0.hook == s.hook && $0.isReply == s.isReply && $0.tuple == s.tuple
            }) {
                var m = slots[a].segments[i]
                if s.packets > m.packets { m.packets = s.packets; m.bytes = s.bytes }
                m.firstNs = min(m.firstNs, s.firstNs)
                m.lastNs = max(m.lastNs, s.lastNs)
                m.tcpFlags |= s.tcpFlags
                m.done = m.done || s.done
                slots[a].segments[i] = m
            } else {
                slots[a].segments.append(s)
            }
        }
        if slots[a].conntrack == nil, let ct = other.conntrack {
            slots[a].conntrack = ct
            slots[a].ctIfindex = other.ctIfindex
            slots[a].ctHook = other.ctHook
        }
        slots[a].ctSeenReply = slots[a].ctSeenReply || other.ctSeenReply
        if let e = other.encapsulation { slots[a].noteEncapsulation(e) }
        slots[a].fingerprintJoined = slots[a].fingerprintJoined || other.fingerprintJoined
        slots[a].sawFingerprintRecords = slots[a].sawFingerprintRecords || other.sawFingerprintRecords
        if let k = other.fingerprint, byFingerprint[k] == b {
            if slots[a].conntrack != nil {
                byFingerprint[k] = nil      // conntrack joins from here on, as in `attach`
            } else if slots[a].fingerprint == nil {
                byFingerprint[k] = a
                slots[a].fingerprint = k
                slots[a].fingerprintHook = other.fingerprintHook
                slots[a].fingerprintNs = other.fingerprintNs
            } else {
                byFingerprint[k] = nil
            }
        }
        if slots[a].conntrack != nil, let k = slots[a].fingerprint {
            if byFingerprint[k] == a { byFingerprint[k] = nil }
            slots[a].fingerprint = nil
        }
        other.forEachIndexTuple { t in if byTuple[t] == b { byTuple[t] = a } }
        if other.ctID != 0, byCt[other.ctID] == b { byCt[other.ctID] = a }
        slots[a].lastActivityNs = max(slots[a].lastActivityNs, other.lastActivityNs)
        release(b)
        stats.flowsMerged += 1
    }
}
