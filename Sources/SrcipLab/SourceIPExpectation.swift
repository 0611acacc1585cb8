import SrcipCore

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

/// The documented source-IP outcome of one request, for netfilter kube-proxy (iptables or nftables, same results),
/// with the defaults of §4 (detect-local = clusterCIDR, masqueradeAll off, bridge CNI, LB ipMode VIP).
///
/// "Node IP" is the address MASQUERADE picks on the SNATing node toward the backend: the node's `cni0` address
/// when the backend is on that node, else its node-network address.
public enum SourceIPExpectation {
    /// - Parameters:
    ///   - frontend: which address of `service` the client sent to.
    ///   - entry: the node where the packet first meets kube-proxy's rules with that destination (for a NodePort: the node
    ///     addressed; for a pod/host client using ClusterIP/LB/externalIP: its own node; for routed external traffic: the node it was routed to).
    ///   - backend: the endpoint pod that will answer (nil if none could).
    public static func expect(service: Service, frontend: Frontend, client: ScenarioClient, entry: LabNode,
                              backend: LabPod?, state: ClusterState) -> ExpectedSource {
        let endpoints = service.ports.flatMap(\.endpoints).filter(\.ready)
        guard !endpoints.isEmpty else { return .rejected(row: 23) }
        let local = service.externalTrafficPolicy == .local && frontend != .clusterIP
        let localEndpoints = endpoints.filter { $0.nodeName == entry.name }
        func nodeIP(_ row: Int) -> ExpectedSource {
            guard let backend else { return .dropped(row: row) }
            return .address(backend.node == entry.name ? entry.bridgeIP : entry.ip, row: row)
        }
        func original(_ row: Int) -> ExpectedSource {
            switch client {
            case let .pod(p): return .address(p.ip, row: row)
            case let .host(n): return .address(n.ip, row: row)
            case let .external(ip): return .address(ip, row: row)
            }
        }
        if frontend == .loadBalancer, !service.loadBalancerSourceRanges.isEmpty {
            let source: IPAddress
            switch client {
            case let .pod(p): source = p.ip
            case let .host(n): source = n.ip
            case let .external(ip): source = ip
            }
            let allowed = service.loadBalancerSourceRanges.compactMap { IPPrefix($0) }.contains { $0.contains(source) }
            if !allowed { return .dropped(row: 21) }
        }
        switch (frontend, client) {
        case (.clusterIP, .pod(let p)):
            return backend?.name == p.name ? nodeIP(2) : original(1)
        case (.clusterIP, .host):
            return nodeIP(3)
        case (.clusterIP, .external):
            return nodeIP(4)
        case (.nodePort, .external):
            guard local else { return nodeIP(8) }
            return localEndpoints.isEmpty ? .dropped(row: 12) : original(11)
        case (.nodePort, .pod):
            return local ? original(13) : nodeIP(9)
        case (.nodePort, .host):
            return local ? nodeIP(14) : nodeIP(10)
        case (.loadBalancer, .external), (.externalIP, .external):
            guard local else { return nodeIP(15) }
            return localEndpoints.isEmpty ? .dropped(row: 17) : original(16)
        case (.loadBalancer, .pod), (.externalIP, .pod):
            return local ? original(19) : nodeIP(18)
        case (.loadBalancer, .host), (.externalIP, .host):
            return nodeIP(20)
        }
    }
}
