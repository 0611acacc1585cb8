import Foundation
import SrcipCore
import SrcipTestbed
import Testing

/// Memory stays bounded under a flood of short flows and is given back afterwards.
@Suite(.serialized, .privileged)
struct FloodMemoryTests {
    /// (current, peak) resident set of `pid` in KiB.
    static func rss(_ pid: Int32) -> (now: Int, peak: Int) {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Int {
            text.split(separator: "\n").first { $0.hasPrefix(name) }
                .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") } ?? 0
        }
        return (field("VmRSS:"), field("VmHWM:"))
    }

    @Test func rssStaysWithinTwiceTheLiveFlowBoundAndIsReturned() throws {
        let lab = try NATLab()
        defer { lab.teardown() }
        let trace = try SrcipProcess(["trace", "--format", "jsonl", "--services", "none", "--idle-timeout", "1",
                                      "-o", "/dev/null", "--force"], netns: lab.router)
        #expect(trace.waitForStderr("tracing"))
        usleep(500_000)
        let base = Self.rss(trace.pid)
        // 200,000 UDP flows: 4 source ports × 50,000 destination ports.
        try lab.exec(lab.client, ["python3", "-c", """
            import socket
            socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(4)]
            for i in range(50000):
                for s in socks:
                    try: s.sendto(b"f", ("\(NATLab.serverIP)", 10000 + i))
                    except OSError: pass
            """])
        // Every flow idles out (1 s + 2 s + the 1 s sweep) and the correlator drains its backlog.
        var after = Self.rss(trace.pid)
        for _ in 0..<30 where after.now - base.now > (after.peak - base.now) / 2 + 8192 {
            usleep(1_000_000)
            after = Self.rss(trace.pid)
        }
        kill(trace.pid, SIGINT)
        #expect(trace.wait(timeout: 60) == 0, "\(trace.stderr)")
        let boundKiB = CorrelatorConfig().maxLiveFlows * FlowCorrelator.estimatedBytesPerFlow() / 1024
        print("flood RSS KiB: base \(base.now), peak \(after.peak), after \(after.now); live-flow bound \(boundKiB) KiB")
        #expect(after.peak - base.now <= 2 * boundKiB, "peak \(after.peak) KiB over base \(base.now) KiB")
        #expect(after.now - base.now <= (after.peak - base.now) / 2 + 8192, "memory given back after the flood")
        #expect(trace.stderr.contains("flows written"))
    }
}
