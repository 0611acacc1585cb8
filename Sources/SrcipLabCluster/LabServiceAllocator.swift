import SrcipCore

/// Allocates ClusterIPs, NodePorts, health-check NodePorts and LoadBalancer IPs, and resolves endpoints.
struct LabServiceAllocator {
    let serviceCIDR: IPPrefix

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
            if let ip = m.clusterIP {
                guard serviceCIDR.contains(ip), ip != serviceCIDR.address,
                      ip != LabAddressing.offset(serviceCIDR.address, (1 << (32 - serviceCIDR.length)) - 1) else {
                    throw ClusterStateBuildError.invalid(object: object, field: "spec.clusterIP",
                                                         problem: "\(ip) is not a usable address of the service CIDR \(serviceCIDR)")
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

        var nextClusterIP = LabAddressing.firstClusterIP
        var nextNodePort = LabAddressing.firstNodePort
        var nextHCPort = LabAddressing.firstHealthCheckNodePort
        var nextLBIP = LabAddressing.firstLoadBalancerIP
        var services: [Service] = []
        for m in manifests {
            let object = "Service \(m.namespace)/\(m.name)"
            var clusterIP = m.clusterIP
            if clusterIP == nil {
                while usedClusterIPs[nextClusterIP] != nil { nextClusterIP = LabAddressing.offset(nextClusterIP, 1) }
                guard serviceCIDR.contains(LabAddressing.offset(nextClusterIP, 1)) else {
                    throw ClusterStateBuildError.exhausted(object: object, what: "ClusterIP")
                }
                clusterIP = nextClusterIP
                usedClusterIPs[nextClusterIP] = object
            }
            let wantsNodePorts = m.type == .nodePort || (m.type == .loadBalancer && m.allocateLoadBalancerNodePorts)
            var ports: [ServicePort] = []
            for p in m.ports {
                var nodePort = p.nodePort
                if nodePort == nil && wantsNodePorts {
                    nodePort = try next(&nextNodePort, &usedPorts, object)
                }
                ports.append(ServicePort(name: p.name, proto: p.proto, port: p.port, nodePort: nodePort,
                                         endpoints: Self.endpoints(for: p, selector: m.selector, namespace: m.namespace, pods: pods)))
            }
            var hc = m.healthCheckNodePort
            if m.type == .loadBalancer && m.externalTrafficPolicy == .local && hc == nil {
                hc = try next(&nextHCPort, &usedPorts, object)
            }
            var lbIPs = m.loadBalancerIngressIPs
            if m.type == .loadBalancer && lbIPs.isEmpty {
                while usedLBIPs.contains(nextLBIP) { nextLBIP = LabAddressing.offset(nextLBIP, 1) }
                lbIPs = [nextLBIP]
                usedLBIPs.insert(nextLBIP)
            }
            services.append(Service(
                namespace: m.namespace, name: m.name, type: m.type, clusterIP: clusterIP,
                externalIPs: m.externalIPs, loadBalancerIPs: lbIPs,
                loadBalancerSourceRanges: m.loadBalancerSourceRanges.map(\.description), ports: ports,
                externalTrafficPolicy: m.externalTrafficPolicy, internalTrafficPolicy: m.internalTrafficPolicy,
                healthCheckNodePort: hc, sessionAffinityTimeout: m.sessionAffinityTimeout))
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
    static func endpoints(for port: ManifestServicePort, selector: [String: String], namespace: String, pods: [LabPod]) -> [ServiceEndpoint] {
        guard !selector.isEmpty else { return [] }
        return pods.compactMap { pod in
            guard pod.namespace == namespace, selector.allSatisfy({ pod.labels[$0.key] == $0.value }) else { return nil }
            let target: UInt16
            switch port.targetPort {
            case nil: target = port.port
            case .number(let n): target = n
            case .name(let name):
                guard let n = pod.ports[name] else { return nil }
                target = n
            }
            return ServiceEndpoint(ip: pod.ip, port: target, nodeName: pod.node, ready: true)
        }
    }
}
