import Foundation
import SrcipCore
import SrcipLabCluster
import SrcipLabKubeProxy
import SrcipLabWorkloads
import SrcipSystem

/// Sets up (or removes) the lab's load balancer for LoadBalancer Services in the router namespace.
public enum LoadBalancer {
    /// Nodes whose health-check port answers 200 for each LoadBalancer Service, probed from the router
    /// (every node for Services without a healthCheckNodePort / with externalTrafficPolicy Cluster).
    public static func healthyNodes(_ record: LabRecord, naming: LabNaming) throws -> [String: Set<String>] {
        var result: [String: Set<String>] = [:]
        for fe in LoadBalancerPlan.frontends(record.state) where result[fe.service] == nil {
            guard let hc = fe.healthCheckNodePort else {
                result[fe.service] = Set(record.state.nodes.map(\.name))
                continue
            }
            var ok = Set<String>()
            for node in record.state.nodes {
                // Retry unanswered probes (a node still coming up), not 503s.
                for _ in 0..<8 {
                    let outcome = HTTPProbe.get(in: naming.routerNamespace, ip: node.ip.description, port: hc, path: "/healthz", timeout: 0.25)
                    if case let .response(status, _) = outcome {
                        if status == 200 { ok.insert(node.name) }
                        break
                    }
                }
            }
            result[fe.service] = ok
        }
        return result
    }

    /// Installs the record's LB mode; returns the daemons it started (the proxy in proxy mode).
    static func configure(_ record: LabRecord, naming: LabNaming, srcip: String) throws -> [LabDaemon] {
        let frontends = LoadBalancerPlan.frontends(record.state)
        guard !frontends.isEmpty else { return [] }
        switch record.loadBalancerMode {
        case .passthrough:
            let healthy = try healthyNodes(record, naming: naming)
            for f in record.state.families {
                let rules = LoadBalancerPlan.passthroughRules(record.state, healthy: healthy, family: f)
                try Command.check("ip", ["netns", "exec", naming.routerNamespace, f == .ipv4 ? "iptables-restore" : "ip6tables-restore"],
                                  input: rules)
            }
            return []
        case .proxy:
            let vips = Set(frontends.map(\.vip)).sorted()
            try Command.check("ip", ["-n", naming.routerNamespace, "-batch", "-"],
                                    input: vips.map { "addr add \($0)/\($0.isIPv4 ? 32 : 128) dev lo\($0.isIPv4 ? "" : " nodad")" }
                                        .joined(separator: "\n") + "\n")
            let daemon = try LabDaemons.start("lb-proxy", namespace: naming.routerNamespace, args: ["lb-proxy", "--name", naming.lab],
                                              naming: naming, srcip: srcip)
            try LabDaemons.waitReady(naming: naming, daemons: [daemon])
            return [daemon]
        }
    }

    /// Removes the current LB mode from the router (flushes its nat table, stops the proxy, removes the VIPs).
    static func unconfigure(_ record: LabRecord, naming: LabNaming) throws {
        for f in record.state.families {
            try Command.check("ip", ["netns", "exec", naming.routerNamespace, f == .ipv4 ? "iptables-restore" : "ip6tables-restore"],
                              input: "*nat\nCOMMIT\n")
        }
        let proxies = record.daemons.filter { $0.role == "lb-proxy" }.map(\.pid).filter(NamespaceProcesses.isAlive)
        NamespaceProcesses.stop(proxies)
        let vips = Set(LoadBalancerPlan.frontends(record.state).map(\.vip)).sorted()
        if !vips.isEmpty {
            _ = try Command.run("ip", ["-force", "-n", naming.routerNamespace, "-batch", "-"],
                                      input: vips.map { "addr del \($0)/\($0.isIPv4 ? 32 : 128) dev lo" }.joined(separator: "\n") + "\n")
        }
    }

    /// Switches a running lab to `mode` and updates its state file.
    @discardableResult
    public static func switchMode(to mode: LoadBalancerMode, naming: LabNaming, srcip: String = Command.selfExecutable()) throws -> LabRecord {
        guard var record = try LabRecord.load(naming) else { throw LabError.labNotFound(name: naming.lab) }
        try unconfigure(record, naming: naming)
        record.daemons.removeAll { $0.role == "lb-proxy" }
        record.loadBalancerMode = mode
        record.daemons += try configure(record, naming: naming, srcip: srcip)
        try record.save(naming)
        return record
    }
}
