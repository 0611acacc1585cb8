import SrcipCore
import SrcipKernel

/// Warns on standard error while tracing when records start being lost: ring buffer full, BPF flow-map evictions,
/// the correlator's live-flow bound, the consumer buffer. At most one line per `interval`, carrying what was lost
/// since the previous line and the totals.
struct LossMonitor {
    /// Loss counters at one moment.
    struct Losses: Equatable {
        var ringBuffer: UInt64 = 0
        var mapEvicted: UInt64 = 0
        var correlatorEvicted: UInt64 = 0
        var consumerDropped: UInt64 = 0
        /// New flows not traced (`--max-new-flows` sampling).
        var sampledOut: UInt64 = 0

        var total: UInt64 { ringBuffer + mapEvicted + correlatorEvicted + consumerDropped + sampledOut }

        func since(_ o: Losses) -> Losses {
            Losses(ringBuffer: ringBuffer &- o.ringBuffer, mapEvicted: mapEvicted &- o.mapEvicted,
                   correlatorEvicted: correlatorEvicted &- o.correlatorEvicted, consumerDropped: consumerDropped &- o.consumerDropped,
                   sampledOut: sampledOut &- o.sampledOut)
        }

        var text: String {
            "ring buffer full \(ringBuffer) records lost, BPF flow map full \(mapEvicted) flows evicted, "
                + "correlator bound \(correlatorEvicted) flows written early, consumer buffer full \(consumerDropped) records dropped"
                + (sampledOut > 0 ? ", new flows over --max-new-flows \(sampledOut) not traced" : "")
        }
    }

    let intervalNs: UInt64
    private var reported = Losses()
    private var lastWarningNs: UInt64?

    init(intervalNs: UInt64 = 10_000_000_000) { self.intervalNs = intervalNs }

    /// The warning to print now, if anything was lost since the last one and the rate limit allows it.
    mutating func check(_ now: Losses, atNs t: UInt64) -> String? {
        let new = now.since(reported)
        guard new.total > 0 else { return nil }
        if let last = lastWarningNs, t &- last < intervalNs { return nil }
        lastWarningNs = t
        reported = now
        return "losing records: since the last report \(new.text); in total \(now.text)"
    }
}
