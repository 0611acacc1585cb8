import Foundation
import SrcipCore
@testable import SrcipLabCluster
@testable import SrcipLabKubeProxy
@testable import SrcipLabWorkloads
@testable import SrcipLabNetwork
@testable import SrcipLabDemo
import SrcipSystem
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Privileged: `up` builds namespaces, links and echo pods; pods reach each other across nodes; `down` removes everything.
@Suite("Lab lifecycle (privileged)", .serialized, .privileged)
struct LabLifecycleTests {
    /// 3 nodes × 3 pods, no Services: topology only.
    static func plainState(nodes: Int = 3, podsPerNode: Int = 3) -> ClusterState {
        var labNodes: [LabNode] = []
        var pods: [LabPod] = []
        for i in 1...nodes {
            let node = LabNode(name: "node\(i)", ip: IPAddress("192.168.10.\(10 + i)")!, podCIDR: IPPrefix("10.244.\(i).0/24")!)
            labNodes.append(node)
            for k in 0..<podsPerNode {
                pods.append(LabPod(namespace: "default", name: "p\(i)-\(k)", labels: ["app": "x"], node: node.name,
                                   ip: IPAddress("10.244.\(i).\(2 + k)")!, ports: ["http": 8080]))
            }
        }
        return ClusterState(clusterCIDR: IPPrefix("10.244.0.0/16")!, serviceCIDR: IPPrefix("10.96.0.0/16")!,
                            nodes: labNodes, pods: pods, services: [])
    }

    @Test("up/down of 3 nodes × 3 pods: connectivity, timing, complete teardown")
    func upDown() throws {
        let naming = try LabNaming(lab: LabTestSupport.uniqueLabName("lc"))
        let options = LabUpOptions(naming: naming, srcipExecutable: try LabTestSupport.srcipExecutable())
        let t0 = Date()
        let record = try LabController.up(state: Self.plainState(), options: options)
        let upTime = Date().timeIntervalSince(t0)
        var downDone = false
        defer { if !downDone { _ = try? LabController.down(naming: naming) } }
        print("lab up: \(Int(upTime * 1000)) ms")
        #expect(record.complete)
        #expect(NamespaceProcesses.namespaces(withPrefix: naming.prefix).count == 3 + 3 + 9)

        // Pod on node2 → pod on node1 (host-gw route), pod → pod on the same bridge, external client → node.
        let src = record.state.pods.first { $0.node == "node2" }!
        let dst = record.state.pods.first { $0.node == "node1" }!
        let cross = HTTPProbe.get(in: naming.podNamespace(src), ip: dst.ip.description, port: 8080)
        #expect(cross.clientAddress == src.ip.description, "\(cross)")
        let peer = record.state.pods.filter { $0.node == "node1" }[1]
        #expect(HTTPProbe.get(in: naming.podNamespace(peer), ip: dst.ip.description, port: 8080).clientAddress == peer.ip.description)
        let daemonPids = NamespaceProcesses.pids(in: record.namespaces)
        #expect(daemonPids.count == 9)

        let t1 = Date()
        let report = try LabController.down(naming: naming)
        downDone = true
        print("lab down: \(Int(Date().timeIntervalSince(t1) * 1000)) ms")
        #expect(report.killedProcesses == 9)
        #expect(NamespaceProcesses.namespaces(withPrefix: naming.prefix).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: naming.stateFile))
        #expect(daemonPids.allSatisfy { !NamespaceProcesses.isAlive($0) })
        #expect(upTime < 5)
    }

    @Test("a failing up removes everything it created")
    func failedUpCleansUp() throws {
        let naming = try LabNaming(lab: LabTestSupport.uniqueLabName("f"))
        defer { _ = try? LabController.down(naming: naming) }
        // /bin/false as "srcip": the echo daemons exit at once, so up fails after building the topology.
        #expect(throws: LabError.self) {
            try LabController.up(state: Self.plainState(nodes: 1, podsPerNode: 1),
                                 options: LabUpOptions(naming: naming, srcipExecutable: "/bin/false"))
        }
        #expect(NamespaceProcesses.namespaces(withPrefix: naming.prefix).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: naming.stateFile))
    }

    @Test("down after a killed up: leftover namespaces found by prefix are removed and their processes killed")
    func downAfterKilledUp() throws {
        let naming = try LabNaming(lab: LabTestSupport.uniqueLabName("k"))
        let leftovers = [naming.nodeNamespace("node1"), naming.podNamespace(Self.plainState().pods[0])]
        defer { for ns in leftovers { _ = try? Command.run("ip", ["netns", "del", ns]) } }
        try Command.check("ip", ["-batch", "-"], input: leftovers.map { "netns add \($0)" }.joined(separator: "\n") + "\n")
        let ip = try Command.require("ip")
        let pid = try Command.spawnDetached(ip, ["netns", "exec", leftovers[1], "sleep", "60"], log: "/dev/null")
        defer { kill(pid, SIGKILL); _ = NamespaceProcesses.isAlive(pid) }
        for _ in 0..<100 where NamespaceProcesses.pids(in: [leftovers[1]]).isEmpty { usleep(10_000) }
        #expect(NamespaceProcesses.pids(in: [leftovers[1]]) == [pid])

        #expect(throws: LabError.self) {
            try LabController.up(state: Self.plainState(), options: LabUpOptions(naming: naming, srcipExecutable: "/bin/true"))
        }
        let report = try LabController.down(naming: naming)
        #expect(Set(report.namespaces) == Set(leftovers))
        #expect(report.killedProcesses == 1)
        #expect(!NamespaceProcesses.isAlive(pid))
        #expect(NamespaceProcesses.namespaces(withPrefix: naming.prefix).isEmpty)
        #expect(throws: LabError.self) { try LabController.down(naming: naming) }
    }
}
