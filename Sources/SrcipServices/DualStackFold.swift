import SrcipCore

/// Dual-stack Services: kube-proxy programs one proxier per IP family (iptables and ip6tables, the `ip` and `ip6`
/// kube-proxy tables, one EndpointSlice per family), so each family's input yields its own `Service` value.
/// Kubernetes has one Service with two ClusterIPs; these helpers fold the two views back into one.
extension Service {
    /// The IP families (`true`: IPv4) of the Service's ClusterIPs.
    var clusterIPFamilies: Set<Bool> { Set(clusterIPs.map(\.isIPv4)) }

    /// Folds `other` — this Service as read from the other IP family — into this one: `other`'s ClusterIP becomes
    /// `secondaryClusterIP`, addresses and endpoints are joined per port. Returns false and changes nothing when
    /// `other` is not that: another namespace/name, a ClusterIP of a family this Service already has, or a port of
    /// the same name and protocol with another number.
    mutating func foldFamily(_ other: Service) -> Bool {
        guard other.namespace == namespace, other.name == name,
              clusterIPFamilies.isDisjoint(with: other.clusterIPFamilies), clusterIPs.count + other.clusterIPs.count <= 2
        else { return false }
        for p in other.ports {
            if let mine = ports.first(where: { $0.name == p.name && $0.proto == p.proto }), mine.port != p.port { return false }
        }
        let addresses = clusterIPs + other.clusterIPs
        clusterIP = addresses.first
        secondaryClusterIP = addresses.count > 1 ? addresses[1] : nil
        for ip in other.externalIPs where !externalIPs.contains(ip) { externalIPs.append(ip) }
        for ip in other.loadBalancerIPs where !loadBalancerIPs.contains(ip) { loadBalancerIPs.append(ip) }
        for r in other.loadBalancerSourceRanges where !loadBalancerSourceRanges.contains(r) { loadBalancerSourceRanges.append(r) }
        if other.externalTrafficPolicy == .local { externalTrafficPolicy = .local }
        if other.internalTrafficPolicy == .local { internalTrafficPolicy = .local }
        healthCheckNodePort = healthCheckNodePort ?? other.healthCheckNodePort
        sessionAffinityTimeout = sessionAffinityTimeout ?? other.sessionAffinityTimeout
        for p in other.ports {
            guard let i = ports.firstIndex(where: { $0.name == p.name && $0.proto == p.proto }) else {
                ports.append(p)
                continue
            }
            ports[i].nodePort = ports[i].nodePort ?? p.nodePort
            for ep in p.endpoints where !ports[i].endpoints.contains(where: { $0.ip == ep.ip && $0.port == ep.port }) {
                ports[i].endpoints.append(ep)
            }
        }
        if type == .loadBalancer || other.type == .loadBalancer {
            type = .loadBalancer
        } else if type == .nodePort || other.type == .nodePort {
            type = .nodePort
        }
        return true
    }
}

extension Array where Element == Service {
    /// Appends `others`, folding each into a Service of the same namespace/name read from the other IP family
    /// (`Service.foldFamily`); the rest are appended in order.
    mutating func appendFoldingFamilies(_ others: [Service]) {
        var index: [String: [Int]] = [:]
        for (i, s) in enumerated() { index[s.id, default: []].append(i) }
        for s in others {
            if let candidates = index[s.id], candidates.contains(where: { self[$0].foldFamily(s) }) { continue }
            index[s.id, default: []].append(count)
            append(s)
        }
    }
}
