import Foundation
import SrcipCore
import SrcipExport
import SrcipKernel
import SrcipLabCluster

// `make bench`: every number in one run, printed as a table of measured values and targets.
let usage = """
    usage: srcip-bench [--seconds N] [--rounds N] [--connections N] [--skip-nat] [--skip-lab] [--skip-side]
                       [--side-rounds N] [--json PATH (default .build/bench.json)] [--skip-catalog]
                       [--catalog-services N] [--catalog-changes N] [--catalog-mode iptables|nftables]
                       [--side-loads syn_flood,udp64,bulk_tcp] [--only-side]
                       [--skip-scale] [--only-scale] [--scale-flows N] [--scale-default-only]
           srcip-bench --census MINUTES
           srcip-bench --syn-replay SYNS [--syn-rate N (70000)] [--max-new-flows N (10000)] [--rounds N (1)]
    Runs every benchmark of `make bench` (as root: it builds network namespaces) and prints measured values beside
    their targets; --skip-* leaves a section out, --only-* runs one section.
    """
let valueOptions: Set = ["--seconds", "--rounds", "--connections", "--side-rounds", "--json", "--catalog-services",
                         "--catalog-changes", "--catalog-mode", "--side-loads", "--scale-flows", "--census", "--syn-replay",
                         "--syn-rate", "--max-new-flows"]
let flagOptions: Set = ["--skip-nat", "--skip-lab", "--skip-side", "--skip-catalog", "--only-side", "--skip-scale",
                        "--only-scale", "--scale-default-only"]
let args = Array(CommandLine.arguments.dropFirst())
do {
    var i = 0
    while i < args.count {
        let a = args[i]
        if a == "--help" || a == "-h" { print(usage); exit(0) }
        if valueOptions.contains(a) {
            guard i + 1 < args.count else { FileHandle.standardError.write(Data("srcip-bench: \(a) needs a value\n\(usage)\n".utf8)); exit(64) }
            i += 2
        } else if flagOptions.contains(a) {
            i += 1
        } else {
            FileHandle.standardError.write(Data("srcip-bench: unknown option '\(a)'\n\(usage)\n".utf8))
            exit(64)
        }
    }
}
func option(_ name: String, _ fallback: Int) -> Int {
    guard let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) else { return fallback }
    return v
}
if args.contains("--syn-replay") {
    // Consumer CPU per SYN of a replayed SYN flood (SynReplayBench); repeated runs print one line each.
    for _ in 0..<option("--rounds", 1) {
        let r = SynReplayBench.run(syns: option("--syn-replay", 1_000_000), synsPerSecond: option("--syn-rate", 70_000),
                                   maxNewFlows: option("--max-new-flows", 10_000))
        print("syn replay: \(r.syns) SYNs, \(String(format: "%.3f", r.usPerSyn)) µs CPU per SYN (decode + correlate + JSON), "
              + "flush of \(r.flowsWritten) flows \(String(format: "%.3f", r.flushSeconds)) s, \(r.sampledOut) new flows sampled out")
    }
    exit(0)
}
if args.contains("--census") {
    SteadyLoadCensus.run(minutes: option("--census", 10))
    exit(0)
}
let seconds = option("--seconds", 3)
let rounds = option("--rounds", 7)
let connections = option("--connections", 200)
let skipNAT = args.contains("--skip-nat") || args.contains("--only-side")
let skipLab = args.contains("--skip-lab") || args.contains("--only-side")
let skipSide = args.contains("--skip-side")
let jsonPath = args.firstIndex(of: "--json").flatMap { $0 + 1 < args.count ? args[$0 + 1] : nil } ?? ".build/bench.json"
/// Everything measured, written to `jsonPath` at the end.
var benchJSON: [String: Any] = [:]
let onlyScale = args.contains("--only-scale")
let onlySide = args.contains("--only-side") || onlyScale
let skipCatalog = args.contains("--skip-catalog") || onlySide
/// `--side-loads`: prefixes of the side-by-side loads to run (e.g. `syn` for the SYN flood alone).
let sideLoads: [SideBySideBench.Load] = {
    guard let i = args.firstIndex(of: "--side-loads"), i + 1 < args.count else { return SideBySideBench.Load.allCases }
    let names = args[i + 1].split(separator: ",")
    return SideBySideBench.Load.allCases.filter { l in names.contains { l.rawValue.hasPrefix($0) } }
}()

func row(_ what: String, _ value: String, _ target: String = "") {
    let pad = { (s: String, n: Int) in s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
    print("  " + pad(what, 68) + pad(value, 18) + target)
}
func fmt(_ v: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", v) }

print("srcip benchmarks — \(ProcessInfo.processInfo.processorCount) CPUs, kernel \(kernelRelease())")
if !onlySide {
    print("")
    print("Consumer")
    let decode = DecodeBench.run()
    row("records decoded per second (one core)", fmt(decode.perSecond, 0), "target ≥ 1,000,000")

    print("")
    print("Correlation")
    let corr = CorrelatorBenchmark.run(observations: 2_000_000, concurrency: 10_000, liveFlows: 100_000)
    row("records correlated per second (one core)", fmt(corr.recordsPerSecond, 0), "target ≥ 500,000")
    row("memory per 100,000 live flows (MB, resident)", fmt(corr.bytesPerLiveFlow * 100_000 / 1e6), "target ≤ 100")
    row("bytes per live flow (layout estimate)", "\(corr.estimatedBytesPerLiveFlow)")
}

if !skipLab {
    print("")
    print("Lab (3 nodes × 9 pods, \(min(rounds, 3)) rounds per proxy mode)")
    for r in try LabBench.run(rounds: min(rounds, 3)) {
        row("lab up, \(r.mode.rawValue) (s)", r.up.map { fmt($0, 2) }.joined(separator: ", "), "target < 5")
        row("lab down, \(r.mode.rawValue) (s)", r.down.map { fmt($0, 2) }.joined(separator: ", "), "target < 5")
    }
    for r in try LabBench.run(rounds: 1, datapaths: true) {
        row("lab up / down, \(r.cni.rawValue) \(r.ipFamily.rawValue), iptables (s)",
            "\(fmt(r.up[0], 2)) / \(fmt(r.down[0], 2))", "target < 5")
    }
}

if !skipCatalog {
    let n = option("--catalog-services", 5000)
    print("")
    print("Following Services (\(n) Services, one added or removed per second, --services auto)")
    let modeName = args.firstIndex(of: "--catalog-mode").flatMap { $0 + 1 < args.count ? args[$0 + 1] : nil }
    let modes = ProxyMode.allCases.filter { modeName == nil || $0.rawValue == modeName }
    for r in try await CatalogRefreshBench.run(services: n, changes: option("--catalog-changes", 6), modes: modes) {
        let cpu = r.cpuPerRefresh.sorted()[r.cpuPerRefresh.count / 2]
        row("\(r.mode.rawValue): CPU seconds per refresh (median of \(r.cpuPerRefresh.count))", fmt(cpu, 3),
            "runs: " + r.cpuPerRefresh.map { fmt($0, 3) }.joined(separator: " "))
        row("\(r.mode.rawValue): % of one core at 1 change/s", fmt(r.percentOfCore, 2), "target ≤ 2")
        row("\(r.mode.rawValue): seconds from rule load to refresh (median)", fmt(r.latency.sorted()[r.latency.count / 2], 2))
        row("\(r.mode.rawValue): % of one core with rules unchanged", fmt(r.idleCPUPerSecond * 100, 2))
        row("\(r.mode.rawValue): CPU seconds of one rule dump (tool only) / dump + parse", fmt(r.dumpCPU, 3) + " / " + fmt(r.discoverCPU, 3))
        row("\(r.mode.rawValue): reads listing only changed chains / all reads", "\(r.incrementalReads) / \(r.reads)")
        if r.mode == .iptables {
            row("\(r.mode.rawValue): of those, re-assembling only the touched Services", "\(r.partialReads)")
        }
        row("\(r.mode.rawValue): refreshes differing from a full read", "\(r.mismatches)", "must be 0")
    }
}

if !onlySide {
    print("")
    print("BPF, established flow (BPF_PROG_TEST_RUN, 1,000,000 runs, no stats overhead)")
    let micro = try MicroBench.run()
    for r in micro.rows {
        row("\(r.flavour) \(r.hook): \(r.packet) (ns per packet)", "\(r.nsPerPacket)", "target ≤ 100")
        benchJSON["test_run_ns.\(r.flavour).\(r.hook).\(r.packet)"] = r.nsPerPacket
    }
    print("")
    print("BPF, verifier at load (paid in kernel CPU at every start; a program past 1,000,000 instructions does not load)")
    for v in micro.verifier.sorted(by: { $0.program < $1.program }) {
        row("\(v.program): instructions processed; verification ms", "\(v.instructionsProcessed); \(fmt(Double(v.verificationMicroseconds) / 1000))",
            "≤ 250,000 (a test)")
        benchJSON["verifier_insns.\(v.program)"] = v.instructionsProcessed
        benchJSON["verifier_ms.\(v.program)"] = Double(v.verificationMicroseconds) / 1000
    }
}

if !skipNAT {
    for fingerprint in [false, true] {
        let r = try NATPathBench.run(seconds: seconds, rounds: rounds, connections: connections, forceFingerprint: fingerprint)
        print("")
        print("NAT path, \(r.flavour) flavour (\(rounds) alternating rounds × \(seconds) s iperf3 without and with srcip, + \(connections) short connections per round)")
        for hook in Hook.allCases {
            let nop = r.nopRuns[hook]
            row("BPF srcip_nop at \(hook) (baseline, 2 interfaces): ns per packet, with stats (\(nop?.runCount ?? 0) runs)",
                fmt(nop?.nsPerRun ?? 0))
        }
        for p in r.programs {
            let hook: Hook = p.name.contains("ingress") ? .ingress : .egress
            let nop = r.nopRuns[hook]?.nsPerRun ?? 0
            row("BPF \(p.name): ns per packet, with stats (\(p.runs) runs)", fmt(p.nsPerRun))
            row("BPF \(p.name): minus srcip_nop at \(hook) = estimated real cost (ns)", fmt(p.nsPerRun - nop), "target ≤ 60")
            benchJSON["established_bulk_ns_minus_nop.\(p.name)"] = p.nsPerRun - nop
        }
        row("records per packet, bulk TCP transfer", fmt(r.recordsPerPacket, 6), "target ≤ 0.01")
        row("records per connection per hook", fmt(r.recordsPerConnectionPerHook, 2), "target ≤ 3")
        row("records lost (ring buffer full)", "\(r.lost)")
        row("throughput without srcip, median (Gbit/s)", fmt(median(r.baselineBps) / 1e9, 2),
            "runs: " + r.baselineBps.map { fmt($0 / 1e9, 1) }.joined(separator: " "))
        row("throughput with srcip_nop on 4 hooks, median (Gbit/s)", fmt(median(r.nopBps) / 1e9, 2),
            "runs: " + r.nopBps.map { fmt($0 / 1e9, 1) }.joined(separator: " "))
        row("throughput with srcip on 4 hooks, median (Gbit/s)", fmt(median(r.tracedBps) / 1e9, 2),
            "runs: " + r.tracedBps.map { fmt($0 / 1e9, 1) }.joined(separator: " "))
        row("throughput ratio with/without (medians)", fmt(r.throughputRatio, 3), "target ≥ 0.97")
    }
}

/// Written with everything else to `jsonPath` at the end.
var sideResult: SideBySideBench.Result?
if !skipSide && !onlyScale {
    let sideRounds = option("--side-rounds", 7)
    print("")
    print("Side by side on one NAT path (\(sideRounds) alternating rounds × \(seconds) s; medians [min–max])")
    let side = try SideBySideBench.run(rounds: sideRounds, seconds: seconds, loads: sideLoads)
    side.printTable(row: row)
    sideResult = side
}

if !args.contains("--skip-scale") && (!args.contains("--only-side") || onlyScale) {
    let n = option("--scale-flows", 1_000_000)
    print("")
    print("srcip trace per flow, as a process (SYN flood with random sources through the NAT lab until \(n) new flows are seen)")
    // --scale-default-only: srcip's defaults alone (e.g. to compare with a build that has no --max-new-flows).
    let variants: [(name: String, options: [String])] = args.contains("--scale-default-only")
        ? [("srcip's defaults", [])]
        : [("every flow traced (--max-new-flows 0)", ["--max-new-flows", "0"]), ("default --max-new-flows (sampling past 10,000/s)", [])]
    let runs = try FlowScaleBench.run(flows: n, variants: variants.map(\.options))
    var scaleJSON: [String: Any] = [:]
    for (v, r) in zip(variants, runs) {
        row("\(v.name): flows seen, flows/s", "\(r.flowsSeen), \(fmt(r.flowsPerSecond, 0))")
        row("\(v.name): CPU seconds per 100,000 flows (user + system)", fmt(r.cpuPer100kFlows, 2))
        row("\(v.name): % of one core at 1,000 new flows/s sustained", fmt(r.percentOfCoreAt1kPerSecond, 2))
        row("\(v.name): RSS at start / 100,000 / \(n) flows seen (MB)",
            "\(r.rssStart / 1_000_000) / \(r.rss100k / 1_000_000) / \(r.rss1M / 1_000_000)")
        if !r.summary.isEmpty { print("    " + r.summary) }
        scaleJSON[r.options.isEmpty ? "default" : r.options.joined(separator: " ")] = [
            "flows_seen": r.flowsSeen, "seconds": r.seconds, "cpu_seconds": r.cpuSeconds, "cpu_seconds_per_100k_flows": r.cpuPer100kFlows,
            "percent_core_at_1k_flows_per_s": r.percentOfCoreAt1kPerSecond, "rss_bytes_start": r.rssStart,
            "rss_bytes_100k_flows": r.rss100k, "rss_bytes_1m_flows": r.rss1M,
        ]
    }
    benchJSON["flow_scale"] = scaleJSON
}

if let sideResult {
    try sideResult.write(json: jsonPath, extra: ["other": benchJSON])
} else {
    try FileManager.default.createDirectory(at: URL(fileURLWithPath: jsonPath).deletingLastPathComponent(), withIntermediateDirectories: true)
    try JSONSerialization.data(withJSONObject: ["other": benchJSON], options: [.prettyPrinted, .sortedKeys])
        .write(to: URL(fileURLWithPath: jsonPath))
}
print("")
print("wrote \(jsonPath)")
