import Foundation
import SrcipCore
@testable import SrcipLabCluster
@testable import SrcipLabKubeProxy
@testable import SrcipLabNetwork
import SrcipLabWorkloads
import SrcipSystem
import Testing

/// Issue 8, end to end as a user would try it, in both proxy modes. `srcip trace --services auto` starts on bare lab
/// nodes (no pods, no Services); `srcip lab apply` and `srcip lab scale` then add the pods and Services of the §4
/// scenarios; rows 1, 8 (both entry nodes), 11, 12, 13 and 23 afterwards carry the right Service, verdict and SNAT
/// address in the entry node's records; a pod deleted mid-trace lets its veth go without an error. And on a dual-stack
/// lab: IPv4 and IPv6 flows to one Service (read from iptables + ip6tables, or the `ip` + `ip6` tables) are attributed
/// to it with the right verdicts.
@Suite("Truth on a living node (privileged)", .serialized, .privileged)
struct LiveNodeTests {
    static let nodeIPs = ["192.168.10.11", "192.168.10.12"]

    /// The rows run after the lab was populated (the bridge CNI's addresses; see `KubeProxyScenarioTests.rows`).
    static func rows(_ mode: ProxyMode) -> [ScenarioRow] {
        let wanted: Set<Int> = [1, 8, 11, 12, 13, 23]
        return KubeProxyScenarioTests.rows(mode).filter { wanted.contains($0.row) }
    }

    /// `ScenarioManifest` with the web Deployment at `webReplicas`.
    static func manifest(webReplicas: Int) -> String {
        ScenarioManifest.yaml.replacingOccurrences(of: "replicas: 1", with: "replicas: \(webReplicas)")
    }

    @Test("trace starts on bare nodes; apply and scale add pods and Services; rows 1, 8, 11, 12, 13, 23 are right; a deleted pod is let go",
          arguments: ProxyMode.allCases)
    func bareNodeThenPopulated(mode: ProxyMode) throws {
        let started = Date()
        let srcip = try LabTestSupport.srcipExecutable()
        let naming = try LabNaming(lab: LabTestSupport.uniqueLabName(mode == .iptables ? "li" : "ln"))
        // Bare: only the web Deployment, at 0 replicas — no pod, no Service, no veth on any node.
        let bare = try LabManifest.parse(Self.manifest(webReplicas: 0).components(separatedBy: "\n---\n")[0], source: "bare").objects
        let state = try ClusterState.build(from: bare, nodeCount: 2)
        #expect(state.pods.isEmpty && state.services.isEmpty)
        try LabController.up(state: state, options: LabUpOptions(naming: naming, proxyMode: mode, objects: bare, srcipExecutable: srcip))
        defer { _ = try? LabController.down(naming: naming) }

        let traces = try ["node1", "node2"].map { try LiveTrace(naming: naming, node: $0, nodeIPs: Self.nodeIPs, srcip: srcip) }
        defer { traces.forEach { $0.remove() } }
        for t in traces {
            #expect(t.wait { $0.contains("tracing ") }, "\(t.node): \(t.stderr)")
        }

        // Populate with the CLI: every pod and Service but the web pod, then scale web to 1.
        let file = "/tmp/srcip-live-\(getpid())-\(mode).yaml"
        defer { unlink(file) }
        try Self.manifest(webReplicas: 0).write(toFile: file, atomically: true, encoding: .utf8)
        _ = try Command.check(srcip, ["lab", "apply", "--name", naming.lab, file])
        _ = try Command.check(srcip, ["lab", "scale", "--name", naming.lab, "web", "1"])
        var record = try #require(try LabRecord.load(naming))
        let web = try #require(record.state.pods.first { $0.name == "web-0" })
        let webVeth = LabNaming.podVeth(web, cni: .bridge)
        // The new veths are attached and the catalog has every Service with the web endpoint.
        #expect(traces[0].wait { $0.contains("interface \(webVeth) ") && $0.contains("appeared: attached") }, "\(traces[0].stderr)")
        for t in traces {
            #expect(t.wait { $0.contains("default/cluster") && $0.contains("default/empty") }, "\(t.node): \(t.stderr)")
        }
        usleep(1_500_000)   // the debounced refresh after the scale (endpoints of cluster/local/ranges changed)

        var probes: [ScenarioProbe] = []
        var port: UInt16 = 43000
        for row in Self.rows(mode) {
            port += 1
            probes.append(try KubeProxyScenarioTests().run(row, record: &record, naming: naming, sourcePort: port))
        }

        // Delete a pod mid-trace: node1 lets its veth go; the trace keeps recording (row 11 once more).
        let gone = try #require(record.state.pods.first { $0.name == "client-n1" })
        _ = try Command.check(srcip, ["lab", "delete", "--name", naming.lab, "pod/client-n1"])
        let goneVeth = LabNaming.podVeth(gone, cni: .bridge)
        #expect(traces[0].wait(timeout: 5) { $0.contains("interface \(goneVeth) ") && $0.contains(": detached") }, "\(traces[0].stderr)")
        record = try #require(try LabRecord.load(naming))
        port += 1
        let after = try #require(Self.rows(mode).first { $0.row == 11 })
        probes.append(try KubeProxyScenarioTests().run(after, record: &record, naming: naming, sourcePort: port))
        usleep(1_200_000)   // TCP records are written one quiet second after FIN

        var results: [String: (status: Int32, stderr: String, records: [[String: Any]])] = [:]
        for t in traces { results[t.node] = try t.finish() }
        for (node, r) in results {
            #expect(r.status == 0, "\(node): exit \(r.status)\n\(r.stderr)")
            #expect(!r.stderr.contains("error"), "\(node): \(r.stderr)")
        }
        for probe in probes {
            ProbeRecordCheck.check(probe, records: results[probe.entry.name]?.records ?? [])
        }
        let counts = LiveTrace.interfaceCounts(results["node1"]?.stderr ?? "")
        #expect(counts?.attachedLater ?? 0 >= 2 && counts?.removed == 1, "node1: \(results["node1"]?.stderr ?? "")")
        #expect(try Command.run("ip", ["-n", naming.nodeNamespace("node1"), "link", "show", goneVeth]).status != 0)
        print("[\(mode)] bare node → populated → \(probes.count) probes in \(Int(Date().timeIntervalSince(started) * 1000)) ms")
    }

    @Test("dual-stack lab: IPv4 and IPv6 flows to one Service are attributed to it with the right verdicts", arguments: ProxyMode.allCases)
    func dualStackServices(mode: ProxyMode) throws {
        let started = Date()
        let srcip = try LabTestSupport.srcipExecutable()
        let naming = try LabNaming(lab: LabTestSupport.uniqueLabName(mode == .iptables ? "l6i" : "l6n"))
        var (objects, _) = try LabManifest.parse(ScenarioManifest.yaml, source: "scenarios")
        for i in objects.services.indices { objects.services[i].ipFamilyPolicy = .preferDualStack }
        let state = try ClusterState.build(from: objects, nodeCount: 2, ipFamily: .dual)
        var record = try LabController.up(state: state, options: LabUpOptions(naming: naming, proxyMode: mode, srcipExecutable: srcip))
        defer { _ = try? LabController.down(naming: naming) }
        let nodeIPs = Self.nodeIPs + ["fd00:192:168:10::11", "fd00:192:168:10::12"]
        let traces = try ["node1", "node2"].map { try LiveTrace(naming: naming, node: $0, nodeIPs: nodeIPs, srcip: srcip) }
        defer { traces.forEach { $0.remove() } }
        for t in traces {
            #expect(t.wait { $0.contains("tracing ") }, "\(t.node): \(t.stderr)")
        }

        var probes: [(ScenarioProbe, IPFamily)] = []
        var port: UInt16 = 44000
        for family in [IPFamily.ipv4, .ipv6] {
            for row in DatapathRows.coreRows(cni: .bridge, family: family) {
                port += 1
                probes.append((try KubeProxyScenarioTests().run(row, record: &record, naming: naming, sourcePort: port), family))
            }
        }
        usleep(1_200_000)
        var results: [String: (status: Int32, stderr: String, records: [[String: Any]])] = [:]
        for t in traces { results[t.node] = try t.finish() }
        for (node, r) in results {
            #expect(r.status == 0, "\(node): exit \(r.status)\n\(r.stderr)")
            // One catalog entry per dual-stack Service (cluster, local, ranges, self, empty), not one per family.
            #expect(r.stderr.contains("catalog: 0 refreshes, 5 Services"), "\(node): \(r.stderr)")
        }
        for (probe, family) in probes {
            ProbeRecordCheck.check(probe, records: results[probe.entry.name]?.records ?? [])
            let r = ProbeRecordCheck.record(of: probe, in: results[probe.entry.name]?.records ?? []).first
            #expect(r?["family"] as? String == family.rawValue.lowercased(), "\(probe.row): \(r ?? [:])")
        }
        // The same Service answered on both families, at both ClusterIPs.
        let cluster = try #require(record.state.service(name: "cluster"))
        #expect(cluster.clusterIPs.count == 2)
        let clusterFamilies = Set(probes.filter { $0.0.service.name == "cluster" }.map { $0.1 })
        #expect(clusterFamilies == [.ipv4, .ipv6])
        print("[\(mode)] dual-stack: \(probes.count) probes in \(Int(Date().timeIntervalSince(started) * 1000)) ms")
    }
}
