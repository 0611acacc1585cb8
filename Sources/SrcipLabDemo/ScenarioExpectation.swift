import SrcipCore
import SrcipLabCluster
import SrcipLabKubeProxy
import SrcipLabWorkloads

/// What the backend should see, and the §4 row of the request.
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

/// The documented source-IP outcome of one lab request: the address from `RulePlanExpectation` (derived from kube-proxy's
/// rules) narrowed to the endpoint that answered, labelled with the row SrcipCore's §4 table (`Expectation.expected`) gives.
public enum ScenarioExpectation {
    /// - Parameters:
    ///   - entry: the node whose address is targeted (NodePort) or that receives routed external traffic; pod and host
    ///     clients reach ClusterIP/LB/externalIP through their own node.
    ///   - backend: the endpoint pod that answered, if known (picks among several possible deliveries).
    public static func expect(service: Service, frontend: Frontend, client: LabClient, entry: LabNode,
                              backend: LabPod?, state: ClusterState, family: IPFamily = .ipv4) -> ExpectedSource {
        let input = ExpectationInput(lab: service, frontend: frontend, client: client, entry: entry, backend: backend, state: state,
                                     family: family)
        // nil only for LoadBalancer `ipMode: Proxy` (row 22), which the lab does not model.
        let row = Expectation.expected(input)?.row ?? 22
        guard let outcome = try? RulePlanExpectation.expect(state: state, service: service, frontend: frontend,
                                                            client: client, entryNode: entry.name, family: family) else {
            return .dropped(row: row)
        }
        switch outcome {
        case let .delivered(deliveries):
            let chosen = deliveries.first { $0.endpoint.ip == backend?.ip(family) } ?? deliveries.first
            guard let chosen else { return .dropped(row: row) }
            return .address(chosen.sourceIP, row: row)
        case .dropped, .notProgrammed:
            return .dropped(row: row)
        case .rejected:
            return .rejected(row: row)
        }
    }
}
