import SrcipCore
import SrcipLabCluster
import SrcipLabKubeProxy
import SrcipLabWorkloads
import SrcipSystem

/// Text of `srcip lab status`.
public enum LabStatusReport {
    public static func render(_ record: LabRecord, naming: LabNaming, aliveNamespaces: Set<String>) -> String {
        let state = record.state
        var out = ["lab '\(record.lab)': kube-proxy \(record.proxyMode.rawValue), load balancer \(record.loadBalancerMode.rawValue), "
                   + "entry node for routed ClusterIP/externalIP traffic: \(record.entryNode)"
                   + (record.complete ? "" : "  [INCOMPLETE: `lab up` did not finish; run `srcip lab down`]")]
        func alive(_ ns: String) -> String { aliveNamespaces.contains(ns) ? "up" : "MISSING" }
        var nodes = TextTable(["NODE", "IP", "POD CIDR", "NAMESPACE", "STATE"])
        for n in state.nodes {
            nodes.add([n.name, n.ip.description, n.podCIDR.description, naming.nodeNamespace(n.name), alive(naming.nodeNamespace(n.name))])
        }
        nodes.add(["router", "\(LabNaming.routerNodeIP), \(LabNaming.routerExternalIP)", "-", naming.routerNamespace, alive(naming.routerNamespace)])
        nodes.add(["client", LabNaming.clientIP.description, "-", naming.clientNamespace, alive(naming.clientNamespace)])
        out += ["", nodes.render()]
        var pods = TextTable(["POD", "IP", "NODE", "PORTS", "STATE"])
        for p in state.pods {
            pods.add(["\(p.namespace)/\(p.name)", p.ip.description, p.node,
                      LabDaemons.echoPorts(p).map(String.init).joined(separator: ","), alive(naming.podNamespace(p))])
        }
        out += ["", pods.render()]
        var services = TextTable(["SERVICE", "TYPE", "CLUSTER-IP", "EXTERNAL", "PORTS", "POLICY", "ENDPOINTS"])
        for s in state.services {
            let external = (s.loadBalancerIPs + s.externalIPs).map(\.description).joined(separator: ",")
            let ports = s.ports.map { p in "\(p.port)" + (p.nodePort.map { ":\($0)" } ?? "") + "/\(p.proto)" }.joined(separator: ",")
            let policy = "eTP=\(s.externalTrafficPolicy.rawValue)" + (s.healthCheckNodePort.map { " hc=\($0)" } ?? "")
            let endpoints = Set(s.ports.flatMap(\.endpoints).map(\.ip)).count
            services.add([s.id, s.type.rawValue, s.clusterIP?.description ?? "None", external.isEmpty ? "<none>" : external,
                          ports, policy, String(endpoints)])
        }
        out += ["", services.render()]
        let running = record.daemons.filter { NamespaceProcesses.isAlive($0.pid) }.count
        out += ["", "processes: \(running) of \(record.daemons.count) lab daemons running (echo pods, health checks, LB proxy); "
                + "state \(naming.stateFile), logs \(naming.runDirectory)/"]
        return out.joined(separator: "\n")
    }
}

/// Left-aligned columns separated by two spaces.
public struct TextTable {
    public var header: [String]
    public var rows: [[String]] = []

    public init(_ header: [String]) { self.header = header }

    public mutating func add(_ row: [String]) { rows.append(row) }

    public func render() -> String {
        let all = [header] + rows
        let widths = header.indices.map { i in all.map { i < $0.count ? $0[i].count : 0 }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
