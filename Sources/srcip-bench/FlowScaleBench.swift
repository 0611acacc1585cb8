import Foundation
import SrcipTestbed

/// What `srcip trace` costs per flow, as a process: a SYN flood with random sources (every packet a new connection)
/// through the NAT lab's router until 1,000,000 flows were seen at the router, with srcip on both router interfaces.
/// CPU (user + system, /proc/PID/stat) per 100,000 flows and as a share of one core at 1,000 new flows per second;
/// resident memory (VmRSS) once 100,000 and 1,000,000 flows were seen.
enum FlowScaleBench {
    struct Run {
        /// srcip's options besides the lab's (e.g. `--max-new-flows 0`: every flow traced).
        var options: [String]
        var flowsSeen = 0
        var seconds = 0.0
        var cpuSeconds = 0.0
        /// VmRSS (bytes) at start, at 100,000 and at 1,000,000 flows seen.
        var rssStart = 0, rss100k = 0, rss1M = 0
        /// srcip's exit summary (flows written, sampled out, losses).
        var summary = ""

        var cpuPer100kFlows: Double { cpuSeconds / Double(max(flowsSeen, 1)) * 100_000 }
        /// Percent of one core that 1,000 new flows per second take at this cost per flow.
        var percentOfCoreAt1kPerSecond: Double { cpuSeconds / Double(max(flowsSeen, 1)) * 1_000 * 100 }
        var flowsPerSecond: Double { Double(flowsSeen) / max(seconds, 1e-9) }
    }

    static func run(flows target: Int = 1_000_000, variants: [[String]]) throws -> [Run] {
        let srcip = try SideBySideBench.srcipBinary()
        let lab = try NATLab()
        defer { lab.teardown() }
        try SideBySideBench.prepare(lab)
        return try variants.map { options in
            _ = try? lab.exec(lab.router, ["conntrack", "-F"])
            guard let running = try SideBySideBench.start(.srcip, lab: lab, srcip: srcip, srcipOptions: options) else {
                throw SideBySideBench.Failed(description: "srcip did not start")
            }
            var run = Run(options: options)
            run.rssStart = residentBytes(running.pid)
            let rx0 = try routerRx(lab), cpu0 = ProcessCPU.seconds(pid: running.pid), t0 = Date()
            let sender = try SideBySideBench.Running(netns: lab.client, ["hping3", "--flood", "-q", "-S", "--rand-source",
                                                                          "-p", "\(NATLab.vipTCPPort)", NATLab.vip])
            var seen = 0
            let deadline = Date().addingTimeInterval(180)
            while seen < target, Date() < deadline, sender.process.isRunning {
                usleep(50_000)
                seen = try routerRx(lab) - rx0
                if run.rss100k == 0, seen >= 100_000 { run.rss100k = residentBytes(running.pid) }
            }
            sender.stop()
            usleep(1_000_000)   // srcip takes the last records
            run.flowsSeen = try routerRx(lab) - rx0
            run.cpuSeconds = ProcessCPU.seconds(pid: running.pid) - cpu0
            run.seconds = Date().timeIntervalSince(t0)
            run.rss1M = residentBytes(running.pid)
            running.stop()
            run.summary = running.stderrTail().split(separator: "\n").first { $0.contains("flows written") }.map(String.init) ?? ""
            return run
        }
    }

    /// Packets received on the router's client-side veth: every flood packet is a new flow there.
    static func routerRx(_ lab: NATLab) throws -> Int {
        let text = try lab.exec(lab.router, ["cat", "/sys/class/net/\(lab.routerClientIf)/statistics/rx_packets"])
        guard let n = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw SideBySideBench.Failed(description: "unreadable rx_packets: \(text)")
        }
        return n
    }

    /// VmRSS of `pid` in bytes (0 if it is gone).
    static func residentBytes(_ pid: Int32) -> Int {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0) * 1024
    }
}
