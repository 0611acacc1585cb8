import SrcipCore
import SrcipLabCluster
import SrcipLabKubeProxy
import SrcipLabWorkloads
import SrcipLabNetwork
import SrcipSystem
import SrcipExport

/// Who sends a request in a lab scenario.
public enum ScenarioClient: Hashable, Sendable, CustomStringConvertible {
    /// A pod (its own network namespace).
    case pod(LabPod)
    /// A host-network process on a node.
    case host(LabNode)
    /// An off-cluster source (the external client, or the proxy load balancer's 192.168.10.2) reaching the entry node.
    case external(IPAddress)

    public var description: String {
        switch self {
        case let .pod(p): return "pod \(p.name)@\(p.node)"
        case let .host(n): return "host \(n.name)"
        case let .external(ip): return "external \(ip)"
        }
    }
}

/// What the backend should see according to kube-proxy-nat.md §4.
public enum ExpectedSource: Hashable, Sendable, CustomStringConvertible {
    case address(IPAddress, row: Int)
    /// Dropped somewhere: the client times out.
    case dropped(row: Int)
    /// REJECTed: the client gets connection refused.
    case rejected(row: Int)

    public var row: Int {
        switch self {
        case let .address(_, r), let .dropped(r), let .rejected(r): return r
        }
    }

    public var description: String {
        switch self {
        case let .address(ip, _): return ip.description
        case .dropped: return "timeout (DROP)"
        case .rejected: return "refused (REJECT)"
        }
    }

    /// Whether a probe outcome is what this expectation says.
    public func matches(_ outcome: ProbeOutcome) -> Bool {
        switch (self, outcome) {
        case let (.address(ip, _), .response(_, _)): return outcome.clientAddress == ip.description
        case (.dropped, .timeout), (.rejected, .refused): return true
        default: return false
        }
    }
}

/// The documented source-IP outcome of one lab request: `LabExpectation` (derived from kube-proxy's rules, §4) narrowed to
/// the endpoint that answered, and labelled with the §4 row it illustrates.
public enum SourceIPExpectation {
    /// - Parameters:
    ///   - entry: the node whose address is targeted (NodePort) or that receives routed external traffic; pod and host
    ///     clients reach ClusterIP/LB/externalIP through their own node.
    ///   - backend: the endpoint pod that answered, if known (picks among several possible deliveries).
    public static func expect(service: Service, frontend: Frontend, client: ScenarioClient, entry: LabNode,
                              backend: LabPod?, state: ClusterState) -> ExpectedSource {
        let row = self.row(service: service, frontend: frontend, client: client, entry: entry, backend: backend)
        let labClient: LabClient
        switch client {
        case let .pod(p): labClient = .pod(namespace: p.namespace, name: p.name)
        case let .host(n): labClient = .host(node: n.name)
        case let .external(ip): labClient = .external(ip)
        }
        guard let outcome = try? LabExpectation.expect(state: state, service: service, frontend: frontend,
                                                       client: labClient, entryNode: entry.name) else { return .dropped(row: row) }
        switch outcome {
        case let .delivered(deliveries):
            let chosen = deliveries.first { $0.endpoint.ip == backend?.ip } ?? deliveries.first
            guard let chosen else { return .dropped(row: row) }
            return .address(chosen.sourceIP, row: row)
        case .dropped, .notProgrammed:
            return .dropped(row: row)
        case .rejected:
            return .rejected(row: row)
        }
    }

    /// Which row of the §4 truth table a request illustrates (a label only; the outcome comes from `LabExpectation`).
    public static func row(service: Service, frontend: Frontend, client: ScenarioClient, entry: LabNode, backend: LabPod?) -> Int {
        if !service.ports.flatMap(\.endpoints).contains(where: \.ready) { return 23 }
        if frontend == .loadBalancer, !service.loadBalancerSourceRanges.isEmpty {
            let source: IPAddress
            switch client {
            case let .pod(p): source = p.ip
            case let .host(n): source = n.ip
            case let .external(ip): source = ip
            }
            if !service.loadBalancerSourceRanges.compactMap({ IPPrefix($0) }).contains(where: { $0.contains(source) }) { return 21 }
        }
        let local = service.externalTrafficPolicy == .local
        let hasLocal = service.ports.flatMap(\.endpoints).contains { $0.ready && $0.nodeName == entry.name }
        switch (frontend, client) {
        case (.clusterIP, .pod(let p)): return backend?.name == p.name ? 2 : 1
        case (.clusterIP, .host): return 3
        case (.clusterIP, .external): return 4
        case (.nodePort, .external): return !local ? 8 : (hasLocal ? 11 : 12)
        case (.nodePort, .pod): return local ? 13 : 9
        case (.nodePort, .host): return local ? 14 : 10
        case (.loadBalancer, .external), (.externalIP, .external): return !local ? 15 : (hasLocal ? 16 : 17)
        case (.loadBalancer, .pod), (.externalIP, .pod): return local ? 19 : 18
        case (.loadBalancer, .host), (.externalIP, .host): return 20
        }
    }
}
