import Foundation
import SrcipCore
import SrcipExport
import SrcipJSON
import SrcipSystem
import SrcipLabCluster
import SrcipLabWorkloads
import SrcipLabNetwork
import SrcipExport
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
        /// Seconds to wait for every trace to write its ready file.
        public var startTimeout: Double = 20
        /// `--check --junit <tag>-<node>.junit.xml`: each trace verifies its flows at exit (the report goes to its log,
        /// as JSON lines; the exit status is `--check`'s).
        public var check = false

        public init(fingerprint: Bool = false, idleTimeout: Double = 10, tag: String = "trace", check: Bool = false) {
            self.fingerprint = fingerprint
            self.idleTimeout = idleTimeout
            self.tag = tag
            self.check = check
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
        /// The `--ready-file` srcip writes once it records (see `TraceReady`).
        public var readyFile: String
        /// The `--junit` report (with `Options.check`), written when the trace stops.
        public var junit: String?
    }

    /// What `srcip trace --ready-file` reports once every hook is attached and the Service catalog is read.
    public struct TraceReady: Sendable, Equatable {
        public var pid: Int32
        public var node: String
        public var interfaces: [String]
        /// "tcx" or "clsact".
        public var attach: String
        /// "conntrack" or "fingerprint".
        public var join: String
        public var services: String
    }

    public private(set) var traces: [NodeTrace] = []
    /// Each node's ready report, once its trace started.
    public private(set) var ready: [String: TraceReady] = [:]
    private var exitStatus: [String: Int32]?
    /// Traces already reaped (never signalled again: their pid may be reused).
    private var finished: [String: Int32] = [:]

    private init() {}

    /// Starts a trace in every node of the lab and returns once each has written its ready file.
    /// Records go to `directory` (default: the lab's run directory).
    public static func start(record: LabRecord, naming: LabNaming, srcip: String, options: Options = Options(),
                             directory: String? = nil) throws -> LabTraceSession {
        let dir = directory ?? naming.runDirectory
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let ip = try Command.require("ip")
        let nodeIPs = record.state.nodes.flatMap { [$0.ip, $0.ip6].compactMap { $0?.description } }.joined(separator: ",")
        let session = LabTraceSession()
        do {
            for node in record.state.nodes {
                let output = "\(dir)/\(options.tag)-\(node.name).jsonl"
                let log = "\(dir)/\(options.tag)-\(node.name).log"
                let readyFile = "\(dir)/\(options.tag)-\(node.name).ready"
                let junit = options.check ? "\(dir)/\(options.tag)-\(node.name).junit.xml" : nil
                for f in [output, log, readyFile] + (junit.map { [$0] } ?? []) { unlink(f) }
                var args = ["netns", "exec", naming.nodeNamespace(node.name), srcip, "trace", "--format", "jsonl", "--output", output,
                            "--ready-file", readyFile,
                            "--node", node.name, "--node-ips", nodeIPs, "--idle-timeout", String(options.idleTimeout)]
                if options.fingerprint { args.append("--fingerprint") }
                if let junit { args += ["--check", "--junit", junit] }
                let pid = try Command.spawnDetached(ip, args, log: log)
                session.traces.append(NodeTrace(node: node.name, pid: pid, output: output, log: log, readyFile: readyFile,
                                                 junit: junit))
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
            var s = ChildProcess.wait(t.pid, timeout: deadline.timeIntervalSinceNow)
            if s == nil {
                kill(t.pid, SIGKILL)
                s = ChildProcess.wait(t.pid, timeout: 2).map { _ in 128 + SIGKILL } ?? -1
            }
            status[t.node] = s
        }
        exitStatus = status
        return status
    }

    /// The flow records each node wrote, keyed by node (read after `stop`), with SrcipExport's JSON Lines reader.
    /// A missing file or a malformed line is an error.
    public func records() throws -> [String: [FlowRecord]] {
        var out: [String: [FlowRecord]] = [:]
        for t in traces {
            let read: (records: [FlowRecord], errors: [FlowRecordReadError])
            do { read = try FlowRecordReader.read(path: t.output) } catch {
                throw LabError.unsupported("srcip trace on \(t.node) wrote no readable \(t.output) (\(error)); see \(t.log)")
            }
            if let first = read.errors.first {
                throw LabError.unsupported("srcip trace on \(t.node): \(first)")
            }
            out[t.node] = read.records
        }
        return out
    }

    /// The log of a node's trace (diagnostics, counters), for messages.
    public func log(node: String) -> String {
        traces.first { $0.node == node }.flatMap { FileManager.default.contents(atPath: $0.log) }
            .map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// Waits until every trace wrote its ready file; fails as soon as one exits, or at the deadline.
    private func waitUntilTracing(timeout: Double) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var pending = traces
        while !pending.isEmpty {
            for t in pending {
                if let report = try Self.readReady(t) {
                    ready[t.node] = report
                    pending.removeAll { $0.node == t.node }
                } else if let s = ChildProcess.wait(t.pid, timeout: 0) {
                    finished[t.node] = s
                    throw LabError.unsupported("srcip trace on \(t.node) exited with status \(s) before attaching: "
                                               + log(node: t.node).trimmingCharacters(in: .whitespacesAndNewlines))
                }
            }
            if pending.isEmpty { break }
            if Date() > deadline {
                throw LabError.unsupported("srcip trace on \(pending.map(\.node).joined(separator: ", ")) did not write its ready file "
                                           + "within \(Int(timeout)) s; see \(pending[0].log)")
            }
            usleep(20_000)
        }
    }

    /// The trace's ready report, or nil while the file does not exist (srcip renames it into place whole).
    private static func readReady(_ t: NodeTrace) throws -> TraceReady? {
        guard let data = FileManager.default.contents(atPath: t.readyFile) else { return nil }
        do { return try TraceReady(json: [UInt8](data)) } catch {
            throw LabError.unsupported("srcip trace on \(t.node) wrote an unreadable ready file \(t.readyFile): \(error)")
        }
    }
}

extension LabTraceSession.TraceReady {
    /// Reads the ready file's one JSON object; errors name the line/column or the field.
    public init(json: [UInt8]) throws {
        let r = try JSONObjectReader.parse(json)
        pid = try r.integer("pid")
        node = try r.string("node")
        interfaces = try r.strings("interfaces")
        attach = try r.string("attach")
        join = try r.string("join")
        services = try r.string("services")
    }
}
