import SrcipCore

/// What the rules say about one Service port, filled in piece by piece while reading rules.
struct ServicePortFacts {
    var port: UInt16?
    var clusterIP: IPAddress?
    var externalIPs: [IPAddress] = []
    var loadBalancerIPs: [IPAddress] = []
    var nodePort: UInt16?
    var endpoints: [ServiceEndpoint] = []
    var externalPolicy: TrafficPolicy = .cluster
    var internalPolicy: TrafficPolicy = .cluster
    var healthCheckNodePort: UInt16?
    var affinityTimeout: Int?
    var sourceRanges: [String] = []

    mutating func addExternalIP(_ ip: IPAddress) {
        if !externalIPs.contains(ip) && !loadBalancerIPs.contains(ip) { externalIPs.append(ip) }
    }

    /// An LB IP wins over an earlier guess that the address was an externalIP.
    mutating func addLoadBalancerIP(_ ip: IPAddress) {
        externalIPs.removeAll { $0 == ip }
        if !loadBalancerIPs.contains(ip) { loadBalancerIPs.append(ip) }
    }

    mutating func addEndpoint(_ ep: ServiceEndpoint) {
        if !endpoints.contains(where: { $0.ip == ep.ip && $0.port == ep.port }) { endpoints.append(ep) }
    }
}

/// Collects per-port facts from rules and groups them into `Service` values (one per namespace/name and address family).
struct ServiceAssembler {
    private(set) var facts: [ServicePortName: ServicePortFacts] = [:]

    mutating func update(_ spn: ServicePortName, _ body: (inout ServicePortFacts) -> Void) {
        body(&facts[spn, default: ServicePortFacts()])
    }

    func contains(_ spn: ServicePortName) -> Bool { facts[spn] != nil }

    /// Builds the Services; the type is inferred (LB IP → LoadBalancer, NodePort → NodePort, else ClusterIP).
    func services(warnings: inout [String]) -> [Service] {
        var grouped: [String: [(ServicePortName, ServicePortFacts)]] = [:]
        for (spn, f) in facts { grouped["\(spn.namespace)/\(spn.name)", default: []].append((spn, f)) }
        var out: [Service] = []
        for id in grouped.keys.sorted() {
            let ports = grouped[id]!.sorted { $0.0 < $1.0 }
            let first = ports[0].0
            var svc = Service(namespace: first.namespace, name: first.name, type: .clusterIP, clusterIP: nil, ports: [])
            for (spn, f) in ports {
                guard let number = f.port else {
                    warnings.append("\(spn) (\(spn.proto)): no rule gives the service port number; port skipped")
                    continue
                }
                if let cip = f.clusterIP {
                    if let have = svc.clusterIP, have != cip {
                        warnings.append("\(spn): cluster IP \(cip) differs from \(have) of another port of \(id); kept \(have)")
                    } else {
                        svc.clusterIP = cip
                    }
                }
                for ip in f.loadBalancerIPs where !svc.loadBalancerIPs.contains(ip) { svc.loadBalancerIPs.append(ip) }
                for ip in f.externalIPs where !svc.externalIPs.contains(ip) { svc.externalIPs.append(ip) }
                for r in f.sourceRanges where !svc.loadBalancerSourceRanges.contains(r) { svc.loadBalancerSourceRanges.append(r) }
                if f.externalPolicy == .local { svc.externalTrafficPolicy = .local }
                if f.internalPolicy == .local { svc.internalTrafficPolicy = .local }
                svc.healthCheckNodePort = svc.healthCheckNodePort ?? f.healthCheckNodePort
                svc.sessionAffinityTimeout = svc.sessionAffinityTimeout ?? f.affinityTimeout
                svc.ports.append(ServicePort(name: spn.port.isEmpty ? nil : spn.port, proto: spn.proto, port: number,
                                             nodePort: f.nodePort, endpoints: f.endpoints))
            }
            svc.externalIPs.removeAll { svc.loadBalancerIPs.contains($0) }
            guard !svc.ports.isEmpty else { continue }
            if !svc.loadBalancerIPs.isEmpty {
                svc.type = .loadBalancer
            } else if svc.ports.contains(where: { $0.nodePort != nil }) {
                svc.type = .nodePort
            }
            out.append(svc)
        }
        return out
    }
}
