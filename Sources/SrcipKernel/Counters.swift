import CLibbpf
import CSrcipABI
import Foundation

/// The BPF programs' counters, summed over CPUs (srcip_abi.h `enum srcip_counter`).
public struct CounterSnapshot: Sendable, Equatable, CustomStringConvertible {
    public var packets: UInt64 = 0
    public var records: UInt64 = 0
    public var ringbufLost: UInt64 = 0
    public var flowsCreated: UInt64 = 0
    public var flowsEnded: UInt64 = 0
    public var flowInsertFailed: UInt64 = 0
    public var notIP: UInt64 = 0
    public var truncated: UInt64 = 0
    public var badHeader: UInt64 = 0
    public var fragment: UInt64 = 0
    public var unknownProto: UInt64 = 0
    public var ctLookups: UInt64 = 0
    public var ctFound: UInt64 = 0
    /// Of `flowsCreated`: entries that replaced an ended flow of the same key (a new SYN).
    public var flowsReplaced: UInt64 = 0
    /// VXLAN packets (UDP 4789/8472) whose inner flow was followed.
    public var vxlan: UInt64 = 0
    /// UDP to a VXLAN port without a valid VXLAN header: followed as the UDP flow it is.
    public var vxlanNotVXLAN: UInt64 = 0
    /// Valid VXLAN header, but the inner frame truncated, not IP or unparsable: followed as UDP.
    public var vxlanInnerSkipped: UInt64 = 0
    /// TCP SYN/SYN-ACK packets without a flow entry recorded (NEW) but not inserted: the flow's next packet
    /// inserts it, so half-open flows (a SYN flood) never fill the flow map. Not in `flowsCreated`.
    public var handshakesDeferred: UInt64 = 0
    /// Flows user space deleted from the flow map (idle sweeps).
    public var flowsDeleted: UInt64 = 0
    /// Flows the LRU flow map evicted to make room (map full): created − replaced − deleted − live.
    /// Exact once the programs are detached; while they run it can be a few flows off.
    public var flowsEvicted: UInt64 = 0

    public init() {}

    /// Builds a snapshot from raw values indexed by `enum srcip_counter`.
    public init(values: [UInt64]) {
        func v(_ c: srcip_counter) -> UInt64 { Int(c.rawValue) < values.count ? values[Int(c.rawValue)] : 0 }
        packets = v(SRCIP_CNT_PACKETS)
        records = v(SRCIP_CNT_RECORDS)
        ringbufLost = v(SRCIP_CNT_RINGBUF_LOST)
        flowsCreated = v(SRCIP_CNT_FLOWS_CREATED)
        flowsEnded = v(SRCIP_CNT_FLOWS_ENDED)
        flowInsertFailed = v(SRCIP_CNT_FLOW_INSERT_FAILED)
        notIP = v(SRCIP_CNT_NOT_IP)
        truncated = v(SRCIP_CNT_TRUNCATED)
        badHeader = v(SRCIP_CNT_BAD_HEADER)
        fragment = v(SRCIP_CNT_FRAGMENT)
        unknownProto = v(SRCIP_CNT_UNKNOWN_PROTO)
        ctLookups = v(SRCIP_CNT_CT_LOOKUPS)
        ctFound = v(SRCIP_CNT_CT_FOUND)
        flowsReplaced = v(SRCIP_CNT_FLOWS_REPLACED)
        vxlan = v(SRCIP_CNT_VXLAN)
        vxlanNotVXLAN = v(SRCIP_CNT_VXLAN_NOT_VXLAN)
        vxlanInnerSkipped = v(SRCIP_CNT_VXLAN_INNER_SKIPPED)
        handshakesDeferred = v(SRCIP_CNT_HANDSHAKES_DEFERRED)
    }

    /// Field-wise difference (self - earlier), for measuring one interval.
    public func since(_ earlier: CounterSnapshot) -> CounterSnapshot {
        var d = CounterSnapshot()
        d.packets = packets &- earlier.packets
        d.records = records &- earlier.records
        d.ringbufLost = ringbufLost &- earlier.ringbufLost
        d.flowsCreated = flowsCreated &- earlier.flowsCreated
        d.flowsEnded = flowsEnded &- earlier.flowsEnded
        d.flowInsertFailed = flowInsertFailed &- earlier.flowInsertFailed
        d.notIP = notIP &- earlier.notIP
        d.truncated = truncated &- earlier.truncated
        d.badHeader = badHeader &- earlier.badHeader
        d.fragment = fragment &- earlier.fragment
        d.unknownProto = unknownProto &- earlier.unknownProto
        d.ctLookups = ctLookups &- earlier.ctLookups
        d.ctFound = ctFound &- earlier.ctFound
        d.flowsReplaced = flowsReplaced &- earlier.flowsReplaced
        d.vxlan = vxlan &- earlier.vxlan
        d.vxlanNotVXLAN = vxlanNotVXLAN &- earlier.vxlanNotVXLAN
        d.vxlanInnerSkipped = vxlanInnerSkipped &- earlier.vxlanInnerSkipped
        d.handshakesDeferred = handshakesDeferred &- earlier.handshakesDeferred
        d.flowsDeleted = flowsDeleted &- earlier.flowsDeleted
        d.flowsEvicted = flowsEvicted &- earlier.flowsEvicted
        return d
    }

    public var description: String {
        "packets=\(packets) records=\(records) lost=\(ringbufLost) flows=+\(flowsCreated)/-\(flowsEnded) handshakes=\(handshakesDeferred) evicted=\(flowsEvicted) "
            + "insert_failed=\(flowInsertFailed) not_ip=\(notIP) truncated=\(truncated) bad_header=\(badHeader) "
            + "fragment=\(fragment) unknown_proto=\(unknownProto) ct=\(ctFound)/\(ctLookups) "
            + "vxlan=\(vxlan) vxlan_not_vxlan=\(vxlanNotVXLAN) vxlan_inner_skipped=\(vxlanInnerSkipped)"
    }
}

extension BPFObject {
    /// Reads and sums the per-CPU `counters` map, and works out the flow map's evictions (walks the map's keys).
    public func counters() throws -> CounterSnapshot {
        var snapshot = try programCounters()
        let (live, deleted) = flowMapCensus()
        snapshot.flowsDeleted = deleted
        let gone = snapshot.flowsCreated &- snapshot.flowsReplaced
        snapshot.flowsEvicted = gone > deleted &+ live ? gone - deleted - live : 0
        return snapshot
    }

    /// The per-CPU `counters` map, summed.
    func programCounters() throws -> CounterSnapshot {
        CounterSnapshot(values: try (0..<SRCIP_CNT__MAX.rawValue).map { try programCounter(srcip_counter(rawValue: $0)) })
    }

    /// One per-CPU counter, summed.
    func programCounter(_ counter: srcip_counter) throws -> UInt64 {
        let cpus = Int(libbpf_num_possible_cpus())
        guard cpus > 0 else { throw KernelError.systemCall("libbpf_num_possible_cpus", errno: -Int32(cpus)) }
        var perCPU = [UInt64](repeating: 0, count: cpus)
        var key = counter.rawValue
        guard bpf_map_lookup_elem(countersFD, &key, &perCPU) == 0 else {
            throw KernelError.mapFailed(map: "counters", operation: "lookup", errno: errno)
        }
        return perCPU.reduce(0, &+)
    }
}
