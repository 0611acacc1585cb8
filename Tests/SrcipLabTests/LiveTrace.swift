import Foundation
import SrcipCore
import SrcipLabNetwork
import SrcipLabWorkloads
import SrcipSystem
import Testing

/// A `srcip trace --verbose --services auto --format jsonl` running in one lab node until `finish()`.
struct LiveTrace {
    var node: String
    var pid: pid_t
    var output: String
    var log: String

    init(naming: LabNaming, node: String, nodeIPs: [String], srcip: String, extra: [String] = []) throws {
        self.node = node
        let tag = "/tmp/srcip-live-\(getpid())-\(UInt32.random(in: 0..<1_000_000))-\(node)"
        output = tag + ".jsonl"
        log = tag + ".err"
        pid = try Command.spawnDetached("/usr/sbin/ip", ["netns", "exec", naming.nodeNamespace(node), srcip, "trace", "--verbose",
                                                         "--services", "auto", "--format", "jsonl", "--output", output,
                                                         "--node", node, "--node-ips", nodeIPs.joined(separator: ","),
                                                         "--duration", "120"] + extra, log: log)
    }

    var stderr: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// Waits until `stderr` satisfies `ready`; false after `timeout` seconds.
    func wait(timeout: Double = 20, until ready: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if ready(stderr) { return true }
            usleep(50_000)
        }
        return ready(stderr)
    }

    /// Stops the trace with SIGINT; its exit status, standard error and flow records.
    func finish() throws -> (status: Int32, stderr: String, records: [[String: Any]]) {
        kill(pid, SIGINT)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        let records = try text.split(separator: "\n").map {
            try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }.filter { ($0["kind"] as? String ?? "flow") == "flow" }   // flow records only (not the `run`/`summary` lines)
        let exited = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exited, stderr, records)
    }

    /// Kills the trace if still running and removes its files.
    func remove() {
        kill(pid, SIGKILL)
        unlink(output)
        unlink(log)
    }

    /// The exit summary's `interfaces: A at start, B attached later, C removed` as numbers.
    static func interfaceCounts(_ stderr: String) -> (atStart: Int, attachedLater: Int, removed: Int)? {
        guard let line = stderr.split(separator: "\n").last(where: { $0.contains("interfaces: ") && $0.contains(" at start, ") }) else {
            return nil
        }
        let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        guard numbers.count >= 3 else { return nil }
        return (numbers[0], numbers[1], numbers[2])
    }
}

/// What a §4 probe must look like in the flow records of its entry node.
enum ProbeRecordCheck {
    /// The TCP request record of `probe` in `records` (client source port and destination port).
    static func record(of probe: ScenarioProbe, in records: [[String: Any]]) -> [[String: Any]] {
        records.filter {
            $0["protocol"] as? String == "tcp" && $0["src_port"] as? Int == Int(probe.sourcePort)
                && $0["dst_port"] as? Int == Int(probe.destinationPort)
        }
    }

    /// Checks Service, verdict, expectation and the source the backend saw (`xlat_src_ip`) against what the pod saw.
    static func check(_ probe: ScenarioProbe, records: [[String: Any]]) {
        let mine = record(of: probe, in: records)
        #expect(mine.count == 1, "\(probe.row): one record at \(probe.entry.name), got \(mine.count): \(mine)")
        guard let r = mine.first else { return }
        let service = r["service"] as? [String: Any]
        #expect(service?["name"] as? String == probe.service.name && service?["frontend"] as? String == probe.frontend.rawValue,
                "\(probe.row): \(r)")
        #expect(r["expectation_met"] as? Bool == true, "\(probe.row): \(r)")
        let verdict = r["verdict"] as? String
        switch probe.outcome {
        case .response:
            guard let saw = probe.outcome.clientAddress else {
                Issue.record("\(probe.row): no client_address in the answer")
                return
            }
            let seen = (r["xlat_src_ip"] as? String).flatMap(IPAddress.init)
            #expect(seen == IPAddress(saw), "\(probe.row): pod saw \(saw), record says \(r["xlat_src_ip"] ?? "nil"): \(r)")
            // Preserved when the backend saw the source the request entered with (the pod, host or external client).
            let entered = (r["src_ip"] as? String).flatMap(IPAddress.init)
            #expect(verdict == (IPAddress(saw) == entered ? "preserved" : "snat"), "\(probe.row): \(r)")
        case .timeout:
            #expect(verdict == "dropped", "\(probe.row): \(r)")
        case .refused:
            #expect(verdict == "rejected", "\(probe.row): \(r)")
        default:
            Issue.record("\(probe.row): unexpected outcome \(probe.outcome)")
        }
    }
}
