import Foundation
import SrcipKernel
import SrcipSystem
import SrcipTestbed

/// Side by side on one NAT path (client — router with DNAT + MASQUERADE — server): nothing vs `srcip trace` on every
/// router interface vs `tcpdump -i any -w /dev/null -s 128` on the router, under bulk TCP (iperf3), 64-byte UDP in one
/// flow and a SYN flood with random sources (every packet a new flow; hping3). Rounds alternate the observers (the
/// order rotates every round); medians and min–max spread are reported. Traffic stays inside the lab's namespaces.
enum SideBySideBench {
    enum Observer: String, CaseIterable { case nothing, srcip, tcpdump }
    enum Load: String, CaseIterable {
        case bulkTCP = "bulk_tcp_gbps"
        case udp64 = "udp64_one_flow_kpps"
        case synFlood = "syn_flood_random_sources_kpps"
        var title: String {
            switch self {
            case .bulkTCP: "bulk TCP, iperf3 (Gbit/s)"
            case .udp64: "64-byte UDP, one flow (kpps delivered)"
            case .synFlood: "SYN flood, random sources, every packet a new flow (kpps delivered)"
            }
        }
    }

    struct Result {
        var rounds = 0
        var seconds = 0
        /// values[load][observer]: one value per round.
        var values: [Load: [Observer: [Double]]] = [:]
        /// srcip's programs under each load, bpf_stats on (one extra run per load, not part of the rounds).
        var bpf: [Load: [ProgramRunStats]] = [:]
        /// srcip's counters printed at exit of the profiled SYN-flood run (records, lost, ...), raw text.
        var srcipSummary = ""
        /// The srcip process's CPU time (user + system, /proc/PID/stat) per packet delivered to the server, in µs:
        /// one value per round and load.
        var srcipCPUPerPacketUs: [Load: [Double]] = [:]
        /// srcip's starts in the rounds: seconds from exec to tracing, and CPU seconds used by then (user + system).
        var srcipStartup: [(wall: Double, cpu: Double)] = []
        /// The loads measured (`--side-loads`; all by default).
        var loads = Load.allCases

        func medianOf(_ load: Load, _ o: Observer) -> Double { median(values[load]?[o] ?? []) }
        func ratio(_ load: Load, _ o: Observer) -> Double {
            let base = medianOf(load, .nothing)
            return base > 0 ? medianOf(load, o) / base : 0
        }
    }

    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    static func run(rounds: Int, seconds: Int, loads: [Load] = Load.allCases) throws -> Result {
        for tool in ["hping3", "tcpdump", "iperf3", "bpftool"] where Command.locate(tool) == nil {
            throw Failed(description: "\(tool) is not installed: run `make deps` (it is in the Makefile's APT_PACKAGES)")
        }
        let srcip = try srcipBinary()
        let lab = try NATLab()
        defer { lab.teardown() }
        try prepare(lab)
        var result = Result()
        result.rounds = rounds
        result.seconds = seconds
        result.loads = loads
        let observers = Observer.allCases
        for round in 0..<rounds {
            for k in 0..<observers.count {
                let observer = observers[(k + round) % observers.count]
                let running = try start(observer, lab: lab, srcip: srcip)
                defer { running?.stop() }
                if let startup = running?.startup { result.srcipStartup.append(startup) }
                for load in loads {
                    let m = try measure(load, lab: lab, seconds: seconds, cpuOf: observer == .srcip ? running?.pid : nil)
                    result.values[load, default: [:]][observer, default: []].append(m.value)
                    if let perPacket = m.cpuPerPacketUs { result.srcipCPUPerPacketUs[load, default: []].append(perPacket) }
                }
            }
        }
        // Profile pass: srcip with BPF run-time statistics on (they add two clock reads per run, so not in the rounds).
        let stats = try BPFStats()
        defer { stats.disable() }
        for load in loads {
            guard let running = try start(.srcip, lab: lab, srcip: srcip) else { continue }
            let before = try programStats(pid: running.pid)
            _ = try measure(load, lab: lab, seconds: seconds, cpuOf: nil)
            let after = try programStats(pid: running.pid)
            result.bpf[load] = after.map { a in before.first { $0.id == a.id }.map { a.since($0) } ?? a }
            running.stop()
            if load == .synFlood { result.srcipSummary = running.stderrTail() }
        }
        return result
    }

    /// The lab's rules for the loads: a UDP DNAT and an SNAT pool for the SYN flood.
    static func prepare(_ lab: NATLab) throws {
        // One UDP flow through the same DNAT: VIP:5201/udp → server:5201 (nothing listens; ICMP errors are rate-limited).
        try lab.exec(lab.router, ["iptables", "-t", "nat", "-A", "PREROUTING", "-d", NATLab.vip, "-p", "udp", "--dport",
                                  "\(NATLab.iperfPort)", "-j", "DNAT", "--to-destination", "\(NATLab.serverIP):\(NATLab.iperfPort)"])
        // MASQUERADE maps every client to the router's one address, so a SYN flood (random sources, one server
        // port) has ~64 k reply tuples: after ~64 k SYNs (a second at 80 kpps) conntrack entries in SYN_RECV (60 s)
        // hold them all, every further SYN costs the router a failed port search and is dropped (conntrack -S:
        // insert_failed), and the delivered rate measures that, not the observers. An SNAT pool of 64 addresses
        // (replies reach the router by the server's default route) makes the flood's runs measure forwarding.
        try lab.exec(lab.router, ["iptables", "-t", "nat", "-I", "POSTROUTING", "1", "-o", lab.routerServerIf, "-p", "tcp",
                                  "--dport", "\(NATLab.serverTCPPort)", "-j", "SNAT", "--to-source", snatPool])
    }

    /// Source addresses of the flood's SNAT (outside the lab's subnets, routed back to the router by the server).
    static let snatPool = "10.77.10.1-10.77.10.64"

    /// The `srcip` binary built next to this one (`swift build -c release` builds both).
    static func srcipBinary() throws -> String {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let path = dir.appendingPathComponent("srcip").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw Failed(description: "\(path) not found: build it first (`swift build -c release`, or `make bench`)")
        }
        return path
    }

    /// A process started for the measurement, in one of the lab's namespaces.
    final class Running {
        let process = Process()
        private let errFile: URL
        var pid: Int32 { process.processIdentifier }
        /// srcip only: from its start to its ready file (s), and the CPU time it had used by then (s).
        var startup: (wall: Double, cpu: Double)?

        init(netns: String, _ args: [String]) throws {
            errFile = FileManager.default.temporaryDirectory.appendingPathComponent("srcip-bench-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).err")
            _ = FileManager.default.createFile(atPath: errFile.path, contents: nil)
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = ["netns", "exec", netns] + args  // ip execs the command: the pid is the tool's
            process.standardOutput = FileHandle.nullDevice
            process.standardError = try FileHandle(forWritingTo: errFile)
            try process.run()
        }

        /// SIGINT (srcip and tcpdump detach and exit cleanly), SIGKILL if it does not exit within 5 s.
        func stop() {
            if process.isRunning {
                kill(pid, SIGINT)
                let deadline = Date().addingTimeInterval(5)
                while process.isRunning && Date() < deadline { usleep(20_000) }
                if process.isRunning { kill(pid, SIGKILL) }
            }
            process.waitUntilExit()
        }

        func stderrTail() -> String {
            let text = (try? String(contentsOf: errFile, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").suffix(12).joined(separator: "\n")
        }

        deinit { try? FileManager.default.removeItem(at: errFile) }
    }

    static func start(_ observer: Observer, lab: NATLab, srcip: String, srcipOptions: [String] = []) throws -> Running? {
        switch observer {
        case .nothing:
            return nil
        case .tcpdump:
            let r = try Running(netns: lab.router, ["tcpdump", "-i", "any", "-w", "/dev/null", "-s", "128", "-q"])
            usleep(1_500_000)
            guard r.process.isRunning else { throw Failed(description: "tcpdump exited: \(r.stderrTail())") }
            return r
        case .srcip:
            let ready = FileManager.default.temporaryDirectory.appendingPathComponent("srcip-bench-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).ready")
            defer { try? FileManager.default.removeItem(at: ready) }
            let t0 = Date()
            let r = try Running(netns: lab.router, [srcip, "trace", "-i", lab.routerClientIf, "-i", lab.routerServerIf,
                                                    "--format", "jsonl", "--output", "/dev/null", "--services", "none",
                                                    "--ready-file", ready.path] + srcipOptions)
            // Tracing once it writes its ready file: every program loaded (the kernel's verifier takes seconds of CPU)
            // and attached. Waiting for less let that work overlap the first load measured.
            let deadline = Date().addingTimeInterval(30)
            while !FileManager.default.fileExists(atPath: ready.path) {
                guard r.process.isRunning, Date() < deadline else {
                    r.stop()
                    throw Failed(description: "srcip trace did not start: \(r.stderrTail())")
                }
                usleep(20_000)
            }
            r.startup = (Date().timeIntervalSince(t0), ProcessCPU.seconds(pid: r.pid))
            usleep(700_000)
            return r
        }
    }

    /// One measurement: Gbit/s for bulk TCP (iperf3), else packets per second arriving at the server's interface (kpps);
    /// for floods, with `cpuOf`, that process's CPU time per packet delivered in the same window (µs).
    static func measure(_ load: Load, lab: NATLab, seconds: Int, cpuOf pid: Int32?) throws -> (value: Double, cpuPerPacketUs: Double?) {
        switch load {
        case .bulkTCP:
            return (try lab.bulkTransfer(seconds: seconds) / 1e9, nil)
        case .udp64:
            // 14 + 20 + 8 + 22 = 64-byte frames, fixed source port: one flow.
            return try flood(lab: lab, seconds: seconds, cpuOf: pid, ["--udp", "-s", "40000", "-k", "-p", "\(NATLab.iperfPort)", "-d", "22"])
        case .synFlood:
            _ = try? lab.exec(lab.router, ["conntrack", "-F"])  // every run starts from an empty conntrack table
            return try flood(lab: lab, seconds: seconds, cpuOf: pid, ["-S", "--rand-source", "-p", "\(NATLab.vipTCPPort)"])
        }
    }

    /// Runs `hping3 --flood` from the client to the VIP and returns the rate (kpps) at which packets reach the server,
    /// and the CPU time `pid` spent per packet delivered over the same window (µs).
    static func flood(lab: NATLab, seconds: Int, cpuOf pid: Int32?, _ args: [String]) throws -> (value: Double, cpuPerPacketUs: Double?) {
        let sender = try Running(netns: lab.client, ["hping3", "--flood", "-q"] + args + [NATLab.vip])
        defer { sender.stop() }
        usleep(500_000)  // warm-up
        guard sender.process.isRunning else { throw Failed(description: "hping3 exited: \(sender.stderrTail())") }
        let t0 = Date(), n0 = try serverRxPackets(lab), cpu0 = pid.map(ProcessCPU.seconds)
        usleep(UInt32(seconds) * 1_000_000)
        let n1 = try serverRxPackets(lab), dt = Date().timeIntervalSince(t0), cpu1 = pid.map(ProcessCPU.seconds)
        let packets = Double(n1 &- n0)
        let cpu = cpu0.flatMap { c0 in cpu1.map { ($0 - c0) * 1e6 / max(packets, 1) } }
        return (packets / dt / 1000, cpu)
    }

    /// Packets received by the server's veth (NATLab names it "sss" + tag).
    static func serverRxPackets(_ lab: NATLab) throws -> UInt64 {
        let text = try lab.exec(lab.server, ["cat", "/sys/class/net/sss\(lab.tag)/statistics/rx_packets"])
        guard let n = UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw Failed(description: "unreadable rx_packets: \(text)")
        }
        return n
    }

    /// Run statistics of the srcip packet programs a process holds: program ids from its fds (/proc/PID/fdinfo has
    /// `prog_id:` for program and link fds), then `bpftool prog show id` (run_cnt and run_time_ns while bpf_stats are on).
    static func programStats(pid: Int32) throws -> [ProgramRunStats] {
        let dir = "/proc/\(pid)/fdinfo"
        var ids = Set<Int>()
        for fd in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
            guard let text = try? String(contentsOfFile: "\(dir)/\(fd)", encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") where line.hasPrefix("prog_id:") {
                if let id = Int(line.dropFirst("prog_id:".count).trimmingCharacters(in: .whitespaces)) { ids.insert(id) }
            }
        }
        return try ids.sorted().compactMap { id in
            let json = try NATLab.run(["bpftool", "prog", "show", "id", "\(id)", "--json"])
            guard let p = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], let name = p["name"] as? String,
                  name.hasPrefix("srcip_"), name != "srcip_flush" /* run by user space, not per packet */ else { return nil }
            return ProgramRunStats(name: name, id: UInt32(id), runCount: (p["run_cnt"] as? NSNumber)?.uint64Value ?? 0,
                                   runTimeNs: (p["run_time_ns"] as? NSNumber)?.uint64Value ?? 0)
        }
    }
}

/// CPU time of a process from /proc/PID/stat (utime + stime, all threads).
enum ProcessCPU {
    static func seconds(pid: Int32) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return 0 }
        // Fields after "comm)": state is field 3; utime and stime are fields 14 and 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let u = Double(fields[11]), let s = Double(fields[12]) else { return 0 }
        return (u + s) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
