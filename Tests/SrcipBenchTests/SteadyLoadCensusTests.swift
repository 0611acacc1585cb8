import Testing
import SrcipCore
@testable import srcip_bench

/// `srcip-bench --census`: under a steady simulated load with a Service change every 2 s, every long-lived collection
/// of the correlator and of `--check`'s verification stops growing once the idle timeout and the finished-flow ring
/// have filled (minute 3), however many flows follow.
@Suite struct SteadyLoadCensusTests {
    @Test func collectionsStayFlatUnderSteadyLoad() {
        var samples: [SteadyLoadCensus.Sample] = []
        SteadyLoadCensus.run(minutes: 8, perSecond: 60) { samples.append($0) }
        #expect(samples.count == 8)
        guard let warm = samples.dropFirst(2).first, let last = samples.last else { return }
        let config = CorrelatorConfig()
        for s in samples.dropFirst(3) {
            let c = s.correlator
            #expect(c.slots <= warm.correlator.slots + 64, "minute \(s.minute): \(c)")
            #expect(c.tupleIndex <= warm.correlator.tupleIndex + 256 && c.conntrackIndex <= warm.correlator.conntrackIndex + 64)
            #expect(c.fingerprintIndex <= warm.correlator.fingerprintIndex + 64)
            #expect(c.finishedRing <= config.finishedMemory && c.finishedTuples + c.finishedConntrack <= config.finishedMemory)
            #expect(c.catalogVersions <= config.maxCatalogVersions && c.parked == 0)
            #expect(c.icmpSuppressed <= warm.correlator.icmpSuppressed + 1 && c.icmpFromNode <= 4096 && c.reusedTupleFloors <= 4096)
            #expect(c.closingQueue <= 2 * 4096 + 60 * 2)
            #expect(s.verificationRows == warm.verificationRows)
        }
        #expect(last.connections == 8 * 60 * 60)
    }
}
