@testable import SrcipLabCluster
@testable import SrcipLabKubeProxy
@testable import SrcipLabNetwork
import SrcipCore

/// The §4 rows of `KubeProxyScenarioTests.rows` (written for the bridge CNI on IPv4) as they play out on another CNI
/// and IP family. The expected sources stay literals, derived from the bridge/IPv4 ones by what each datapath changes:
/// - vxlan: SNAT on another node toward the echo pod on node1 leaves through flannel.1, so MASQUERADE picks the
///   overlay address 10.244.N.0 (fd00:10:244:N::) instead of the node IP;
/// - routed: SNAT toward a pod on the same node picks the node IP (the pod's veth has no address) instead of cni0's
///   10.244.N.1;
/// - IPv6: the same hosts in the ULA ranges of docs/lab.md.
/// Row 10 over 127.0.0.1 exists on IPv4 only (kube-proxy serves localhost NodePorts through route_localnet).
enum DatapathRows {
    static func rows(_ mode: ProxyMode, cni: LabCNI, family: IPFamily) -> [ScenarioRow] {
        KubeProxyScenarioTests.rows(mode).compactMap { adapt($0, cni: cni, family: family) }
    }

    /// Rows 1, 8, 11 and 12: pod, SNAT toward a remote and a local endpoint, preserved, dropped.
    static func coreRows(cni: LabCNI, family: IPFamily) -> [ScenarioRow] {
        rows(.iptables, cni: cni, family: family).filter { [1, 8, 11, 12].contains($0.row) }
    }

    static func adapt(_ row: ScenarioRow, cni: LabCNI, family: IPFamily) -> ScenarioRow? {
        if case .loopbackNodePort = row.target, family == .ipv6 { return nil }
        var r = row
        r.family = family
        if case let .ip(ip) = row.expect { r.expect = .ip(source(ip, cni: cni, family: family)) }
        return r
    }

    /// A bridge/IPv4 source literal on `cni` and `family`.
    static func source(_ ip: String, cni: LabCNI, family: IPFamily) -> String {
        let v6 = family == .ipv6
        let octets = ip.split(separator: ".").compactMap { Int($0) }
        func nodeIP(_ n: Int) -> String { v6 ? "fd00:192:168:10::\(10 + n)" : "192.168.10.\(10 + n)" }
        if ip == "203.0.113.10" { return v6 ? "fd00:203:0:113::10" : ip }
        if ip.hasPrefix("192.168.10."), octets.count == 4, octets[3] > 10 {
            let n = octets[3] - 10
            // Every such row is SNAT on node N toward the echo pod on node1.
            if cni == .vxlan && n != 1 { return v6 ? "fd00:10:244:\(n)::" : "10.244.\(n).0" }
            return nodeIP(n)
        }
        if ip.hasPrefix("10.244."), octets.count == 4, octets[3] == 1 {
            let n = octets[2]
            if cni == .routed { return nodeIP(n) }
            return v6 ? "fd00:10:244:\(n)::1" : ip
        }
        return ip
    }
}
