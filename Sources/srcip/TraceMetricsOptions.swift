import ArgumentParser
import Foundation
import SrcipCore
import SrcipKernel
import SrcipMetrics
import SrcipVersion

/// `trace --metrics ADDR:PORT`: Prometheus metrics and a health endpoint while tracing (off by default).
struct MetricsOptions: ParsableArguments {
    @Option(name: .customLong("metrics"), help: ArgumentHelp(
        "Serve Prometheus metrics on http://ADDR:PORT/metrics and a health check on /healthz while tracing. A bare PORT listens on 127.0.0.1 only; give an address (e.g. the node's IP, 0.0.0.0, [::1]:9476) to let others scrape. Off by default.",
        valueName: "ADDR:PORT"))
    var metrics: String?

    func validate() throws {
        guard let metrics else { return }
        do { _ = try MetricsAddress(parsing: metrics) } catch { throw ValidationError(error.description) }
    }

    /// Starts the server when `--metrics` was given: its address is bound before this returns (a port in use fails
    /// the trace at start). The catalog built at start counts as the first refresh.
    func start(catalogServices: Int) throws -> TraceMetricsFeed? {
        guard let metrics else { return nil }
        let address = try MetricsAddress(parsing: metrics)
        let values = TraceMetrics(version: SrcipVersion.current)
        values.catalogRefreshed(services: catalogServices)
        let server: MetricsServer
        do { server = try MetricsServer(metrics: values, address: address) } catch {
            throw ValidationError("--metrics \(address): cannot listen (\(error)); choose a free port or an address of this network namespace")
        }
        return TraceMetricsFeed(metrics: values, server: server)
    }
}

/// The trace consumer's side of `--metrics`: what it writes and what it reads from the tracer at every sweep go into
/// `metrics`, which the server renders under its lock.
final class TraceMetricsFeed {
    /// The values the server exposes; `catalogRefreshed(services:)` is for whoever rebuilds the Service catalog.
    let metrics: TraceMetrics
    let server: MetricsServer

    init(metrics: TraceMetrics, server: MetricsServer) {
        self.metrics = metrics
        self.server = server
    }

    /// A flow record was written.
    func flowWritten(_ r: FlowRecord) { metrics.flowWritten(r) }

    /// The Service catalog was rebuilt (for the catalog refresh; the catalog built at start is already counted).
    func catalogRefreshed(services: Int) { metrics.catalogRefreshed(services: services) }

    /// Reads the tracer's counters (since `start`), its interfaces and, while kernel.bpf_stats_enabled is 1, its
    /// programs' run statistics.
    func sweep(tracer: Tracer, since start: CounterSnapshot, correlator: CorrelatorStats?, consumerDropped: UInt64) {
        var g = TraceGauges()
        if let c = try? tracer.counters().since(start) {
            g.losses = LossCounts(ringBuffer: c.ringbufLost, bpfMapEviction: c.flowsEvicted,
                                  correlatorBound: correlator?.flowsEvicted ?? 0, consumerBuffer: consumerDropped)
        } else {
            g.losses.consumerBuffer = consumerDropped
        }
        g.newFlowsSampledOut = correlator?.newFlowsSampledOut ?? 0
        g.samplingDivisor = correlator?.samplingDivisorMax ?? 1
        g.interfacesAttached = tracer.interfaces.count
        g.interfaceAttachFailures = tracer.interfaceCounts.failed
        g.recordsReceived = tracer.recordsReceived
        if Self.bpfStatsEnabled() {
            g.programs = Hook.allCases.compactMap { hook in
                (try? tracer.object.runStats(hook)).map {
                    ProgramSample(program: $0.name, hook: hook.description, runCount: $0.runCount, runTimeNs: $0.runTimeNs)
                }
            }
        }
        metrics.update(g)
    }

    func stop() { server.stop() }

    /// Whether the kernel is counting BPF program runs (`sysctl kernel.bpf_stats_enabled=1`).
    static func bpfStatsEnabled() -> Bool {
        (try? String(contentsOfFile: "/proc/sys/kernel/bpf_stats_enabled", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) == "1"
    }
}
