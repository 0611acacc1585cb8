import SrcipCore

/// Allocates ClusterIPs, NodePorts, health-check NodePorts and LoadBalancer IPs, and resolves endpoints.
struct LabServiceAllocator {
    let serviceCIDR: IPPrefix
    /// The cluster's families, primary first.
    var families: [IPFamily] = [.ipv4]

    func serviceCIDR(_ family: IPFamily) -> IPPrefix { family == .ipv4 ? serviceCIDR : LabAddressing6.serviceCIDR }

    /// The Service's IP families as the API server resolves them from `ipFamilyPolicy`, `ipFamilies` and `clusterIPs`.
    func families(of m: ManifestService) throws -> [IPFamily] {
        let object = "Service \(m.namespace)/\(m.name)"
        let labFamilies = families.map(\.rawValue).joined(separator: " and ")
        for f in m.ipFamilies + [m.clusterIP, m.secondaryClusterIP].compactMap({ $0 }).map(IPFamily.of) where !families.contains(f) {
            throw ClusterStateBuildError.invalid(object: object, field: "spec.ipFamilies",
                                                 problem: "\(f.rawValue) is not configured on this lab (it has \(labFamilies); see --ip-family)")
        }
        let policy = m.ipFamilyPolicy ?? .singleStack
        if m.secondaryClusterIP != nil && policy == .singleStack {
            throw ClusterStateBuildError.invalid(object: object, field: "spec.ipFamilyPolicy",
                                                 problem: "two clusterIPs need ipFamilyPolicy PreferDualStack or RequireDualStack")
        }
        let primary = m.ipFamilies.first ?? m.clusterIP.map(IPFamily.of) ?? families[0]
        switch policy {
        case .singleStack: return [primary]
        case .preferDualStack: return families.count == 2 ? [primary, primary.other] : [primary]
        case .requireDualStack:
            guard families.count == 2 else {
                throw ClusterStateBuildError.invalid(object: object, field: "spec.ipFamilyPolicy",
                                                     problem: "RequireDualStack needs a dual-stack lab (--ip-family dual)")
            }
            return [primary, primary.other]
        }
    }

    func allocate(_ manifests: [ManifestService], pods: [LabPod]) throws -> [Service] {
        var usedClusterIPs: [IPAddress: String] = [:]
        var usedPorts: [UInt16: String] = [:]
        var usedLBIPs: Set<IPAddress> = []

        // Explicit values first, so allocation never hands out something a later object asked for.
        var names: Set<String> = []
        for m in manifests {
            let object = "Service \(m.namespace)/\(m.name)"
            guard names.insert(object).inserted else {
                throw ClusterStateBuildError.invalid(object: object, field: "metadata.name", problem: "the service is defined more than once")
            }
            for ip in [m.clusterIP, m.secondaryClusterIP].compactMap({ $0 }) {
                let cidr = serviceCIDR(IPFamily.of(ip))
                let bits = ip.isIPv4 ? 32 : 128
                guard cidr.contains(ip), ip != cidr.address,
                      bits - cidr.length > 20 || ip != LabAddressing.next(cidr.address, (1 << (bits - cidr.length)) - 1) else {
                    throw ClusterStateBuildError.invalid(object: object, field: "spec.clusterIP",
                                                         problem: "\(ip) is not a usable address of the service CIDR \(cidr)")
                }
                if let other = usedClusterIPs[ip] {
                    throw ClusterStateBuildError.invalid(object: object, field: "spec.clusterIP", problem: "\(ip) is already used by \(other)")
                }
                usedClusterIPs[ip] = object
            }
            for (i, p) in m.ports.enumerated() {
                if let np = p.nodePort { try claim(np, &usedPorts, object, "spec.ports[\(i)].nodePort") }
            }
            if let hc = m.healthCheckNodePort { try claim(hc, &usedPorts, object, "spec.healthCheckNodePort") }
            usedLBIPs.formUnion(m.loadBalancerIngressIPs)
        }

        var nextClusterIP: [IPFamily: IPAddress] = [.ipv4: LabAddressing.firstClusterIP, .ipv6: LabAddressing6.firstClusterIP]
        var nextLBIP6 = LabAddressing6.firstLoadBalancerIP
        var nextNodePort = LabAddressing.firstNodePort
        var nextHCPort = LabAddressing.firstHealthCheckNodePort
        var nextLBIP = LabAddressing.firstLoadBalancerIP
        var services: [Service] = []
        for m in manifests {
            let object = "Service \(m.namespace)/\(m.name)"
            let serviceFamilies = try families(of: m)
            var clusterIPs: [IPAddress] = []
            for f in serviceFamilies {
                if let ip = [m.clusterIP, m.secondaryClusterIP].compactMap({ $0 }).first(where: { IPFamily.of($0) == f }) {
                    clusterIPs.append(ip)
                    continue
                }
                var candidate = nextClusterIP[f]!
                while usedClusterIPs[candidate] != nil { candidate = LabAddressing.next(candidate) }
                guard serviceCIDR(f).contains(LabAddressing.next(candidate)) else {
                    throw ClusterStateBuildError.exhausted(object: object, what: "\(f.rawValue) ClusterIP")
                }
                nextClusterIP[f] = candidate
                clusterIPs.append(candidate)
                usedClusterIPs[candidate] = object
            }
            let wantsNodePorts = m.type == .nodePort || (m.type == .loadBalancer && m.allocateLoadBalancerNodePorts)
            var ports: [ServicePort] = []
            for p in m.ports {
                var nodePort = p.nodePort
                if nodePort == nil && wantsNodePorts {
                    nodePort = try next(&nextNodePort, &usedPorts, object)
                }
                ports.append(ServicePort(name: p.name, proto: p.proto, port: p.port, nodePort: nodePort,
                                         endpoints: serviceFamilies.flatMap {
                                             Self.endpoints(for: p, selector: m.selector, namespace: m.namespace, pods: pods, family: $0)
                                         }))
            }
            var hc = m.healthCheckNodePort
            if m.type == .loadBalancer && m.externalTrafficPolicy == .local && hc == nil {
                hc = try next(&nextHCPort, &usedPorts, object)
            }
            var lbIPs = m.loadBalancerIngressIPs
            if m.type == .loadBalancer && lbIPs.isEmpty {
                for f in serviceFamilies {
                    if f == .ipv4 {
                        while usedLBIPs.contains(nextLBIP) { nextLBIP = LabAddressing.offset(nextLBIP, 1) }
                        lbIPs.append(nextLBIP)
                        usedLBIPs.insert(nextLBIP)
                    } else {
                        while usedLBIPs.contains(nextLBIP6) { nextLBIP6 = LabAddressing.next(nextLBIP6) }
                        lbIPs.append(nextLBIP6)
                        usedLBIPs.insert(nextLBIP6)
                    }
                }
            }
            services.append(Service(
                namespace: m.namespace, name: m.name, type: m.type, clusterIP: clusterIPs.first,
                externalIPs: m.externalIPs, loadBalancerIPs: lbIPs,
                loadBalancerSourceRanges: m.loadBalancerSourceRanges.map(\.description), ports: ports,
                externalTrafficPolicy: m.externalTrafficPolicy, internalTrafficPolicy: m.internalTrafficPolicy,
                healthCheckNodePort: hc, sessionAffinityTimeout: m.sessionAffinityTimeout,
                secondaryClusterIP: clusterIPs.count > 1 ? clusterIPs[1] : nil))
        }
        return services
    }

    private func claim(_ port: UInt16, _ used: inout [UInt16: String], _ object: String, _ field: String) throws {
        if let other = used[port] {
            throw ClusterStateBuildError.invalid(object: object, field: field, problem: "port \(port) is already used by \(other)")
        }
        used[port] = "\(object) \(field)"
    }

    private func next(_ cursor: inout UInt16, _ used: inout [UInt16: String], _ object: String) throws -> UInt16 {
        while used[cursor] != nil {
            guard cursor < LabAddressing.nodePortRange.upperBound else {
                throw ClusterStateBuildError.exhausted(object: object, what: "NodePort")
            }
            cursor += 1
        }
        used[cursor] = object
        return cursor
    }

    /// Ready endpoints: pods in `namespace` whose labels include `selector`, at the resolved target port.
    /// A named targetPort skips pods that do not declare that port name (as the EndpointSlice controller does).
    static func endpoints(for port: ManifestServicePort, selector: [String: String], namespace: String, pods: [LabPod],
                          family: IPFamily = .ipv4) -> [ServiceEndpoint] {
        guard !selector.isEmpty else { return [] }
        return pods.compactMap { pod in
            guard pod.namespace == namespace, selector.allSatisfy({ pod.labels[$0.key] == $0.value }),
                  let ip = pod.ip(family) else { return nil }
            let target: UInt16
            switch port.targetPort {
            case nil: target = port.port
            case .number(let n): target = n
            case .name(let name):
                guard let n = pod.ports[name] else { return nil }
                target = n
            }
            return ServiceEndpoint(ip: ip, port: target, nodeName: pod.node, ready: true)
        }
    }
}
