import Foundation
import SrcipKernel

/// Prints the side-by-side table and writes it as JSON (`bench.json`) so that runs can be compared.
extension SideBySideBench.Result {
    typealias Load = SideBySideBench.Load
    typealias Observer = SideBySideBench.Observer

    func spread(_ load: Load, _ o: Observer) -> (min: Double, max: Double) {
        let xs = values[load]?[o] ?? []
        return (xs.min() ?? 0, xs.max() ?? 0)
    }

    func printTable(row: (String, String, String) -> Void) {
        let f = { (v: Double) in String(format: v >= 100 ? "%.0f" : "%.2f", v) }
        for load in loads {
            let cells = Observer.allCases.map { o -> String in
                let s = spread(load, o)
                return "\(o.rawValue) \(f(medianOf(load, o))) [\(f(s.min))–\(f(s.max))]"
            }
            row(load.title, "", cells.joined(separator: "  "))
            row("  ratio srcip / nothing; tcpdump / nothing", String(format: "%.3f; %.3f", ratio(load, .srcip), ratio(load, .tcpdump)),
                load == .synFlood ? "target ≥ 0.90 and > tcpdump" : load == .udp64 ? "target ≥ 0.97" : "target ≥ 0.98")
            if let cpu = srcipCPUPerPacketUs[load], !cpu.isEmpty {
                row("  srcip process CPU per packet delivered (µs, user + system)", String(format: "%.2f", median(cpu)),
                    "runs: " + cpu.map { String(format: "%.2f", $0) }.joined(separator: " "))
            }
        }
        if !srcipStartup.isEmpty {
            row("srcip start to tracing: wall s; CPU s (mostly the kernel verifying the programs)",
                String(format: "%.2f; %.2f", median(srcipStartup.map(\.wall)), median(srcipStartup.map(\.cpu))),
                "runs: " + srcipStartup.map { String(format: "%.2f/%.2f", $0.wall, $0.cpu) }.joined(separator: " "))
        }
        for load in loads {
            for p in (bpf[load] ?? []).sorted(by: { $0.name < $1.name }) where p.runCount > 0 {
                row("  BPF \(p.name) under \(load.rawValue), bpf_stats on (ns per run, \(p.runCount) runs)", String(format: "%.1f", p.nsPerRun), "")
            }
        }
        if !srcipSummary.isEmpty {
            print("  srcip's summary after the profiled SYN flood:")
            srcipSummary.split(separator: "\n").forEach { print("    " + $0) }
        }
    }

    var json: [String: Any] {
        var byLoad: [String: Any] = [:]
        for load in loads {
            var entry: [String: Any] = [:]
            for o in Observer.allCases {
                let s = spread(load, o)
                entry[o.rawValue] = ["runs": values[load]?[o] ?? [], "median": medianOf(load, o), "min": s.min, "max": s.max]
            }
            entry["ratio_srcip"] = ratio(load, .srcip)
            entry["ratio_tcpdump"] = ratio(load, .tcpdump)
            if let cpu = srcipCPUPerPacketUs[load] { entry["srcip_cpu_us_per_packet"] = cpu }
            entry["bpf_ns_per_run"] = Dictionary((bpf[load] ?? []).map { ($0.name, $0.nsPerRun) }, uniquingKeysWith: { a, _ in a })
            entry["bpf_runs"] = Dictionary((bpf[load] ?? []).map { ($0.name, $0.runCount) }, uniquingKeysWith: { a, _ in a })
            byLoad[load.rawValue] = entry
        }
        var loadavg = [Double](repeating: 0, count: 3)
        _ = getloadavg(&loadavg, 3)
        return [
            "machine": ["cpus": ProcessInfo.processInfo.processorCount, "kernel": kernelRelease(),
                        "loadavg_at_end": loadavg],
            "date": ISO8601DateFormatter().string(from: Date()),
            "rounds": rounds, "seconds_per_run": seconds,
            "setup": "NAT lab: client — router (DNAT + MASQUERADE) — server; srcip trace on both router interfaces (ingress+egress), "
                + "tcpdump -i any -w /dev/null -s 128 on the router; loads: iperf3, hping3 64-byte UDP one flow, hping3 SYN flood --rand-source",
            "side_by_side": byLoad,
            "srcip_startup": ["wall_s": srcipStartup.map(\.wall), "cpu_s": srcipStartup.map(\.cpu)],
        ]
    }

    func write(json path: String, extra: [String: Any]) throws {
        var obj = json
        for (k, v) in extra { obj[k] = v }
        let data = try JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys])
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
    }
}
