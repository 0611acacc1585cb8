import Foundation
import SrcipCore
import SrcipLabCluster
import SrcipLabKubeProxy
import SrcipLabWorkloads
import SrcipLabNetwork
import SrcipLabDemo
import SrcipSystem
import Testing

/// `srcip trace --check`: the pass/fail verdict scripts and CI use, on a lab node that behaves as documented
/// and on one whose rules were broken by hand (every forwarded packet masqueraded).
@Suite(.serialized, .privileged)
struct TraceCheckTests {
    /// Runs `srcip trace --check` in node1 while the external client calls the eTP=Local NodePort on node1.
    func checkRun(_ naming: LabNaming, _ record: LabRecord, srcip: String) throws -> (status: Int32, stderr: String) {
        let node1 = try LabController.namespace(for: "node1", record: record, naming: naming)
        let client = try LabController.namespace(for: "client", record: record, naming: naming)
        let service = try #require(record.state.services.first { $0.name == "nodeport-local" })
        let nodePort = try #require(service.ports.first?.nodePort)
        let err = "/tmp/srcip-check-\(getpid())-\(UInt32.random(in: 0..<1_000_000)).err"
        defer { unlink(err) }
        let pid = try Command.spawnDetached("/usr/sbin/ip", ["netns", "exec", node1, srcip, "trace", "--check",
                                                                    "--duration", "3", "--node", "node1", "--output", "/dev/null"],
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

    @Test func passesWhenTheNodeBehavesAsDocumentedAndFailsWhenItSNATsLocalTraffic() throws {
        let srcip = try LabTestSupport.srcipExecutable()
        let naming = try LabNaming(lab: LabTestSupport.uniqueLabName("chk"))
        let (objects, _) = try LabManifest.parse(LabManifest.defaultManifest, source: "seed")
        let state = try ClusterState.build(from: objects, nodeCount: 2)
        let record = try LabController.up(state: state, options: LabUpOptions(naming: naming, srcipExecutable: srcip))
        defer { _ = try? LabController.down(naming: naming) }

        let good = try checkRun(naming, record, srcip: srcip)
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stderr.contains("check: 1 flows as documented, 0 not"), "\(good.stderr)")

        let node1 = try LabController.namespace(for: "node1", record: record, naming: naming)
        try Command.check("ip", ["netns", "exec", node1, "iptables", "-t", "nat", "-I", "POSTROUTING", "-o", "cni0",
                                       "-j", "MASQUERADE"])
        let bad = try checkRun(naming, record, srcip: srcip)
        #expect(bad.status == 1, "\(bad.stderr)")
        #expect(bad.stderr.contains("FAIL") && bad.stderr.contains("nodeport-local"), "\(bad.stderr)")
        #expect(bad.stderr.contains("0 flows as documented, 1 not"), "\(bad.stderr)")
    }
}
