import Foundation
import SrcipCore
import SrcipExport
import SrcipSystem
#if canImport(Glibc)
import Glibc
#endif

/// The real `srcip trace` running in every node namespace of a lab (`ip netns exec <node> srcip trace --format jsonl`),
/// writing one flow-record file per node; used by the demo and the verdict tests.
public final class LabTraceSession {
    /// How the traces run.
    public struct Options: Sendable {
        /// `--fingerprint`: never use conntrack.
        public var fingerprint = false
        /// `--idle-timeout` in seconds.
        public var idleTimeout: Double = 10
        /// Tag in the file names, so several sessions can run side by side (`<tag>-<node>.jsonl`).
        public var tag = "trace"
        /// Seconds to wait for every trace to report "tracing".
        public var startTimeout: Double = 20

        public init(fingerprint: Bool = false, idleTimeout: Double = 10, tag: String = "trace") {
            self.fingerprint = fingerprint
            self.idleTimeout = idleTimeout
            self.tag = tag
        }
    }

    /// One node's trace process.
    public struct NodeTrace: Sendable {
        public var node: String
        public var pid: pid_t
        /// JSON Lines flow records (complete once the session is stopped).
        public var output: String
        /// The process's standard output and error.
        public var log: String
    }

    public private(set) var traces: [NodeTrace] = []
    private var exitStatus: [String: Int32]?
    /// Traces already reaped (never signalled again: their pid may be reused).
    private var finished: [String: Int32] = [:]

    private init() {}

    /// Starts a trace in every node of the lab and returns once each has attached (printed "tracing").
    /// Records go to `directory` (default: the lab's run directory).
    public static func start(record: LabRecord, naming: LabNaming, srcip: String, options: Options = Options(),
                             directory: String? = nil) throws -> LabTraceSession {
        let dir = directory ?? naming.runDirectory
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let ip = try CommandRunner.locate("ip")
        let nodeIPs = record.state.nodes.map(\.ip.description).joined(separator: ",")
        let session = LabTraceSession()
        do {
            for node in record.state.nodes {
                let output = "\(dir)/\(options.tag)-\(node.name).jsonl"
                let log = "\(dir)/\(options.tag)-\(node.name).log"
                for f in [output, log] { unlink(f) }
                var args = ["netns", "exec", naming.nodeNamespace(node.name), srcip, "trace", "--format", "jsonl", "--output", output,
                            "--node", node.name, "--node-ips", nodeIPs, "--idle-timeout", String(options.idleTimeout)]
                if options.fingerprint { args.append("--fingerprint") }
                let pid: pid_t
                do { pid = try Command.spawnDetached(ip, args, log: log) } catch {
                    throw LabError.commandFailed(command: "ip " + args.joined(separator: " "), status: -1, stderr: error.description)
                }
                session.traces.append(NodeTrace(node: node.name, pid: pid, output: output, log: log))
            }
            try session.waitUntilTracing(timeout: options.startTimeout)
            return session
        } catch {
            session.stop()
            throw error
        }
    }

    /// Stops every trace with SIGINT (srcip detaches and writes the flows still open) and waits for it; a trace that
    /// does not exit within `timeout` seconds is killed. Returns each node's exit status. Idempotent.
    @discardableResult
    public func stop(timeout: Double = 10) -> [String: Int32] {
        if let exitStatus { return exitStatus }
        for t in traces where finished[t.node] == nil { kill(t.pid, SIGINT) }
        var status: [String: Int32] = finished
        let deadline = Date().addingTimeInterval(timeout)
        for t in traces where finished[t.node] == nil {
            var s = Self.reap(t.pid, until: deadline)
            if s == nil {
                kill(t.pid, SIGKILL)
                s = Self.reap(t.pid, until: Date().addingTimeInterval(2)).map { _ in 128 + SIGKILL } ?? -1
            }
            status[t.node] = s
        }
        exitStatus = status
        return status
    }

    /// The flow records each node wrote, keyed by node (read after `stop`). Malformed lines are errors.
    public func records() throws -> [String: [FlowRecord]] {
        var out: [String: [FlowRecord]] = [:]
        for t in traces {
            guard let data = FileManager.default.contents(atPath: t.output) else {
                throw LabError.unsupported("srcip trace on \(t.node) wrote no \(t.output); see \(t.log)")
            }
            let (records, errors) = FlowRecordReader.read(contents: String(decoding: data, as: UTF8.self), source: t.output)
            if let e = errors.first { throw LabError.unsupported("not a flow record: \(e)") }
            out[t.node] = records
        }
        return out
    }

    /// The log of a node's trace (diagnostics, counters), for messages.
    public func log(node: String) -> String {
        traces.first { $0.node == node }.flatMap { FileManager.default.contents(atPath: $0.log) }
            .map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    private func waitUntilTracing(timeout: Double) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var pending = traces
        while !pending.isEmpty {
            for t in pending {
                if log(node: t.node).contains("srcip: tracing ") {
                    pending.removeAll { $0.node == t.node }
                } else if let s = Self.reap(t.pid, until: Date()) {
                    finished[t.node] = s
                    throw LabError.unsupported("srcip trace on \(t.node) exited with status \(s) before attaching: "
                                               + log(node: t.node).trimmingCharacters(in: .whitespacesAndNewlines))
                }
            }
            if pending.isEmpty { break }
            if Date() > deadline {
                throw LabError.unsupported("srcip trace on \(pending.map(\.node).joined(separator: ", ")) did not start tracing within "
                                           + "\(Int(timeout)) s; see \(pending[0].log)")
            }
            usleep(20_000)
        }
    }

    /// waitpid until `deadline`; the exit status (128+N for signal N), or nil if still running.
    private static func reap(_ pid: pid_t, until deadline: Date) -> Int32? {
        while true {
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                let sig = status & 0x7f
                return sig == 0 ? (status >> 8) & 0xff : 128 + sig
            }
            if r < 0 && errno != EINTR { return -1 }
            if Date() >= deadline { return nil }
            usleep(10_000)
        }
    }
}
