#if canImport(Glibc)
import Glibc
#endif
import SrcipCore
import SrcipTestbed

/// `srcip-bench --census MINUTES`: the correlator and `--check`'s verification under a simulated steady load like
/// `make soak`'s (230 connections/s, a Service change every 2 s, some requests never answered), in simulated time as
/// fast as it runs; samples every long-lived collection's size and the RSS once per simulated minute.
enum SteadyLoadCensus {
    /// One simulated minute's end.
    struct Sample: Sendable {
        var minute: Int
        var connections: Int
        var residentBytes: Int
        var correlator: CorrelatorCensus
        var liveFlows: Int
        var verificationRows: Int
        var verificationEntries: Int

        var line: String {
            "minute \(minute): \(connections) connections, RSS \(residentBytes / 1_048_576) MB; \(correlator); "
                + "verification rows \(verificationRows) entries \(verificationEntries); live \(liveFlows)"
        }
    }

    static func run(minutes: Int, perSecond: Int = 230, report: (Sample) -> Void = { print($0.line) }) {
        let ctx = SyntheticTraffic.context()
        var config = CorrelatorConfig(idleTimeoutNs: 122_000_000_000)
        config.closeLingerNs = 1_000_000_000
        var c = FlowCorrelator(context: ctx, config: config)
        var v = VerificationBuilder(clusterWide: false)
        let churn = Service(namespace: "bench", name: "churn", type: .nodePort, clusterIP: .v4(0x0A60_0015),
                            ports: [ServicePort(name: nil, proto: .tcp, port: 80, nodePort: 30081,
                                                endpoints: [ServiceEndpoint(ip: .v4(0x0AF4_0302), port: 8080, nodeName: "node2")])])
        let catalogs = [ctx.catalog, ServiceCatalog(services: ctx.catalog.services + [churn])]
        let spacing = 1_000_000_000 / UInt64(perSecond)
        var i = 0
        for second in 0..<(minutes * 60) {
            let secondNs = UInt64(second + 1) * 1_000_000_000
            for _ in 0..<perSecond {
                let base = secondNs + UInt64(i % perSecond) * spacing
                let steps = i % 16 == 0 ? 1 : SyntheticTraffic.recordsPerConnection   // 1/16 never answered
                for step in 0..<steps {
                    let o = SyntheticTraffic.observation(connection: i, step: step, baseNs: base &- UInt64(i) * 1_000)
                    c.add(o)
                }
                for r in c.drainFinished() { v.add(record: r) }
                i += 1
            }
            if second % 2 == 0 {
                c.catalogChangePending(sinceNs: secondNs)
                c.update(catalog: catalogs[(second / 2) % 2], validFromNs: secondNs, readAtNs: secondNs + 200_000_000)
            }
            if second % 5 == 0 { c.noteICMPRateLimited(count: 3, fromNs: secondNs, toNs: secondNs + 900_000_000) }
            c.advance(toNs: secondNs + 999_000_000)
            for r in c.drainFinished() { v.add(record: r) }
            if (second + 1) % 60 == 0 {
                let size = v.size
                report(Sample(minute: (second + 1) / 60, connections: i, residentBytes: CorrelatorBenchmark.heapInUse(),
                              correlator: c.census, liveFlows: c.liveFlowCount, verificationRows: size.rows,
                              verificationEntries: size.entries))
            }
        }
    }
}
