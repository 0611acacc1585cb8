import Foundation
import SrcipTestbed
import Testing

/// `--output` is live and durable: records reach the file within about a second as whole lines, SIGHUP reopens it
/// (logrotate), SIGKILL leaves whole lines only, an existing file is refused; losses are reported while running.
@Suite(.serialized, .privileged)
struct OutputDurabilityTests {
    static func tempPath(_ name: String) -> String { "/tmp/srcip-out-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(name)" }

    static func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Source ports of the TCP records in a JSONL file; fails on any line that is not a whole JSON object.
    static func tcpPorts(_ path: String) -> [Int] {
        lines(path).compactMap { line in
            let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(o != nil, "not a whole JSON line in \(path): \(line)")
            return o?["protocol"] as? String == "tcp" ? o?["src_port"] as? Int : nil
        }
    }

    static func waitFor(_ timeout: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(100_000)
        }
        return condition()
    }

    @Test func anExistingOutputFileIsRefusedUnlessAppendOrForce() throws {
        let path = Self.tempPath("exists.jsonl")
        defer { unlink(path) }
        try "keep me\n".write(toFile: path, atomically: false, encoding: .utf8)
        let refused = try SrcipProcess(["trace", "--format", "jsonl", "-o", path, "--duration", "1"])
        #expect(refused.wait() != 0)
        #expect(refused.stderr.contains("already exists") && refused.stderr.contains("--append"), "\(refused.stderr)")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "keep me\n")
        let both = try SrcipProcess(["trace", "-o", path, "--append", "--force"])
        #expect(both.wait() != 0 && both.stderr.contains("--append and --force"))
    }

    @Test func recordsArriveWithinASecondAndSighupReopensTheFileWithoutLoss() throws {
        let lab = try NATLab()
        defer { lab.teardown() }
        let path = Self.tempPath("rotate.jsonl")
        defer { unlink(path); unlink(path + ".1") }
        let trace = try SrcipProcess(["trace", "--format", "jsonl", "--services", "none", "--protocol", "tcp", "-o", path],
                                     netns: lab.router)
        #expect(trace.waitForStderr("tracing"))
        let first = try lab.clientTraffic(tcpConnections: 3).tcp
        // A TCP record is written 1 s after the close (final ACKs), then reaches the file at the next flush (≤ 1 s).
        #expect(Self.waitFor(3.5) { Set(Self.tcpPorts(path)).isSuperset(of: first.map(Int.init)) },
                "records not in the file while running: \(Self.lines(path))")
        try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
        kill(trace.pid, SIGHUP)
        #expect(trace.waitForStderr("reopened"))
        let second = try lab.clientTraffic(tcpConnections: 3).tcp
        #expect(Self.waitFor(3.5) { Set(Self.tcpPorts(path)).isSuperset(of: second.map(Int.init)) })
        kill(trace.pid, SIGUSR1)
        #expect(trace.waitForStderr("status: "), "SIGUSR1 prints a status line")
        #expect(trace.process.isRunning, "SIGUSR1 does not stop the trace")
        kill(trace.pid, SIGINT)
        #expect(trace.wait() == 0, "\(trace.stderr)")
        let all = Self.tcpPorts(path + ".1") + Self.tcpPorts(path)
        #expect(all.sorted() == (first + second).map(Int.init).sorted(), "every record once, across both files")
    }

    @Test func sigkillLeavesOnlyWholeLines() throws {
        let lab = try NATLab()
        defer { lab.teardown() }
        let path = Self.tempPath("kill.jsonl")
        defer { unlink(path) }
        let trace = try SrcipProcess(["trace", "--format", "jsonl", "--services", "none", "-o", path], netns: lab.router)
        #expect(trace.waitForStderr("tracing"))
        _ = try lab.clientTraffic(tcpConnections: 40, udpExchanges: 40)
        #expect(Self.waitFor(4) { Self.lines(path).count >= 40 }, "records reach the file while running")
        _ = try lab.clientTraffic(tcpConnections: 20)
        kill(trace.pid, SIGKILL)
        trace.wait()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasSuffix("\n"), "no partial last line")
        #expect(Self.tcpPorts(path).count >= 40)
    }

    @Test func aStoppedConsumerShowsACountedLossWarningWhileRunning() throws {
        let lab = try NATLab()
        defer { lab.teardown() }
        let trace = try SrcipProcess(["trace", "--format", "jsonl", "--services", "none", "-o", "/dev/null", "--force"],
                                     netns: lab.router)
        #expect(trace.waitForStderr("tracing"))
        kill(trace.pid, SIGSTOP)
        // 30,000 UDP flows (new at ingress and egress: 60,000 records) overrun the 4 MiB ring buffer.
        try lab.exec(lab.client, ["python3", "-c", """
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for i in range(30000):
                try: s.sendto(b"f", ("\(NATLab.serverIP)", 20000 + i))
                except OSError: pass   # ICMP port unreachable reported on the socket
            """])
        kill(trace.pid, SIGCONT)
        #expect(trace.waitForStderr("losing records"), "\(trace.stderr)")
        #expect(trace.process.isRunning, "the warning comes while tracing")
        let warning = trace.stderr.split(separator: "\n").first { $0.contains("losing records") } ?? ""
        #expect(warning.contains("warning") && warning.contains("ring buffer full"))
        #expect(!warning.contains("ring buffer full 0 records lost, BPF flow map full 0"))
        kill(trace.pid, SIGINT)
        #expect(trace.wait() == 0, "\(trace.stderr)")
    }
}
