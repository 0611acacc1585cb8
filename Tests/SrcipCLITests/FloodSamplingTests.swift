import Foundation
import SrcipTestbed
import Testing

/// A real SYN flood (random sources, every packet a new flow) through the NAT lab's router, faster than
/// `--max-new-flows`: srcip samples, and every SYN is either in a flow record or counted as not traced.
@Suite(.serialized, .privileged)
struct FloodSamplingTests {
    /// Packets received on the router's client-side veth.
    static func routerRx(_ lab: NATLab) throws -> Int {
        let text = try lab.exec(lab.router, ["cat", "/sys/class/net/\(lab.routerClientIf)/statistics/rx_packets"])
        return try #require(Int(text.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    /// The metrics page of the trace, if it answers.
    static func metrics(_ lab: NATLab, port: Int) -> String {
        (try? lab.exec(lab.router, ["curl", "-sf", "--max-time", "3", "http://127.0.0.1:\(port)/metrics"])) ?? ""
    }

    static func sample(_ page: String, _ name: String) -> Double? {
        page.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
    }

    @Test func everySYNIsWrittenOrCountedAsNotTraced() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/sbin/hping3"), "needs hping3 (make deps installs it)")
        let lab = try NATLab()
        defer { lab.teardown() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("srcip-floodsample-\(lab.tag)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let flows = dir.appendingPathComponent("flows.jsonl").path
        let port = Int.random(in: 20_000..<30_000)
        let trace = try SrcipProcess(["trace", "--format", "jsonl", "--output", flows, "--services", "none",
                                      "--max-new-flows", "1000", "--metrics", "127.0.0.1:\(port)"], netns: lab.router)
        defer { if trace.process.isRunning { kill(trace.pid, SIGKILL) }; trace.wait(timeout: 10) }
        #expect(trace.waitForStderr("tracing"), "\(trace.stderr)")
        usleep(300_000)

        // 30,000 SYNs at about 15,000 per second, each from a new random source: far over 1,000 new flows per second.
        let rx0 = try Self.routerRx(lab)
        // hping3 exits 1 when no reply came back: the SYNs counted at the router are what the test checks.
        _ = try? lab.exec(lab.client, ["hping3", "-q", "-S", "--rand-source", "-p", "\(NATLab.vipTCPPort)", "-i", "u66",
                                      "-c", "30000", NATLab.vip])
        usleep(1_500_000)   // the last records reach srcip (the pump polls every 100 ms) and a sweep reports
        let syns = try Self.routerRx(lab) - rx0
        let page = Self.metrics(lab, port: port)
        kill(trace.pid, SIGINT)
        #expect(trace.wait(timeout: 60) == 0, "\(trace.stderr)")

        let lines = try String(contentsOfFile: flows, encoding: .utf8).split(separator: "\n")
        let summaryLine = try #require(lines.last { $0.contains("\"kind\":\"summary\"") })
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(summaryLine.utf8)) as? [String: Any])
        let counters = try #require(summary["counters"] as? [String: Any]).compactMapValues { ($0 as? NSNumber)?.intValue }
        let written = try #require((summary["flows"] as? NSNumber)?.intValue)
        let sampledOut = try #require(counters["correlator_new_flows_sampled_out"])
        print("flood sampling: \(syns) SYNs at the router, \(written) flows written, \(sampledOut) not traced, counters \(counters)")
        #expect(counters["ring_buffer_lost"] == 0 && counters["consumer_buffer_dropped"] == 0, "\(counters)")
        #expect(syns >= 29_000, "SYNs at the router: \(syns)")
        #expect(sampledOut > syns / 2, "sampled out \(sampledOut) of \(syns)")
        #expect(written >= 1000, "the first second's 1,000 new flows and a sample after them are traced: \(written)")
        // Every SYN (a few ARP/ND packets aside) is one new connection: written, or counted as not traced.
        #expect(abs(written + sampledOut - syns) <= max(20, syns / 200), "written \(written) + sampled out \(sampledOut) vs \(syns) SYNs")
        #expect((counters["correlator_sampling_divisor_max"] ?? 0) >= 8, "\(counters)")
        #expect(trace.stderr.contains("new flows not traced"), "\(trace.stderr)")
        // --metrics reports the same count (as of the last sweep before the scrape).
        let scraped = Self.sample(page, "srcip_flows_sampled_out_total") ?? -1
        #expect(scraped > 0 && scraped <= Double(sampledOut), "metrics: \(scraped) vs \(sampledOut)")
        #expect((Self.sample(page, "srcip_flow_sampling_divisor_max") ?? 0) >= 8)
    }
}
