import Foundation
import SrcipCore
@testable import SrcipLabCluster
@testable import SrcipLabKubeProxy
@testable import SrcipLabWorkloads
@testable import SrcipLabNetwork
@testable import SrcipLabDemo
import SrcipSystem
import Testing

/// The demo's SRCIP SAW column from merged flow records: wording, and disagreement with the pod or the docs.
@Suite struct DemoTraceObserverTests {
    static func ip(_ s: String) -> IPAddress { IPAddress(s)! }
    static func tcp(_ s: String, _ sp: UInt16, _ d: String, _ dp: UInt16) -> FiveTuple {
        FiveTuple(src: ip(s), dst: ip(d), srcPort: sp, dstPort: dp, proto: .tcp)
    }

    static let node2 = LabNode(name: "node2", ip: ip("192.168.10.12"), podCIDR: IPPrefix("10.244.2.0/24")!)
    static let service = Service(namespace: "default", name: "nodeport", type: .nodePort, clusterIP: ip("10.96.0.11"),
                                 ports: [ServicePort(name: nil, proto: .tcp, port: 80, nodePort: 30080,
                                                     endpoints: [ServiceEndpoint(ip: ip("10.244.1.2"), port: 8080)])])
    static let t0: Int64 = 1_795_000_000_000_000_000

    /// External client → node2:30080, SNAT to node2 at eth0 egress, then node1 delivers to the pod.
    static func paths(port: UInt16, snatInterface: String = "eth0", addressInterface: String? = nil) -> [FlowPath] {
        let ref = ServiceRef(namespace: "default", name: "nodeport", portName: nil, port: 80, type: .nodePort, frontend: .nodePort,
                             externalTrafficPolicy: .cluster, internalTrafficPolicy: .cluster, resolvedFrom: .vip)
        var hop1 = FlowRecord(node: "node2", startNs: t0 + 1_000, endNs: t0 + 9_000, original: tcp("203.0.113.10", port, "192.168.10.12", 30080),
                              translated: tcp("192.168.10.12", 61000, "10.244.1.2", 8080), snat: true, dnat: true,
                              snatInterface: snatInterface, snatHook: .egress, inInterface: "eth0", outInterface: snatInterface, service: ref,
                              clientKind: .external, verdict: .snat, expected: .snat, expectationMet: true, expectedRow: 8, join: .conntrack)
        hop1.snatAddressInterface = addressInterface
        let hop2 = FlowRecord(node: "node1", startNs: t0 + 2_000, endNs: t0 + 9_000, original: tcp("192.168.10.12", 61000, "10.244.1.2", 8080),
                              translated: tcp("192.168.10.12", 61000, "10.244.1.2", 8080), snat: false, dnat: false,
                              inInterface: "eth0", outInterface: "vpod1", clientKind: .node, verdict: .preserved, join: .conntrack)
        return FlowPathMerger.merge([hop2, hop1]).paths
    }

    static func row(port: UInt16, podSaw: String) -> DemoRow {
        let c = DemoCase(service: service, frontend: .nodePort, client: .external(ip("203.0.113.10")), clientNamespace: "srcip-x-ext",
                         sourcePort: port, destination: ip("192.168.10.12"), destinationPort: 30080, loadBalancerMode: nil, intendedEntry: node2)
        return DemoRow(demoCase: c, path: "", outcome: .response(status: 200, body: "client_address=\(podSaw)\n"),
                       expected: .address(ip("192.168.10.12"), row: 8), observed: nil, srcip: nil)
    }

    @Test func agreeingObservationNamesWhereTheSourceWasWritten() throws {
        var row = Self.row(port: 20201, podSaw: "192.168.10.12")
        let state = ClusterState(clusterCIDR: IPPrefix("10.244.0.0/16")!, serviceCIDR: IPPrefix("10.96.0.0/16")!, nodes: [Self.node2], pods: [], services: [Self.service])
        let o = DemoTraceObserver.observe(row, times: (Self.t0, Self.t0 + 10_000), paths: Self.paths(port: 20201), state: state)
        #expect(o.text == "SNAT@node2/eth0 → 192.168.10.12 ✓")
        #expect(o.verdict == .snat && o.backendSaw == Self.ip("192.168.10.12") && o.agrees)
        row.srcip = o
        #expect(row.matches)
    }

    /// Routed CNI: MASQUERADE at a pod's veth writes the node IP, which belongs to eth0; the column says so.
    /// The same device writing its own address (eth0, flannel.1) adds nothing.
    @Test func anAddressOwnedByAnotherDeviceIsNamed() throws {
        let row = Self.row(port: 20204, podSaw: "192.168.10.12")
        let state = ClusterState(clusterCIDR: IPPrefix("10.244.0.0/16")!, serviceCIDR: IPPrefix("10.96.0.0/16")!, nodes: [Self.node2], pods: [], services: [Self.service])
        let routed = DemoTraceObserver.observe(row, times: (Self.t0, Self.t0 + 10_000),
                                               paths: Self.paths(port: 20204, snatInterface: "cali1", addressInterface: "eth0"), state: state)
        #expect(routed.text == "SNAT@node2/cali1 → 192.168.10.12 (eth0's) ✓")
        let same = DemoTraceObserver.observe(row, times: (Self.t0, Self.t0 + 10_000),
                                             paths: Self.paths(port: 20204, addressInterface: "eth0"), state: state)
        #expect(same.text == "SNAT@node2/eth0 → 192.168.10.12 ✓")
    }

    @Test func disagreementWithThePodFailsTheRow() throws {
        var row = Self.row(port: 20202, podSaw: "192.168.10.12")
        row.outcome = .response(status: 200, body: "client_address=10.244.1.1\n")
        row.expected = .address(Self.ip("10.244.1.1"), row: 8)
        let state = ClusterState(clusterCIDR: IPPrefix("10.244.0.0/16")!, serviceCIDR: IPPrefix("10.96.0.0/16")!, nodes: [Self.node2], pods: [], services: [Self.service])
        let o = DemoTraceObserver.observe(row, times: (Self.t0, Self.t0 + 10_000), paths: Self.paths(port: 20202), state: state)
        #expect(!o.agrees && o.problems.contains { $0.contains("echo pod saw 10.244.1.1, srcip says 192.168.10.12") })
        row.srcip = o
        #expect(!row.matches && DemoReport.status(row) == "SRCIP DIFFERS")
    }

    @Test func requestOutsideTheSendWindowIsNotSeen() throws {
        let row = Self.row(port: 20203, podSaw: "192.168.10.12")
        let state = ClusterState(clusterCIDR: IPPrefix("10.244.0.0/16")!, serviceCIDR: IPPrefix("10.96.0.0/16")!, nodes: [Self.node2], pods: [], services: [Self.service])
        let o = DemoTraceObserver.observe(row, times: (Self.t0 + 5_000_000_000, Self.t0 + 6_000_000_000), paths: Self.paths(port: 20203), state: state)
        #expect(o.text == "not seen" && !o.agrees)
    }
}
