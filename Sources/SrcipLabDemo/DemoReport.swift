import SrcipCore
import SrcipLabCluster
import SrcipLabKubeProxy
import SrcipLabWorkloads
import SrcipLabNetwork
import SrcipSystem
import SrcipExport

/// The demo's one-screen table and legend.
public enum DemoReport {
    /// `ok`, `MISMATCH` (the pod saw something undocumented) or `SRCIP DIFFERS` (srcip disagrees with the pod or the docs).
    static func status(_ row: DemoRow) -> String {
        if !row.expected.matches(row.outcome) { return "MISMATCH" }
        return row.srcip?.agrees == false ? "SRCIP DIFFERS" : "ok"
    }

    public static func render(_ rows: [DemoRow], proxyMode: ProxyMode, cni: LabCNI = .bridge, ipFamily: LabIPFamily = .ipv4) -> String {
        let snatNote: String
        switch cni {
        case .bridge: snatNote = " (node1 uses its cni0 address 10.244.1.1\n  because the pod is local)"
        case .routed: snatNote = " (node1 too, toward its\n  local pod: a routed veth has no address)"
        case .vxlan: snatNote = ": toward the pod on node1 the other nodes\n  use their overlay address 10.244.N.0 (flannel.1), node1 its cni0 address 10.244.1.1"
        }
        let familyColumn = ipFamily != .ipv4
        var table = TextTable(["SERVICE", "TYPE", "eTP"] + (familyColumn ? ["IP"] : []) + ["PATH: CLIENT → ENTRY NODE → POD'S NODE", "POD SAW",
                               "DOCUMENTED (§4 ROW)", "SRCIP SAW", ""])
        for row in rows {
            let s = row.demoCase.service
            let saw: String
            switch row.outcome {
            case .response: saw = row.outcome.clientAddress ?? "?"
            default: saw = row.outcome.description
            }
            let fam = familyColumn ? [row.demoCase.destination.isIPv4 ? "v4" : "v6"] : []
            table.add([s.name, s.type.rawValue, s.externalTrafficPolicy.rawValue] + fam + [row.path, saw,
                       "\(row.expected) (\(row.expected.row))", row.observed ?? "-", status(row)])
        }
        let mismatches = rows.filter { !$0.matches }.count
        let srcipProblems = rows.flatMap { row in
            (row.srcip?.problems ?? []).map { "  \(row.demoCase.service.name) port \(row.demoCase.sourcePort): \($0)" }
        }
        let traced = rows.contains { $0.srcip != nil }
        return """
        Source IP of Services — kube-proxy \(proxyMode.rawValue) mode, \(cni.rawValue) CNI, \(ipFamily.rawValue), echo pod source-ip-app-0 on node1 (10.244.1.2)

        \(table.render())

        Legend: client = external client 203.0.113.10; nodes 192.168.10.11-13\(cni == .routed ? " (routed /32 veths, no pod-network address)" : " (cni0 10.244.N.1)")\(cni == .vxlan ? ", overlay flannel.1 10.244.N.0" : "")\(ipFamily == .ipv4 ? "" : ";\n  IPv6: client fd00:203:0:113::10, nodes fd00:192:168:10::11-13, cni0 fd00:10:244:N::1, overlay fd00:10:244:N::, proxy LB fd00:192:168:10::2"); NLB = passthrough load balancer
        (keeps the client IP), proxy LB = TCP proxy from 192.168.10.2; "→node2?" is the node the LB was asked for, the next hop the one it used.
        • ClusterIP is never SNATed inside the cluster: the pod sees the client pod's own IP, from any node.
        • NodePort/LoadBalancer with externalTrafficPolicy=Cluster: the entry node SNATs to its own address\(snatNote), so the client IP is lost on every node.
        • externalTrafficPolicy=Local keeps the client IP, but only nodes with a local endpoint answer (others drop: timeout);
          the passthrough LB health-checks healthCheckNodePort and sends everything to node1.
        • A proxying LB terminates the connection: the pod sees the LB's address (192.168.10.2), even with Local.
        \(traced ? "SRCIP SAW: what `srcip trace` on the nodes recorded for the request, end to end (srcip merge of every hop): where the source was " +
            "rewritten (SNAT@node/interface → address) or preserved/dropped; ✓/✗: srcip's own verdict vs the §4 expectation it derived." : "")
        \(srcipProblems.isEmpty ? "" : "srcip disagrees:\n" + srcipProblems.joined(separator: "\n"))
        \(mismatches == 0 ? "All \(rows.count) observations match the documented behaviour." : "\(mismatches) of \(rows.count) observations DIFFER from the documented behaviour.")
        """
    }
}
