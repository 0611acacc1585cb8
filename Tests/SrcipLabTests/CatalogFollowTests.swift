import Foundation
import SrcipCore
import SrcipLabCluster
import SrcipLabKubeProxy
import SrcipLabNetwork
import SrcipLabWorkloads
import SrcipSystem
import Testing

/// Privileged: `srcip trace` follows Services that change while it runs, in both proxy modes — one trace with
/// `--services auto` (nf_tables notifications) and one with `--services FILE` rewritten mid-trace.
@Suite("Trace follows Services (privileged)", .serialized, .privileged)
struct CatalogFollowTests {
    /// A web pod on node1 behind the NodePort Service `old`.
    static let base = ScenarioManifest.webDeployment + """
        apiVersion: v1
        kind: Service
        metadata: {name: old}
        spec:
          type: NodePort
          selector: {app: web}
          ports: [{port: 80, targetPort: 8080}]
        """
    static let added = """
        apiVersion: v1
        kind: Service
        metadata: {name: new}
        spec:
          type: NodePort
          selector: {app: web}
          ports: [{port: 80, targetPort: 8080}]
        """

    /// A running `srcip trace` in a lab node, writing JSON Lines.
    struct Trace {
        var pid: pid_t
        var output: String
        var log: String

        init(node: String, args: [String], srcip: String, tag: String) throws {
            output = "/tmp/srcip-follow-\(getpid())-\(tag).jsonl"
            log = "/tmp/srcip-follow-\(getpid())-\(tag).err"
            pid = try Command.spawnDetached("/usr/sbin/ip", ["netns", "exec", node, srcip, "trace", "--verbose", "--format", "jsonl",
                                                             "--output", output, "--node", "node1", "--duration", "60"] + args, log: log)
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline, !stderr.contains("tracing ") { usleep(50_000) }
        }

        var stderr: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

        /// Stops the trace (SIGINT) and returns its records.
        func finish() throws -> [[String: Any]] {
            kill(pid, SIGINT)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            return try text.split(separator: "\n").map {
                try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            }
        }

        func remove() {
            kill(pid, SIGKILL)
            unlink(output)
            unlink(log)
        }
    }

    /// The client's connection to `port` on node1: connects now, sends its request after `holdSeconds`.
    func slowRequest(_ naming: LabNaming, port: UInt16, holdSeconds: Double) throws -> pid_t {
        let script = """
            import socket, time
            s = socket.create_connection(("192.168.10.11", \(port)), timeout=10)
            time.sleep(\(holdSeconds))
            s.sendall(b"GET / HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n")
            while s.recv(4096): pass
            """
        return try Command.spawnDetached("/usr/sbin/ip", ["netns", "exec", naming.clientNamespace, "python3", "-c", script],
                                         log: "/dev/null")
    }

    func rulesDump(_ node: String, mode: ProxyMode) throws -> String {
        mode == .iptables ? try Command.check("ip", ["netns", "exec", node, "iptables-save"])
            : try Command.check("ip", ["netns", "exec", node, "nft", "-j", "list", "ruleset"])
    }

    func records(_ all: [[String: Any]], dstPort: UInt16) -> [[String: Any]] {
        all.filter { ($0["dst_port"] as? Int) == Int(dstPort) }
    }

    func serviceName(_ r: [String: Any]?) -> String? { (r?["service"] as? [String: Any])?["name"] as? String }

    @Test("added and deleted Services are followed; a rewritten --services FILE is re-read", arguments: ProxyMode.allCases)
    func followsServices(mode: ProxyMode) throws {
        let naming = try LabNaming(lab: LabTestSupport.uniqueLabName(mode == .iptables ? "fi" : "fn"))
        let srcip = try LabTestSupport.srcipExecutable()
        let objects = try LabManifest.parse(Self.base, source: "base").objects
        let state = try ClusterState.build(from: objects, nodeCount: 2)
        try LabController.up(state: state, options: LabUpOptions(naming: naming, proxyMode: mode, objects: objects, srcipExecutable: srcip))
        defer { _ = try? LabController.down(naming: naming) }
        let node1 = naming.nodeNamespace("node1")
        let oldPort = try #require(state.service(name: "old")?.ports.first?.nodePort)

        let file = "/tmp/srcip-follow-\(getpid())-\(mode).rules"
        defer { unlink(file) }
        try rulesDump(node1, mode: mode).write(toFile: file, atomically: false, encoding: .utf8)
        let auto = try Trace(node: node1, args: ["--services", "auto"], srcip: srcip, tag: "\(mode)-auto")
        defer { auto.remove() }
        let fromFile = try Trace(node: node1, args: ["--services", file], srcip: srcip, tag: "\(mode)-file")
        defer { fromFile.remove() }
        #expect(auto.stderr.contains("tracing ") && fromFile.stderr.contains("tracing "), "\(auto.stderr)\n\(fromFile.stderr)")

        // A connection to `old` starts; `new` is added, then `old` deleted; the connection finishes afterwards.
        let slow = try slowRequest(naming, port: oldPort, holdSeconds: 3)
        usleep(800_000)
        let record = try LabReconciler.apply(try LabManifest.parse(Self.added, source: "added").objects, naming: naming, srcip: srcip).record
        let newPort = try #require(record.state.service(name: "new")?.ports.first?.nodePort)
        #expect(newPort != oldPort)
        _ = try LabReconciler.delete(.service, name: "old", naming: naming, srcip: srcip)

        // `new` is called at once.
        let first = HTTPProbe.get(in: naming.clientNamespace, ip: "192.168.10.11", port: newPort, timeout: 3)
        #expect(first.clientAddress == "10.244.1.1", "\(first)")

        // The file is caught mid-write (kept: warning), then completed; a call after that is attributed from it.
        let dump = try rulesDump(node1, mode: mode)
        try String(dump.prefix(dump.count / 2)).write(toFile: file, atomically: false, encoding: .utf8)
        usleep(2_500_000)
        try dump.write(toFile: file, atomically: false, encoding: .utf8)
        usleep(2_500_000)
        let second = HTTPProbe.get(in: naming.clientNamespace, ip: "192.168.10.11", port: newPort, timeout: 3)
        #expect(second.clientAddress == "10.244.1.1", "\(second)")
        var status: Int32 = 0
        while waitpid(slow, &status, 0) < 0 && errno == EINTR {}
        usleep(500_000)

        let autoRecords = try auto.finish()
        let autoLog = auto.stderr
        let oldFlow = records(autoRecords, dstPort: oldPort).first
        #expect(serviceName(oldFlow) == "old", "\(autoRecords)\n\(autoLog)")
        let newFlows = records(autoRecords, dstPort: newPort)
        #expect(newFlows.count == 2, "\(autoRecords)")
        for r in newFlows {
            #expect(serviceName(r) == "new" && r["verdict"] as? String == "snat" && r["expected"] as? String == "snat"
                    && r["expectation_met"] as? Bool == true, "\(r)")
        }
        #expect(autoLog.contains("Services refreshed (nf_tables change)") && autoLog.contains("added: default/new")
                && autoLog.contains("removed: default/old"), "\(autoLog)")
        // The add and the delete come within one debounce window or in two refreshes.
        let summary = autoLog.split(separator: "\n").first { $0.hasPrefix("srcip: catalog: ") }
        #expect(summary?.hasSuffix(" 1 Services") == true && summary?.contains("0 refreshes") == false, "\(autoLog)")

        let fileRecords = try fromFile.finish()
        let fileLog = fromFile.stderr
        #expect(serviceName(records(fileRecords, dstPort: oldPort).first) == "old", "\(fileRecords)")
        let viaFile = records(fileRecords, dstPort: newPort)
        #expect(viaFile.count == 2 && serviceName(viaFile.max { ($0["start"] as? String ?? "") < ($1["start"] as? String ?? "") }) == "new",
                "\(fileRecords)\n\(fileLog)")
        #expect(fileLog.contains("Services not re-read (file change)") && fileLog.contains("keeping the previous catalog"), "\(fileLog)")
        #expect(fileLog.contains("Services refreshed (file change)") && fileLog.contains("catalog: 1 refresh, 1 Services"), "\(fileLog)")
    }
}
