import SrcipCore
import SrcipLabCluster

/// What kube-proxy does to one connection, derived from the rules it installs (the same `KubeProxyServicePlan` the
/// renderers use), with the source address each endpoint sees. An independent cross-check of SrcipCore's §4 table
/// (`Expectation.expected`), which stays the one source of verdicts and row numbers; tests compare the two. Assumes the lab topology: masqueraded packets take the address
/// of their egress interface, i.e. the entry node's `cni0` address when the chosen endpoint runs on the entry node and the
/// entry node's node-network address otherwise (with the routed CNI the node address in both cases; with the VXLAN CNI
/// the overlay device's address toward other nodes, see `ClusterState.masqueradeAddressTowardLocalPods` / `…RemotePods`),
/// in the family of the connection; detect-local ClusterCIDR; masqueradeAll off (unless set in `options`).
public enum RulePlanExpectation {
    public enum SourceKind: String, Hashable, Sendable, Codable {
        /// The backend sees the client's own address.
        case clientIP = "client_ip"
        /// The entry node masqueraded the connection.
        case nodeIP = "node_ip"
    }

    /// One endpoint the connection may land on, and the source address that endpoint sees.
    public struct Delivery: Hashable, Sendable {
        public var endpoint: ServiceEndpoint
        public var sourceIP: IPAddress
        public var source: SourceKind
    }

    public enum Outcome: Hashable, Sendable {
        /// Load-balanced over these endpoints (one entry each).
        case delivered([Delivery])
        /// Silently dropped (no local endpoint under a Local policy, or outside loadBalancerSourceRanges).
        case dropped(reason: String)
        /// Rejected with ICMP port-unreachable (the service has no endpoints).
        case rejected(reason: String)
        /// kube-proxy installs no rule for this frontend (e.g. NodePort of a ClusterIP service).
        case notProgrammed(reason: String)

        /// Every source address the backend can see.
        public var sourceIPs: Set<IPAddress> {
            guard case .delivered(let d) = self else { return [] }
            return Set(d.map(\.sourceIP))
        }
    }

    /// The expected outcome of `client` connecting to `frontend` of `service` (`port` defaults to the first port) over
    /// `family` (the family of the addresses used; kube-proxy's proxier of that family decides).
    /// `entryNode` is the node whose address is targeted (NodePort) or that receives the packet (external clients);
    /// pod and host clients reach ClusterIPs, LoadBalancer IPs and externalIPs through their own node, so it is ignored there.
    public static func expect(state: ClusterState, service: Service, port: ServicePort? = nil, frontend: Frontend,
                              client: LabClient, entryNode: String, options: KubeProxyOptions = .lab,
                              family: IPFamily = .ipv4) throws -> Outcome {
        guard let port = port ?? service.ports.first else { throw RulePlanExpectationError.noPort(service.id) }
        let target = try node(entryNode, state)

        // Where DNAT happens (entry) and the source address kube-proxy's rules see there.
        let entry: LabNode
        let source: IPAddress
        var sourceIsLocal = false
        switch client {
        case .pod(let pod):
            entry = frontend == .nodePort ? target : try node(pod.node, state)
        case .host(let host):
            entry = frontend == .nodePort ? target : host
            sourceIsLocal = entry.name == host.name
        case .external:
            entry = target
        }
        guard let s = client.sourceIP(family) else { throw RulePlanExpectationError.noAddress("\(client)", family) }
        source = s

        guard let clusterIP = service.clusterIPs.first(where: { IPFamily.of($0) == family }) else {
            return .notProgrammed(reason: "\(service.id) has no \(family.rawValue) ClusterIP")
        }
        let plan = KubeProxyServicePlan(service: service, port: port, clusterIP: clusterIP, node: entry)
        switch frontend {
        case .clusterIP: break
        case .nodePort:
            if plan.nodePort == nil { return .notProgrammed(reason: "\(plan.servicePortName) has no NodePort") }
        case .loadBalancer:
            if plan.loadBalancerVIPs.isEmpty { return .notProgrammed(reason: "\(plan.servicePortName) has no LoadBalancer IP") }
        case .externalIP:
            if plan.externalIPs.isEmpty { return .notProgrammed(reason: "\(plan.servicePortName) has no externalIPs") }
        }
        guard plan.hasEndpoints else { return .rejected(reason: "\(plan.servicePortName) has no endpoints") }

        if frontend == .loadBalancer && !plan.sourceRanges.isEmpty {
            let allowFromNode = plan.sourceRanges.contains { r in entry.ip(family).map(r.contains) ?? false }
            let allowed = plan.sourceRanges.contains { $0.contains(source) }
                || (allowFromNode && plan.loadBalancerVIPs.contains(source))
            if !allowed { return .dropped(reason: "\(source) is outside loadBalancerSourceRanges of \(plan.servicePortName)") }
        }

        let clusterCIDR = state.clusterCIDR(family)
        let fromPod = options.detectLocal && clusterCIDR.contains(source)
        let endpoints: [ServiceEndpoint]
        let masquerade: Bool
        if frontend == .clusterIP {
            endpoints = plan.internalPolicyLocal ? plan.localEndpoints : plan.clusterEndpoints
            if endpoints.isEmpty {
                return .dropped(reason: "\(plan.servicePortName) has internalTrafficPolicy Local and no endpoint on \(entry.name)")
            }
            masquerade = options.masqueradeAll || (options.detectLocal && !clusterCIDR.contains(source))
        } else if !plan.externalPolicyLocal {
            endpoints = plan.clusterEndpoints
            masquerade = true
        } else if fromPod {
            endpoints = plan.clusterEndpoints       // "pod traffic for … external destinations" short-circuit
            masquerade = false
        } else if sourceIsLocal {
            endpoints = plan.clusterEndpoints       // "masquerade/route LOCAL traffic" short-circuit
            masquerade = true
        } else {
            endpoints = plan.localEndpoints
            if endpoints.isEmpty {
                return .dropped(reason: "\(plan.servicePortName) has externalTrafficPolicy Local and no endpoint on \(entry.name)")
            }
            masquerade = false
        }

        return .delivered(endpoints.map { ep in
            let snat = masquerade || ep.ip == source    // KUBE-SEP hairpin rule
            guard snat else { return Delivery(endpoint: ep, sourceIP: source, source: .clientIP) }
            let egress = ep.nodeName == entry.name ? state.masqueradeAddressTowardLocalPods(on: entry, family: family)
                : state.masqueradeAddressTowardRemotePods(on: entry, family: family)
            return Delivery(endpoint: ep, sourceIP: egress, source: .nodeIP)
        })
    }

    static func node(_ name: String, _ state: ClusterState) throws -> LabNode {
        guard let n = state.nodes.first(where: { $0.name == name }) else {
            throw RulePlanExpectationError.unknownNode(name, state.nodes.map(\.name))
        }
        return n
    }
}

/// A lab expectation was asked about something the state does not contain.
public enum RulePlanExpectationError: Error, Hashable, Sendable, CustomStringConvertible {
    case unknownNode(String, [String])
    case noPort(String)
    case noAddress(String, IPFamily)

    public var description: String {
        switch self {
        case .noAddress(let c, let f): return "\(c) has no \(f.rawValue) address; use a lab with --ip-family \(f == .ipv4 ? "ipv4" : "ipv6") or dual"
        case .unknownNode(let n, let all): return "node \(n) is not in the lab (nodes: \(all.joined(separator: ", "))); pick one of those"
        case .noPort(let s): return "service \(s) has no ports; add one to the manifest"
        }
    }
}
