import Foundation
import Testing
import SrcipCore
import SrcipTestbed
@testable import srcip_bench

@Suite struct CorrelatorBenchmarkTests {
    /// Small by default; set SRCIP_BENCH_OBSERVATIONS (e.g. 2000000) for a real measurement in a release build.
    @Test func benchmarkRunsAndEmitsEveryConnection() {
        let n = ProcessInfo.processInfo.environment["SRCIP_BENCH_OBSERVATIONS"].flatMap(Int.init) ?? 90_000
        let live = ProcessInfo.processInfo.environment["SRCIP_BENCH_LIVE_FLOWS"].flatMap(Int.init) ?? 20_000
        let r = CorrelatorBenchmark.run(observations: n, concurrency: 1_000, liveFlows: live)
        print(r)
        #expect(r.observations == n / SyntheticTraffic.recordsPerConnection * SyntheticTraffic.recordsPerConnection)
        #expect(r.flowsEmitted == n / SyntheticTraffic.recordsPerConnection)
        #expect(r.liveFlowsMeasured == live)
        #expect(r.recordsPerSecond > 0)
    }

    @Test func syntheticConnectionIsOneSNATedFlow() throws {
        var c = FlowCorrelator(context: SyntheticTraffic.context())
        for step in 0..<SyntheticTraffic.recordsPerConnection { c.add(SyntheticTraffic.observation(connection: 3, step: step)) }
        let records = c.drainFinished()
        let r = try #require(records.first)
        #expect(records.count == 1 && r.verdict == .snat && r.expected == .snat && r.service?.name == "nodeport")
        #expect(r.packets == 6 && r.replyPackets == 5 && c.liveFlowCount == 0)
    }
}
