import Synchronization
import SrcipCore

/// How many distinct label values a trace's metrics keep before folding the rest into `other`.
public struct MetricsLimits: Sendable, Equatable {
    /// Distinct Services (`namespace/name`) in `srcip_flows_total`.
    public var services = 200
    /// Distinct (address, device, address_device) label sets in `srcip_snat_flows_total`.
    public var snatPairs = 64
    /// Distinct BPF program labels (srcip loads two; more only after reloads).
    public var programs = 16

    public init(services: Int = 200, snatPairs: Int = 64, programs: Int = 16) {
        self.services = services
        self.snatPairs = snatPairs
        self.programs = programs
    }
}

/// Records lost while tracing, by cause; cumulative since the trace started.
public struct LossCounts: Sendable, Equatable {
    public var ringBuffer: UInt64 = 0
    public var bpfMapEviction: UInt64 = 0
    public var correlatorBound: UInt64 = 0
    public var consumerBuffer: UInt64 = 0

    public init(ringBuffer: UInt64 = 0, bpfMapEviction: UInt64 = 0, correlatorBound: UInt64 = 0, consumerBuffer: UInt64 = 0) {
        self.ringBuffer = ringBuffer
        self.bpfMapEviction = bpfMapEviction
        self.correlatorBound = correlatorBound
        self.consumerBuffer = consumerBuffer
    }
}

/// Run count and run time of one BPF program (kernel.bpf_stats_enabled).
public struct ProgramSample: Sendable, Equatable {
    public var program: String
    public var hook: String
    public var runCount: UInt64
    public var runTimeNs: UInt64

    public init(program: String, hook: String, runCount: UInt64, runTimeNs: UInt64) {
        self.program = program
        self.hook = hook
        self.runCount = runCount
        self.runTimeNs = runTimeNs
    }
}

/// What the trace consumer reads from the tracer at every sweep (about once a second).
public struct TraceGauges: Sendable, Equatable {
    public var losses = LossCounts()
    /// New flows not traced under `--max-new-flows` sampling, and the largest sampling divisor (1 in N traced).
    public var newFlowsSampledOut: UInt64 = 0
    public var samplingDivisor: UInt64 = 1
    /// Interfaces traced now.
    public var interfacesAttached = 0
    /// Interfaces that failed to attach since the start.
    public var interfaceAttachFailures = 0
    /// BPF records read from the ring buffer since the start.
    public var recordsReceived: UInt64 = 0
    /// Program statistics; nil while kernel.bpf_stats_enabled is off (the metrics are then left out).
    public var programs: [ProgramSample]?

    public init() {}
}

/// The metrics of one `srcip trace`: updated by the trace consumer (flows written, gauges at each sweep, catalog
/// refreshes), read by the metrics server as a snapshot under the same lock; label values are bounded by `limits`.
public final class TraceMetrics: Sendable {
    private struct FlowKey: Hashable { var service, verdict, expectationMet: String }
    private struct SNATKey: Hashable { var address, device, addressDevice: String }

    private struct State {
        var flows: [FlowKey: UInt64] = [:]
        var snat: [SNATKey: UInt64] = [:]
        var services: BoundedLabel
        var snatPairs: BoundedLabel
        var programLabels: BoundedLabel
        var catalogRefreshes: UInt64 = 0
        var catalogServices = 0
        var gauges = TraceGauges()
    }

    public let version: String
    public let limits: MetricsLimits
    private let state: Mutex<State>

    public init(version: String, limits: MetricsLimits = MetricsLimits()) {
        self.version = version
        self.limits = limits
        state = Mutex(State(services: BoundedLabel(limit: limits.services), snatPairs: BoundedLabel(limit: limits.snatPairs),
                            programLabels: BoundedLabel(limit: limits.programs)))
    }

    /// A flow record was written: counts it by Service, verdict and expectation, and its SNAT by the replacing
    /// address, the device where the translation was seen (`snat_interface`) and the device that owns the address
    /// (`snat_address_interface`).
    public func flowWritten(_ r: FlowRecord) {
        state.withLock { s in
            let service = r.service.map { s.services.map($0.id) } ?? "none"
            let met = r.expectationMet.map { $0 ? "true" : "false" } ?? "unknown"
            s.flows[FlowKey(service: service, verdict: r.verdict.rawValue, expectationMet: met), default: 0] += 1
            if r.snat {
                var key = SNATKey(address: r.translated.map { $0.src.description } ?? "unknown", device: r.snatInterface ?? "unknown",
                                  addressDevice: r.snatAddressInterface ?? "unknown")
                if s.snatPairs.map("\(key.address)|\(key.device)|\(key.addressDevice)") == BoundedLabel.other {
                    key = SNATKey(address: BoundedLabel.other, device: BoundedLabel.other, addressDevice: BoundedLabel.other)
                }
                s.snat[key, default: 0] += 1
            }
        }
    }

    /// The Service catalog was (re)built with `services` Services.
    public func catalogRefreshed(services: Int) {
        state.withLock { s in
            s.catalogRefreshes += 1
            s.catalogServices = services
        }
    }

    /// The tracer's counters at a sweep.
    public func update(_ gauges: TraceGauges) {
        state.withLock { $0.gauges = gauges }
    }

    /// Every family, rendered from a snapshot taken under the lock.
    public func exposition() -> String { Exposition.render(families()) }

    /// The metric families now (what `exposition()` renders).
    public func families() -> [MetricFamily] {
        let s = state.withLock { s in
            // Program labels are bounded here, under the lock, as they are first seen.
            if let programs = s.gauges.programs {
                s.gauges.programs = programs.map { p in
                    var p = p
                    if s.programLabels.map("\(p.program)|\(p.hook)") == BoundedLabel.other { (p.program, p.hook) = ("other", "other") }
                    return p
                }
            }
            return s
        }
        typealias L = MetricFamily.Label
        var out = [
            MetricFamily(name: "srcip_build_info", help: "srcip's version (git describe at build time); always 1.", kind: .gauge,
                         samples: [.init([L("version", version)], 1)]),
            MetricFamily(name: "srcip_flows_total",
                         help: "Flow records written, by Service (namespace/name; none without one; other past the label limit), verdict and whether it met what Kubernetes documents (true, false, unknown).",
                         kind: .counter,
                         samples: s.flows.sorted { ($0.key.service, $0.key.verdict, $0.key.expectationMet) < ($1.key.service, $1.key.verdict, $1.key.expectationMet) }
                            .map { .init([L("service", $0.key.service), L("verdict", $0.key.verdict), L("expectation_met", $0.key.expectationMet)], Double($0.value)) }),
            MetricFamily(name: "srcip_snat_flows_total",
                         help: "Flow records with source NAT, by the replacing source address, the device where the translation was seen (snat_interface) and the device that owns the address (snat_address_interface); unknown when not known, other past the label limit.",
                         kind: .counter,
                         samples: s.snat.sorted { ($0.key.address, $0.key.device, $0.key.addressDevice) < ($1.key.address, $1.key.device, $1.key.addressDevice) }
                            .map { .init([L("address", $0.key.address), L("device", $0.key.device), L("address_device", $0.key.addressDevice)],
                                         Double($0.value)) }),
            MetricFamily(name: "srcip_records_lost_total",
                         help: "Records lost, by cause: ring_buffer (BPF ring buffer full), bpf_map_eviction (BPF flow map full), correlator_bound (flows written early at the correlator's memory bound), consumer_buffer (events the consumer's buffer could not take).",
                         kind: .counter,
                         samples: [("ring_buffer", s.gauges.losses.ringBuffer), ("bpf_map_eviction", s.gauges.losses.bpfMapEviction),
                                   ("correlator_bound", s.gauges.losses.correlatorBound), ("consumer_buffer", s.gauges.losses.consumerBuffer)]
                            .map { .init([L("cause", $0.0)], Double($0.1)) }),
            MetricFamily(name: "srcip_flows_sampled_out_total",
                         help: "New flows not traced because they came faster than --max-new-flows per second (sampling under a flood).",
                         kind: .counter, samples: [.init([], Double(s.gauges.newFlowsSampledOut))]),
            MetricFamily(name: "srcip_flow_sampling_divisor_max", help: "Fewest new flows traced while sampling: 1 in this many (1: never sampled).",
                         kind: .gauge, samples: [.init([], Double(s.gauges.samplingDivisor))]),
            MetricFamily(name: "srcip_bpf_records_received_total", help: "BPF records read from the ring buffer.", kind: .counter,
                         samples: [.init([], Double(s.gauges.recordsReceived))]),
            MetricFamily(name: "srcip_interfaces_attached", help: "Interfaces traced now.", kind: .gauge,
                         samples: [.init([], Double(s.gauges.interfacesAttached))]),
            MetricFamily(name: "srcip_interface_attach_failures_total", help: "Interfaces that could not be attached.", kind: .counter,
                         samples: [.init([], Double(s.gauges.interfaceAttachFailures))]),
            MetricFamily(name: "srcip_catalog_refreshes_total", help: "Times the Service catalog was built.", kind: .counter,
                         samples: [.init([], Double(s.catalogRefreshes))]),
            MetricFamily(name: "srcip_catalog_services", help: "Services in the current catalog.", kind: .gauge,
                         samples: [.init([], Double(s.catalogServices))]),
        ]
        if let programs = s.gauges.programs {
            let merged = Dictionary(programs.map { ("\($0.program)|\($0.hook)", $0) }) { a, b in
                ProgramSample(program: a.program, hook: a.hook, runCount: a.runCount &+ b.runCount, runTimeNs: a.runTimeNs &+ b.runTimeNs)
            }.values.sorted { ($0.program, $0.hook) < ($1.program, $1.hook) }
            out.append(MetricFamily(name: "srcip_bpf_program_runs_total",
                                    help: "Runs of srcip's BPF programs (only while kernel.bpf_stats_enabled is 1).", kind: .counter,
                                    samples: merged.map { .init([L("program", $0.program), L("hook", $0.hook)], Double($0.runCount)) }))
            out.append(MetricFamily(name: "srcip_bpf_program_run_seconds_total",
                                    help: "Time spent in srcip's BPF programs (only while kernel.bpf_stats_enabled is 1).", kind: .counter,
                                    samples: merged.map { .init([L("program", $0.program), L("hook", $0.hook)], Double($0.runTimeNs) / 1e9) }))
        }
        return out
    }
}
