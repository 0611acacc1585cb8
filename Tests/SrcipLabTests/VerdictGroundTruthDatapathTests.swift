import Foundation
import SrcipCore
@testable import SrcipLabCluster
@testable import SrcipLabKubeProxy
@testable import SrcipLabWorkloads
@testable import SrcipLabNetwork
@testable import SrcipLabDemo
import SrcipSystem
import Testing

/// srcip's verdicts against ground truth on the other datapaths of issue 10: every CNI (bridge, routed, vxlan) ×
/// family (ipv4, ipv6) × proxy mode except bridge/ipv4 (VerdictGroundTruthTests runs it, with the fingerprint join
/// too). One lab per combination runs every §4 row kube-proxy decides (`DatapathRows`: 1–4, 8–21, 23; row 10 over
/// 127.0.0.1 on IPv4 only) with one conntrack-joined trace per node. Checked as there: verdict and backend-seen source
/// vs the echo pod, the entry node's xlat_* vs `conntrack -L`; on vxlan/ipv4 `srcip merge` of node2's and node1's
/// records, and that the SNAT address is named as flannel.1's.
@Suite("srcip verdicts vs ground truth per CNI and family (privileged)", .serialized, .privileged)
struct VerdictGroundTruthDatapathTests {
    struct Datapath: CustomStringConvertible, Sendable {
        var cni: LabCNI
        var family: IPFamily
        var mode: ProxyMode
        var description: String { "\(cni.rawValue)/\(family.rawValue)/\(mode.rawValue)" }
    }

    static let datapaths: [Datapath] = ProxyMode.allCases.flatMap { mode in
        [LabCNI.bridge, .routed, .vxlan].flatMap { cni in
            [IPFamily.ipv4, .ipv6].compactMap { f in cni == .bridge && f == .ipv4 ? nil : Datapath(cni: cni, family: f, mode: mode) }
        }
    }

    @Test("§4 rows 1–4, 8–21, 23 per CNI × family × proxy mode", arguments: datapaths)
    func verdicts(_ d: Datapath) throws {
        let naming = try LabNaming(lab: LabTestSupport.uniqueLabName("g\(d.cni.rawValue.prefix(1))\(d.family == .ipv6 ? "6" : "4")\(d.mode.rawValue.prefix(1))"))
        let (objects, _) = try LabManifest.parse(ScenarioManifest.yaml, source: "scenarios")
        let labFamily: LabIPFamily = d.family == .ipv6 ? .ipv6 : .ipv4
        let state = try ClusterState.build(from: objects, nodeCount: 3, cni: d.cni, ipFamily: labFamily)
        let srcip = try LabTestSupport.srcipExecutable()
        let started = Date()
        var record = try LabController.up(state: state, options: LabUpOptions(naming: naming, proxyMode: d.mode, srcipExecutable: srcip))
        defer { _ = try? LabController.down(naming: naming) }
        let ct = try LabTraceSession.start(record: record, naming: naming, srcip: srcip, options: .init(tag: "ct"))
        defer { ct.stop() }

        var sent: [VerdictGroundTruthTests.Sent] = []
        var port: UInt16 = 43000
        for row in DatapathRows.rows(d.mode, cni: d.cni, family: d.family) {
            port += 1
            let t0 = DemoTraceObserver.nowNs()
            let probe = try KubeProxyScenarioTests().run(row, record: &record, naming: naming, sourcePort: port)
            let t1 = DemoTraceObserver.nowNs()
            let entries = try ConntrackListing.tcp(in: naming.nodeNamespace(probe.entry.name), sourcePort: port, family: d.family)
            sent.append(.init(probe: probe, startNs: t0, endNs: t1, conntrack: entries))
        }
        let status = ct.stop()
        #expect(status.values.allSatisfy { $0 == 0 }, "traces exited with \(status)")
        let paths = FlowPathMerger.merge(try ct.records().values.flatMap { $0 }).paths
        let truth = VerdictGroundTruthTests()
        for s in sent {
            try truth.checkOne(s, paths: paths, state: record.state, what: "\(s.probe.row) [\(d)]")
        }
        if d.cni == .vxlan && d.family == .ipv4 { try checkOverlayMerge(sent, session: ct, srcip: srcip) }
        print("[\(d)] \(sent.count) requests checked in \(Int(Date().timeIntervalSince(started) * 1000)) ms")
    }

    /// `srcip merge` of external → node2:NodePort (eTP Cluster) served on node1 over VXLAN: one path, SNAT to node2's
    /// overlay address written at flannel.1, and named as flannel.1's address; the hops crossed the overlay in VXLAN.
    private func checkOverlayMerge(_ sent: [VerdictGroundTruthTests.Sent], session: LabTraceSession, srcip: String) throws {
        let (s, paths, output) = try VerdictGroundTruthTests.mergedNodePortPaths(sent, session: session, srcip: srcip)
        #expect(paths.count == 1, "one merged path for client port \(s.probe.sourcePort): \(paths)")
        let path = try #require(paths.first, "no merged path in \(output.prefix(2000))")
        #expect((path["hops"] as? [[String: Any]] ?? []).map { $0["node"] as? String } == ["node2", "node1"], "\(path)")
        #expect(path["backend_saw_ip"] as? String == "10.244.2.0", "node2's flannel.1 address: \(path)")
        let written = path["snat_written_at"] as? [String: Any]
        #expect(written?["node"] as? String == "node2" && written?["interface"] as? String == "flannel.1", "\(String(describing: written))")
        #expect(written?["address_interface"] as? String == "flannel.1", "\(String(describing: written))")
        #expect(path["verdict"] as? String == "snat" && path["expectation_met"] as? Bool == true, "\(path)")
        // node2's record: the text says whose address it is; the request left node2's eth0 inside VXLAN (VNI 1, UDP 8472).
        let node2 = try #require(try session.records()["node2"]?.first { $0.original.srcPort == s.probe.sourcePort && $0.final })
        #expect(node2.textLine.contains("(10.244.2.0 is node2/flannel.1's address)"), "\(node2.textLine)")
        let encap = try #require(node2.encapsulation, "node2's record has no encapsulation: \(node2.jsonLine())")
        #expect(encap.vni == 1 && encap.outer?.dstPort == 8472 && encap.outer?.src.description == "192.168.10.12"
                && encap.outer?.dst.description == "192.168.10.11", "\(encap)")
        let hops = path["hops"] as? [[String: Any]] ?? []
        #expect(hops.allSatisfy { ($0["encap"] as? [String: Any])?["vni"] as? Int == 1 }, "\(hops)")
    }
}
