import Testing
@testable import srcip_bench

@Suite struct SynReplayBenchTests {
    /// The replayed flood is what the lab's router records: each SYN's three records join into one connection, which
    /// is either written (one flow, both NAT directions) or sampled out whole past `--max-new-flows`.
    @Test func everySynIsOneFlowWrittenOrSampledOut() {
        let r = SynReplayBench.run(syns: 30_000, synsPerSecond: 70_000, maxNewFlows: 10_000)
        // Refused connections are counted once while `recent` remembers them: a handful of slot collisions count twice.
        #expect((30_000...30_030).contains(r.flowsWritten + Int(r.sampledOut)), "written \(r.flowsWritten), sampled out \(r.sampledOut)")
        #expect(r.sampledOut > 10_000 && r.flowsWritten >= 10_000, "written \(r.flowsWritten), sampled out \(r.sampledOut)")
        #expect(r.cpuSeconds > 0 && r.usPerSyn > 0)
        let all = SynReplayBench.run(syns: 5_000, synsPerSecond: 70_000, maxNewFlows: 0)
        #expect(all.flowsWritten == 5_000 && all.sampledOut == 0)
    }
}
