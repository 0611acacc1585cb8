import Glibc
import SrcipCore
import SrcipExport
import SrcipKernel

/// The running kernel's release (`uname -r`), for the run record.
enum KernelRelease {
    static var current: String {
        var u = utsname()
        guard uname(&u) == 0 else { return "unknown" }
        return withUnsafeBytes(of: u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}

extension KernelClock {
    /// Wall-clock time now, in Unix nanoseconds.
    static func unixNs() -> Int64 { Int64(bitPattern: nowNs()) &+ unixOffsetNs() }
}

extension TraceSummaryRecord {
    /// The summary line from the counters the exit summary prints (`flows`/`interim` are filled in by `FlowOutput`,
    /// `records` by `--raw`'s output, which has no correlator: `correlator` nil leaves its counters out).
    static func make(node: String, counters c: CounterSnapshot, received: UInt64, bufferDropped: UInt64,
                     correlator: CorrelatorStats?, interfaces: InterfaceCounts) -> TraceSummaryRecord {
        var counters: [(name: String, value: UInt64)] = [
            ("bpf_records_received", received), ("ring_buffer_lost", c.ringbufLost), ("consumer_buffer_dropped", bufferDropped),
            ("bpf_flows_created", c.flowsCreated), ("bpf_flows_ended", c.flowsEnded), ("bpf_flows_evicted", c.flowsEvicted),
            ("bpf_flows_not_tracked", c.flowInsertFailed),
            ("bpf_handshakes_recorded_untracked", c.handshakesDeferred), ("packets_seen", c.packets), ("packets_not_ip", c.notIP),
            ("packets_malformed", c.truncated + c.badHeader), ("packets_fragments", c.fragment),
            ("packets_other_protocols", c.unknownProto),
        ]
        if let s = correlator {
            counters += [("correlator_evicted", s.flowsEvicted), ("correlator_late_records", s.lateRecords),
                         ("correlator_replies_without_request", s.unmatchedReplies),
                         ("correlator_new_flows_sampled_out", s.newFlowsSampledOut), ("correlator_records_sampled_out", s.recordsSampledOut),
                         ("correlator_sampling_divisor_max", s.samplingDivisorMax)]
        }
        return TraceSummaryRecord(node: node, endNs: KernelClock.unixNs(), flows: 0, interim: 0, counters: counters,
                                  interfacesAtStart: interfaces.atStart, interfacesAttachedLater: interfaces.attachedLater,
                                  interfacesRemoved: interfaces.removed)
    }
}
