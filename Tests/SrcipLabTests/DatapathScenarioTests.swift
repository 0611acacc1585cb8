import Foundation
import SrcipCore
@testable import SrcipLabCluster
@testable import SrcipLabKubeProxy
@testable import SrcipLabNetwork
import SrcipSystem
import Testing

/// §4 rows 1, 8, 11 and 12 on the other datapaths of issue 10: an IPv6 single-stack lab (bridge CNI) and a dual-stack
/// lab with the flannel-style VXLAN CNI (each row on both families), in both proxy modes. The expected sources are
/// literals: with VXLAN a node SNATs toward a pod on another node to its overlay address (10.244.N.0, fd00:10:244:N::).
@Suite("kube-proxy §4 scenarios on IPv6 and VXLAN (privileged)", .serialized, .privileged)
struct DatapathScenarioTests {
    struct Datapath: CustomStringConvertible, Sendable {
        var cni: LabCNI
        var ipFamily: LabIPFamily
        var mode: ProxyMode
        var description: String { "\(cni.rawValue)/\(ipFamily.rawValue)/\(mode.rawValue)" }
    }

    static let datapaths: [Datapath] = ProxyMode.allCases.flatMap { mode in
        [Datapath(cni: .bridge, ipFamily: .ipv6, mode: mode), Datapath(cni: .vxlan, ipFamily: .dual, mode: mode)]
    }

    /// The rows on `family`; literal addresses per family and CNI.
    static func rows(cni: LabCNI, family: IPFamily) -> [ScenarioRow] {
        let v6 = family == .ipv6
        let node2SNAT = cni == .vxlan ? (v6 ? "fd00:10:244:2::" : "10.244.2.0") : (v6 ? "fd00:192:168:10::12" : "192.168.10.12")
        let node1Local = v6 ? "fd00:10:244:1::1" : "10.244.1.1"
        let client = v6 ? "fd00:203:0:113::10" : "203.0.113.10"
        return [
            ScenarioRow(row: 1, what: "pod on another node → ClusterIP", client: .pod("client-n2"), target: .clusterIP("cluster"), expect: .podIP("client-n2")),
            ScenarioRow(row: 8, what: "external → node2 NodePort, eTP Cluster", client: .external, target: .nodePort("cluster", node: "node2"), expect: .ip(node2SNAT)),
            ScenarioRow(row: 8, what: "external → node1 NodePort, eTP Cluster (local endpoint)", client: .external, target: .nodePort("cluster", node: "node1"), expect: .ip(node1Local)),
            ScenarioRow(row: 11, what: "external → node1 NodePort, eTP Local, local endpoint", client: .external, target: .nodePort("local", node: "node1"), expect: .ip(client)),
            ScenarioRow(row: 12, what: "external → node2 NodePort, eTP Local, no local endpoint", client: .external, target: .nodePort("local", node: "node2"), expect: .timeout),
        ].map { var r = $0; r.family = family; return r }
    }

    @Test("§4 rows 1, 8, 11, 12", arguments: datapaths)
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
        for family in d.ipFamily == .dual ? [IPFamily.ipv4, .ipv6] : [.ipv6] {
            for row in Self.rows(cni: d.cni, family: family) {
                port += 1
                try KubeProxyScenarioTests().run(row, record: &record, naming: naming, sourcePort: port)
            }
        }
        print("[\(d)] lab up in \(upMs) ms, rows done in \(Int(Date().timeIntervalSince(started) * 1000)) ms")
    }
}
