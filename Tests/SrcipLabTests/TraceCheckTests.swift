import Foundation
import SrcipCore
import SrcipLabCluster
import SrcipLabKubeProxy
import SrcipLabWorkloads
import SrcipLabNetwork
import SrcipLabDemo
import SrcipSystem
import Testing

/// `srcip trace --check` and `srcip merge --check`: the verification table, JUnit report and exit status scripts and
/// CI use, on a lab node that behaves as documented, on one whose rules were broken by hand (every packet toward
/// the pods masqueraded), and cluster-wide over three nodes' records.
@Suite(.serialized, .privileged)
struct TraceCheckTests {
    static func tempPath(_ what: String) -> String {
        "/tmp/srcip-check-\(getpid())-\(UInt32.random(in: 0..<1_000_000)).\(what)"
    }

    /// Runs `srcip trace --check` (plus `extra`) in node1 while the external client calls the eTP=Local NodePort on node1.
    func checkRun(_ naming: LabNaming, _ record: LabRecord, srcip: String, extra: [String] = [])
        throws -> (status: Int32, stderr: String) {
        let node1 = try LabController.namespace(for: "node1", record: record, naming: naming)
        let client = try LabController.namespace(for: "client", record: record, naming: naming)
        let service = try #require(record.state.services.first { $0.name == "nodeport-local" })
        let nodePort = try #require(service.ports.first?.nodePort)
        let err = Self.tempPath("err")
        defer { unlink(err) }
        let pid = try Command.spawnDetached("/usr/sbin/ip", ["netns", "exec", node1, srcip, "trace", "--check",
                                                                    "--duration", "3", "--node", "node1", "--output", "/dev/null"] + extra,
                                                  log: err)
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, !((try? String(contentsOfFile: err, encoding: .utf8))?.contains("tracing") ?? false) {
            usleep(50_000)
        }
        let outcome = HTTPProbe.get(in: client, ip: "192.168.10.11", port: nodePort)
        #expect(outcome.clientAddress != nil, "the request was served: \(outcome)")
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return ((status >> 8) & 0xff, (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    /// The table's rows (lines starting with a status mark), in order.
    static func tableRows(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { l in ["✗", "✓", "?", "-"].contains { l.hasPrefix($0 + "  ") } }
    }

    @Test func passesWhenTheNodeBehavesAsDocumentedAndFailsFirstWithEvidenceWhenItSNATsLocalTraffic() throws {
        let srcip = try LabTestSupport.srcipExecutable()
        let naming = try LabNaming(lab: LabTestSupport.uniqueLabName("chk"))
        let (objects, _) = try LabManifest.parse(LabManifest.defaultManifest, source: "seed")
        let state = try ClusterState.build(from: objects, nodeCount: 2)
        let record = try LabController.up(state: state, options: LabUpOptions(naming: naming, srcipExecutable: srcip))
        defer { _ = try? LabController.down(naming: naming) }

        let good = try checkRun(naming, record, srcip: srcip)
        #expect(good.status == 0, "\(good.stderr)")
        #expect(Self.tableRows(good.stderr).first?.hasPrefix("✓  default/nodeport-local:80") == true, "\(good.stderr)")
        #expect(good.stderr.contains("check: 1 Service paths as documented, 0 not (flows: 1 as documented, 0 not"), "\(good.stderr)")

        // A Service selected but never called is "not exercised"; all selected unexercised: exit 2.
        let idle = try checkRun(naming, record, srcip: srcip, extra: ["--check-service", "default/clusterip"])
        #expect(idle.status == 2, "\(idle.stderr)")
        #expect(Self.tableRows(idle.stderr) == Self.tableRows(idle.stderr).filter { $0.contains("not exercised") }
                && Self.tableRows(idle.stderr).count == 1, "\(idle.stderr)")

        let node1 = try LabController.namespace(for: "node1", record: record, naming: naming)
        try Command.check("ip", ["netns", "exec", node1, "iptables", "-t", "nat", "-I", "POSTROUTING", "-o", "cni0",
                                       "-j", "MASQUERADE"])
        let junit = Self.tempPath("xml")
        defer { unlink(junit) }
        let bad = try checkRun(naming, record, srcip: srcip, extra: ["--junit", junit, "--check-service", "default/nodeport-local",
                                                                      "--check-service", "default/clusterip"])
        #expect(bad.status == 1, "\(bad.stderr)")
        let rows = Self.tableRows(bad.stderr)
        #expect(rows.first?.hasPrefix("✗  default/nodeport-local:80") == true, "\(bad.stderr)")
        #expect(rows.first?.contains("10.244.1.1 (node1/cni0 egress) ×1") == true && rows.first?.contains("preserved (row 11)") == true,
                "the evidence: what the backend saw instead, and where it was written: \(bad.stderr)")
        #expect(rows.last?.contains("not exercised") == true && rows.count == 2, "\(bad.stderr)")
        #expect(bad.stderr.contains("✗ default/nodeport-local:80 node_port from external:"), "\(bad.stderr)")
        #expect(bad.stderr.contains("SNAT at node1/cni0 egress"), "\(bad.stderr)")
        let xml = try String(contentsOfFile: junit, encoding: .utf8)
        #expect(xml.contains("failures=\"1\"") && xml.contains("<failure type=\"SourceIPNotAsDocumented\""), "\(xml)")
        #expect(xml.contains("classname=\"default/nodeport-local:80\""), "\(xml)")
    }

    @Test func mergeCheckOverThreeNodesGivesClusterWideRows() throws {
        let srcip = try LabTestSupport.srcipExecutable()
        let naming = try LabNaming(lab: LabTestSupport.uniqueLabName("mck"))
        let (objects, _) = try LabManifest.parse(LabManifest.defaultManifest, source: "seed")
        let state = try ClusterState.build(from: objects, nodeCount: 3)
        let record = try LabController.up(state: state, options: LabUpOptions(naming: naming, srcipExecutable: srcip))
        defer { _ = try? LabController.down(naming: naming) }
        let dir = Self.tempPath("d")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let session = try LabTraceSession.start(record: record, naming: naming, srcip: srcip,
                                                options: LabTraceSession.Options(idleTimeout: 2), directory: dir)
        defer { session.stop() }
        let client = try LabController.namespace(for: "client", record: record, naming: naming)
        var served: [String: String] = [:]
        for name in ["nodeport", "nodeport-local"] {
            let port = try #require(state.services.first { $0.name == name }?.ports.first?.nodePort)
            for node in state.nodes {
                served["\(name)@\(node.name)"] = HTTPProbe.get(in: client, ip: node.ip.description, port: port, timeout: 1.5).clientAddress
            }
        }
        #expect(served["nodeport@node2"] == "192.168.10.12" && served["nodeport-local@node2"] == nil, "\(served)")
        let statuses = session.stop()
        #expect(statuses.values.allSatisfy { $0 == 0 }, "\(statuses)")
        let files = session.traces.map(\.output)
        #expect(files.count == 3)
        let junit = Self.tempPath("xml")
        defer { unlink(junit) }
        let result = try Command.run(srcip, ["merge", "--check", "--junit", junit] + files)
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        let rows = Self.tableRows(result.stdout)
        #expect(result.stdout.contains("cluster-wide (paths stitched across nodes)"), "\(result.stdout)")
        let cluster = rows.first { $0.contains("default/nodeport:80") }
        #expect(cluster?.contains("node1 ×1, node2 ×1, node3 ×1") == true, "\(rows)")
        #expect(cluster?.contains("192.168.10.12 (node2/eth0 egress) ×1") == true
                && cluster?.contains("192.168.10.13 (node3/eth0 egress) ×1") == true, "the source the backend saw end to end: \(rows)")
        let local = rows.filter { $0.contains("default/nodeport-local:80") }
        #expect(local.count == 2 && local.allSatisfy { $0.hasPrefix("✓") }, "\(rows)")
        #expect(local.contains { $0.contains("client 203.0.113.10 ×1") && $0.contains("preserved (row 11)") }, "\(rows)")
        #expect(local.contains { $0.contains("dropped@node2 ×1, dropped@node3 ×1") && $0.contains("dropped (row 12)") }, "\(rows)")
        let xml = try String(contentsOfFile: junit, encoding: .utf8)
        #expect(xml.contains("<testsuite name=\"srcip check cluster\" tests=\"\(rows.count)\" failures=\"0\""), "\(xml)")
    }
}
