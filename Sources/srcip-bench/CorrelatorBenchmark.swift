#if canImport(Glibc)
import Glibc
#endif
import SrcipCore
import SrcipKernel
import SrcipTestbed

/// Measured correlator throughput and memory, for `make bench`.
struct CorrelatorBenchmarkResult: Sendable, CustomStringConvertible {
    var observations: Int
    var seconds: Double
    var recordsPerSecond: Double
    var flowsEmitted: Int
    var liveFlowsMeasured: Int
    /// Resident bytes per live flow (RSS growth while the flows were created), including the correlator's indexes.
    var bytesPerLiveFlow: Double
    /// The same from type layouts (`FlowCorrelator.estimatedBytesPerFlow`), without allocator overhead.
    var estimatedBytesPerLiveFlow: Int

    var description: String {
        let mb = bytesPerLiveFlow * 100_000 / 1_000_000
        return "correlator: \(observations) observations in \(fmt(seconds)) s = \(Int(recordsPerSecond)) records/s, "
            + "\(flowsEmitted) flows; memory \(Int(bytesPerLiveFlow)) B per live flow (\(fmt(mb)) MB per 100,000) over \(liveFlowsMeasured) live flows (layout estimate \(estimatedBytesPerLiveFlow) B)"
    }

    private func fmt(_ v: Double) -> String {
        let r = (v * 100).rounded() / 100
        return String(r)
    }
}

/// Feeds synthetic observations through `FlowCorrelator` and measures it.
enum CorrelatorBenchmark {
    /// Runs `observations` records (whole connections, `concurrency` interleaved at a time), then measures the heap
    /// growth of `liveFlows` half-open connections (5 views each, not ended).
    static func run(observations: Int = 2_000_000, concurrency: Int = 10_000, liveFlows: Int = 100_000) -> CorrelatorBenchmarkResult {
        let ctx = SyntheticTraffic.context()
        let per = SyntheticTraffic.recordsPerConnection
        let connections = max(1, observations / per)
        var emitted = 0
        var fed = 0
        let start = KernelClock.nowSeconds()
        do {
            var c = FlowCorrelator(context: ctx, config: CorrelatorConfig(maxLiveFlows: max(concurrency * 2, 1024)))
            var batch = 0
            while batch < connections {
                let end = min(connections, batch + concurrency)
                for step in 0..<per {
                    for i in batch..<end {
                        c.add(SyntheticTraffic.observation(connection: i, step: step))
                        fed += 1
                    }
                    emitted += c.drainFinished().count
                }
                batch = end
            }
            emitted += c.flush().count
        }
        let seconds = KernelClock.nowSeconds() - start

        var c = FlowCorrelator(context: ctx, config: CorrelatorConfig(maxLiveFlows: liveFlows + 1))
        let empty = heapInUse()
        for i in 0..<liveFlows {
            for step in 0..<5 { c.add(SyntheticTraffic.observation(connection: i, step: step)) }
        }
        let after = heapInUse()
        let live = c.liveFlowCount
        let perFlow = live > 0 ? Double(after - empty) / Double(live) : 0
        withExtendedLifetime(c) {}
        return CorrelatorBenchmarkResult(observations: fed, seconds: seconds, recordsPerSecond: Double(fed) / max(seconds, 1e-9),
                                         flowsEmitted: emitted, liveFlowsMeasured: live, bytesPerLiveFlow: perFlow,
                                         estimatedBytesPerLiveFlow: FlowCorrelator.estimatedBytesPerFlow())
    }

    /// Resident set size in bytes (/proc/self/statm). Swift's Glibc module does not export malloc.h's
    /// `mallinfo2`, so the heap is measured as RSS growth; the measurement allocates up front to make that meaningful.
    static func heapInUse() -> Int {
        guard let f = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(f) }
        var size = 0, resident = 0
        guard withUnsafeMutablePointer(to: &size, { s in withUnsafeMutablePointer(to: &resident) { r in
            withVaList([s, r]) { vfscanf(f, "%ld %ld", $0) }
        } }) == 2 else { return 0 }
        return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
