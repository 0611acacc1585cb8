import Foundation
import SrcipCore
@testable import SrcipLabCluster
@testable import SrcipLabKubeProxy
@testable import SrcipLabNetwork
import SrcipSystem
import Testing

/// Every §4 row kube-proxy decides (`DatapathRows`) on dual-stack labs of each CNI — bridge, routed and flannel-style
/// VXLAN — in both proxy modes, each row on both families: the documented model and what the echo pod saw agree with
/// the literal expectation (with VXLAN a node SNATs toward a pod on another node to its overlay address 10.244.N.0,
/// fd00:10:244:N::; with the routed CNI toward a local pod to its node IP).
@Suite("kube-proxy §4 scenarios on dual-stack bridge, routed and VXLAN labs (privileged)", .serialized, .privileged)
struct DatapathScenarioTests {
    struct Datapath: CustomStringConvertible, Sendable {
        var cni: LabCNI
        var ipFamily: LabIPFamily
        var mode: ProxyMode
        var description: String { "\(cni.rawValue)/\(ipFamily.rawValue)/\(mode.rawValue)" }
    }

    static let datapaths: [Datapath] = ProxyMode.allCases.flatMap { mode in
        [LabCNI.bridge, .routed, .vxlan].map { Datapath(cni: $0, ipFamily: .dual, mode: mode) }
    }

    @Test("§4 rows 1–4, 8–21, 23 on both families", arguments: datapaths)
    func scenarios(_ d: Datapath) throws {
        let naming = try LabNaming(lab: LabTestSupport.uniqueLabName("d\(d.cni.rawValue.prefix(1))\(d.mode.rawValue.prefix(1))"))
        var (objects, _) = try LabManifest.parse(ScenarioManifest.yaml, source: "scenarios")
        if d.ipFamily == .dual {
            for i in objects.services.indices { objects.services[i].ipFamilyPolicy = .preferDualStack }
        }
        let state = try ClusterState.build(from: objects, nodeCount: 3, cni: d.cni, ipFamily: d.ipFamily)
        let started = Date()
        var record = try LabController.up(state: state, options: LabUpOptions(naming: naming, proxyMode: d.mode,
                                                                              srcipExecutable: try LabTestSupport.srcipExecutable()))
        defer { _ = try? LabController.down(naming: naming) }
        let upMs = Int(Date().timeIntervalSince(started) * 1000)
        let cluster = try #require(state.service(name: "cluster"))
        #expect(cluster.clusterIPs.map(IPFamily.of) == d.ipFamily.families, "\(cluster.clusterIPs)")
        if d.cni == .vxlan {
            let link = try Command.check("ip", ["-d", "-n", naming.nodeNamespace("node2"), "link", "show", "flannel.1"])
            #expect(link.contains("vxlan id 1 ") && link.contains("dstport 8472") && link.contains("nolearning"), "\(link)")
            let fdb = try Command.check("bridge", ["-n", naming.nodeNamespace("node2"), "fdb", "show", "dev", "flannel.1"])
            #expect(fdb.contains("dst 192.168.10.11") && fdb.contains("dst 192.168.10.13"), "\(fdb)")
        }
        var port: UInt16 = 42000
        for family in d.ipFamily.families {
            for row in DatapathRows.rows(d.mode, cni: d.cni, family: family) {
                port += 1
                try KubeProxyScenarioTests().run(row, record: &record, naming: naming, sourcePort: port)
            }
        }
        print("[\(d)] lab up in \(upMs) ms, \(port - 42000) rows done in \(Int(Date().timeIntervalSince(started) * 1000)) ms")
    }
}
