import CLibbpf
import CSrcipABI
import CSrcipSkeleton
import Foundation
import SrcipCore

/// A flow the BPF map saw packets for: its tuple and the time of its last packet (CLOCK_MONOTONIC).
public typealias ActiveFlow = (tuple: FiveTuple, lastNs: UInt64)

extension BPFObject {
    /// Number of entries in the `flows` map (walks it).
    public func flowCount() -> Int {
        var n = 0
        walkFlows { _, _ in n += 1 }
        return n
    }

    /// Deletes flows idle for longer than `idleNs` and returns an `.expired` observation with the final
    /// counters of each, so flows without a TCP FIN/RST (UDP, ICMP, lost FINs) end too, and TCP flows whose END
    /// record was sent at the first FIN/RST get the packets counted after it (final ACKs, retransmissions).
    /// Expired observations carry no conntrack tuples (the flow map keeps only the id); join them to the
    /// flow's earlier records by (ifindex, hook, tuple).
    public func sweepFlows(idleNs: UInt64, now: UInt64 = KernelClock.nowNs()) throws -> [Observation] {
        var expired: [(srcip_flow_key, srcip_flow_state)] = []
        walkFlows { key, state in
            if now > state.last_ns && now - state.last_ns > idleNs { expired.append((key, state)) }
        }
        var out: [Observation] = []
        defer {
            flushFlowCache()  // a deleted flow's next packet must find no cached slot: it is new again
            rebuildFlowFilter(afterDeleting: !expired.isEmpty)
        }
        for (key, state) in expired {
            var k = key
            try deleteFlow(&k)
            guard let hook = Hook(rawValue: key.hook), let tuple = try? RecordDecoder.tuple(key.tuple) else { continue }
            let fp = PacketFingerprint(tcpSeq: 0, tcpAck: 0, tcpTSval: 0, ipID: 0, length: 0)
            out.append(Observation(kind: .expired, hook: hook, ifindex: key.ifindex, timestampNs: now,
                                   firstSeenNs: state.first_ns, packets: state.packets, bytes: state.bytes,
                                   tuple: tuple, tcpFlags: state.tcp_flags,
                                   join: state.ct_id != 0 ? .conntrack : .fingerprint, conntrack: nil,
                                   fingerprint: fp,
                                   encapsulation: Encapsulation.Kind(rawValue: key.encap).map { .init(kind: $0, vni: 0, outer: nil) }))
        }
        return out
    }

    /// Deletes one entry of the `flows` map; every user-space deletion goes through here, so that
    /// `counters().flowsEvicted` can tell the LRU map's own evictions from them. ENOENT is not an error.
    /// Callers run `flushFlowCache()` after their deletions.
    func deleteFlow(_ key: inout srcip_flow_key) throws {
        try flowMapAccess.withLock {
            if bpf_map_delete_elem(flowsFD, &key) == 0 {
                flowMapAccess.deleted += 1
            } else if errno != ENOENT {
                throw KernelError.mapFailed(map: "flows", operation: "delete", errno: errno)
            }
        }
    }

    /// The live counters of one view (interface, hook, packet tuple) of a flow, nil if the map has no entry for it.
    /// With `remove`, the entry is read and deleted in one step (`bpf_map_lookup_and_delete_elem`), so no packet
    /// counted between reading and deleting is lost, and no `.expired` record follows; counted like `deleteFlow`.
    public func flowCounts(_ view: FlowView, remove: Bool) -> FlowCounts? {
        var key = srcip_flow_key()
        key.ifindex = view.ifindex
        key.hook = view.hook.rawValue
        key.tuple = RecordDecoder.encode(view.tuple)
        var state = srcip_flow_state()
        if cacheHolds(key, pendingOnly: true) { flushFlowCache(key) }
        if !remove {
            return bpf_map_lookup_elem(flowsFD, &key, &state) == 0 ? FlowCounts(packets: state.packets, bytes: state.bytes) : nil
        }
        defer { if cacheHolds(key, pendingOnly: false) { flushFlowCache(key) } }
        return flowMapAccess.withLock {
            guard bpf_map_lookup_and_delete_elem(flowsFD, &key, &state) == 0 else { return nil }
            flowMapAccess.deleted += 1
            return FlowCounts(packets: state.packets, bytes: state.bytes)
        }
    }

    /// Entries now in the `flows` map and user-space deletions so far, taken together (no sweep in between).
    func flowMapCensus() -> (live: UInt64, deleted: UInt64) {
        flowMapAccess.withLock {
            var key = srcip_flow_key()
            var next = srcip_flow_key()
            var live: UInt64 = 0
            var rc = bpf_map_get_next_key(flowsFD, nil, &next)
            while rc == 0 {
                live += 1
                key = next
                rc = bpf_map_get_next_key(flowsFD, &key, &next)
            }
            return (live, flowMapAccess.deleted)
        }
    }

    /// Tuples of the flows that saw a packet at or after `sinceNs`, with the time of their last packet. The programs
    /// send no record for ordinary packets, so this is how a consumer learns that a long-lived flow is still active.
    public func activeFlows(sinceNs: UInt64) -> [ActiveFlow] {
        var out: [ActiveFlow] = []
        walkFlows { key, state in
            if state.last_ns >= sinceNs, let t = try? RecordDecoder.tuple(key.tuple) { out.append((t, state.last_ns)) }
        }
        return out
    }

    /// Calls `body` for every (key, state) in the `flows` map, with the counts the flow cache held for it.
    func walkFlows(_ body: (srcip_flow_key, srcip_flow_state) -> Void) {
        flushFlowCache()
        var key = srcip_flow_key()
        var next = srcip_flow_key()
        var state = srcip_flow_state()
        var havePrev = false
        while true {
            let rc = havePrev ? bpf_map_get_next_key(flowsFD, &key, &next) : bpf_map_get_next_key(flowsFD, nil, &next)
            if rc != 0 { break }
            if bpf_map_lookup_elem(flowsFD, &next, &state) == 0 { body(next, state) }
            key = next
            havePrev = true
        }
    }
}

extension BPFObject {
    /// Moves the counts the programs' flow cache holds (`bpf/flowcache.h`: packets of established flows counted
    /// outside the `flows` map within the current jiffy) into the map and empties the cache, by running
    /// `srcip_flush` once. Every read of the map's counts goes through it; after a deletion it makes the flow's next
    /// packet a new flow at once. With `key`, only that flow's slot (not a walk of 4096 slots); `flowCounts`, called
    /// for every flow written out, runs it only when `cacheHolds` says the slot has the flow. Cannot fail on a
    /// loaded object (a test run of a loaded program); if it ever did, the counts read would lag by at most one
    /// cache window's packets.
    func flushFlowCache(_ key: srcip_flow_key? = nil) {
        var packet = [UInt8](repeating: 0, count: 14)
        if var key {
            packet = withUnsafeBytes(of: &key) { Array($0) }
        }
        _ = try? Self.testRun(programFD: flushProgramFD, packet: packet)
    }
}

extension BPFObject {
    /// Rebuilds one half of the programs' "may be in `flows`" filter from the map's keys (`bpf/flowfilter.h`: a
    /// handshake packet whose key has no bit there skips its lookup), so the bits of deleted and evicted entries do
    /// not pile up; run after every sweep, alternating halves. Skipped (a walk of the map's 65,536 buckets, ~1 ms)
    /// when the sweep deleted nothing and the programs inserted no flow since the last rebuild: the filter is
    /// then as a rebuild would leave it. A failed run (it cannot fail on a loaded object) leaves stale bits, which
    /// only cost lookups.
    func rebuildFlowFilter(afterDeleting deleted: Bool) {
        let created = try? programCounter(SRCIP_CNT_FLOWS_CREATED)
        let due = flowMapAccess.withLock { () -> Bool in
            if !deleted, let created, created == flowMapAccess.createdAtFilterRebuild { return false }
            flowMapAccess.createdAtFilterRebuild = created
            flowMapAccess.filterRebuilds += 1
            return true
        }
        guard due else { return }
        _ = try? Self.testRun(programFD: filterRebuildProgramFD, packet: [UInt8](repeating: 0, count: 14))
    }

    /// Rebuilds of the filter run so far (sweeps that found it unchanged skip theirs).
    var filterRebuilds: UInt64 { flowMapAccess.withLock { flowMapAccess.filterRebuilds } }
}

extension BPFObject {
    /// Whether the flow cache's slot for `key` holds that flow (with `pendingOnly`, with packets not yet in the
    /// map): one map read, where a flush is a program run. A slot filled just after the read is as if filled just
    /// after the flow was read.
    func cacheHolds(_ key: srcip_flow_key, pendingOnly: Bool) -> Bool {
        var k = key
        var index = withUnsafePointer(to: &k) { srcip_flow_cache_index($0) }
        var slot = srcip_flow_slot()
        guard bpf_map_lookup_elem(flowCacheFD, &index, &slot) == 0, slot.live != 0, !pendingOnly || slot.packets != 0 else {
            return false
        }
        return withUnsafeBytes(of: &slot.key) { a in withUnsafeBytes(of: &k) { b in a.elementsEqual(b) } }
    }
}

/// Serialises user-space deletions from the `flows` map with the census that counts evictions.
final class FlowMapAccess: @unchecked Sendable {
    // Safe: the variables are only read or written between `lock.lock()` and `lock.unlock()` (`withLock`).
    private let lock = NSLock()
    /// Successful user-space deletions.
    var deleted: UInt64 = 0
    /// The programs' count of flows created when the filter was last rebuilt (nil: never, or unreadable).
    var createdAtFilterRebuild: UInt64?
    /// Filter rebuilds run.
    var filterRebuilds: UInt64 = 0

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
