import SrcipCore

extension ClusterState {
    /// Places pods on `nodeCount` nodes, allocates ClusterIPs, NodePorts, health-check ports and LB IPs,
    /// and resolves each Service port's endpoints (pods matching the selector in the same namespace).
    public static func build(from objects: ManifestObjects, nodeCount: Int = LabAddressing.defaultNodeCount,
                             cni: LabCNI = .bridge, ipFamily: LabIPFamily = .ipv4) throws -> ClusterState {
        guard (1...LabAddressing.maxNodes).contains(nodeCount) else { throw ClusterStateBuildError.invalidNodeCount(nodeCount) }
        let nodes = (1...nodeCount).map {
            LabNode(name: LabAddressing.nodeName($0), ip: LabAddressing.nodeIP($0), podCIDR: LabAddressing.podCIDR($0),
                    ip6: ipFamily.hasIPv6 ? LabAddressing6.nodeIP($0) : nil,
                    podCIDR6: ipFamily.hasIPv6 ? LabAddressing6.podCIDR($0) : nil)
        }
        let pods = try LabPodPlacer(nodes: nodes).place(objects)
        let services = try LabServiceAllocator(serviceCIDR: LabAddressing.serviceCIDR, families: ipFamily.families)
            .allocate(objects.services, pods: pods)
        return ClusterState(clusterCIDR: LabAddressing.clusterCIDR, serviceCIDR: LabAddressing.serviceCIDR,
                            nodes: nodes, pods: pods, services: services, cni: cni, ipFamily: ipFamily)
    }

    /// The state after `objects` replaced this state's objects on the same nodes, as a cluster would evolve: a pod whose
    /// name, labels, ports and node pin are unchanged keeps its node and IP; a new (or changed, hence recreated) pod goes
    /// to its pinned node or the node with the fewest pods and gets the lowest free IP there; a Service keeps its
    /// allocated ClusterIP, NodePorts, healthCheckNodePort and LoadBalancer IP unless the manifest sets them or its type
    /// no longer has them.
    public func rebuilt(from objects: ManifestObjects) throws -> ClusterState {
        let pods = try LabPodPlacer(nodes: nodes, previous: pods).place(objects)
        let manifests = objects.services.map { m in
            service(namespace: m.namespace, name: m.name).map { m.keepingAllocations(of: $0) } ?? m
        }
        let services = try LabServiceAllocator(serviceCIDR: serviceCIDR, families: ipFamily.families).allocate(manifests, pods: pods)
        return ClusterState(clusterCIDR: clusterCIDR, serviceCIDR: serviceCIDR, nodes: nodes, pods: pods, services: services,
                            cni: cni, ipFamily: ipFamily)
    }
}

extension ManifestService {
    /// This manifest with `previous`'s allocations filled in where it leaves them open and its type still uses them.
    func keepingAllocations(of previous: Service) -> ManifestService {
        var m = self
        if m.clusterIP == nil && m.secondaryClusterIP == nil {
            let primaryKept = m.ipFamilies.first.map { f in previous.clusterIP.map { IPFamily.of($0) == f } ?? false } ?? true
            if primaryKept {
                m.clusterIP = previous.clusterIP
                m.secondaryClusterIP = (m.ipFamilyPolicy ?? .singleStack) == .singleStack ? nil : previous.secondaryClusterIP
            }
        }
        let wantsNodePorts = type == .nodePort || (type == .loadBalancer && allocateLoadBalancerNodePorts)
        for i in m.ports.indices where m.ports[i].nodePort == nil && wantsNodePorts {
            let p = m.ports[i]
            m.ports[i].nodePort = previous.ports.first { $0.port == p.port && $0.proto == p.proto && $0.name == p.name }?.nodePort
        }
        if type == .loadBalancer && externalTrafficPolicy == .local && m.healthCheckNodePort == nil {
            m.healthCheckNodePort = previous.healthCheckNodePort
        }
        if type == .loadBalancer && m.loadBalancerIngressIPs.isEmpty { m.loadBalancerIngressIPs = previous.loadBalancerIPs }
        return m
    }
}

/// Turns Deployments and Pods into placed, addressed lab pods.
struct LabPodPlacer {
    let nodes: [LabNode]
    /// Pods of the state being replaced: unchanged pods keep their node and IP, new ones fill the least-used node.
    var previous: [LabPod]? = nil

    func place(_ objects: ManifestObjects) throws -> [LabPod] {
        var planned: [(object: String, ns: String, name: String, labels: [String: String], ports: [ManifestContainerPort], node: String?)] = []
        for d in objects.deployments {
            for i in 0..<d.replicas {
                planned.append(("Deployment \(d.namespace)/\(d.name)", d.namespace, "\(d.name)-\(i)", d.templateLabels, d.ports, d.nodeName))
            }
        }
        for p in objects.pods {
            planned.append(("Pod \(p.namespace)/\(p.name)", p.namespace, p.name, p.labels, p.ports, p.nodeName))
        }
        var names: [String: String] = [:]
        var perNode: [String: Int] = [:]
        var roundRobin = 0
        var pods: [LabPod] = []
        var kept: [String: LabPod] = [:]
        if let previous {
            let old = Dictionary(previous.map { ("\($0.namespace)/\($0.name)", $0) }, uniquingKeysWith: { a, _ in a })
            for p in planned {
                guard let o = old["\(p.ns)/\(p.name)"], o.labels == p.labels, o.ports == Self.portMap(p.ports),
                      p.node == nil || p.node == o.node else { continue }
                kept["\(p.ns)/\(p.name)"] = o
            }
        }
        var usedIPs = Set(kept.values.map(\.ip))
        var load = Dictionary(grouping: kept.values, by: \.node).mapValues(\.count)
        for p in planned {
            if let other = names["\(p.ns)/\(p.name)"] {
                throw ClusterStateBuildError.invalid(object: p.object, field: "metadata.name",
                                                     problem: "pod name \(p.ns)/\(p.name) is also produced by \(other)")
            }
            names["\(p.ns)/\(p.name)"] = p.object
            if let o = kept["\(p.ns)/\(p.name)"] {
                pods.append(o)
                continue
            }
            let node: LabNode
            if let wanted = p.node {
                guard let n = nodes.first(where: { $0.name == wanted }) else {
                    throw ClusterStateBuildError.invalid(
                        object: p.object, field: p.object.hasPrefix("Pod") ? "spec.nodeName" : "spec.template.spec.nodeName",
                        problem: "node \(wanted) does not exist (the lab has \(nodes.map(\.name).joined(separator: ", ")))")
                }
                node = n
            } else if previous != nil {
                node = nodes.min { load[$0.name, default: 0] < load[$1.name, default: 0] }!
            } else {
                node = nodes[roundRobin % nodes.count]
                roundRobin += 1
            }
            var index = perNode[node.name, default: 0]
            while usedIPs.contains(LabAddressing.podIP(node.podCIDR, index)) { index += 1 }
            guard index < 253 else { throw ClusterStateBuildError.exhausted(object: p.object, what: "pod IP on \(node.name)") }
            perNode[node.name] = index + 1
            load[node.name, default: 0] += 1
            let ip = LabAddressing.podIP(node.podCIDR, index)
            usedIPs.insert(ip)
            pods.append(LabPod(namespace: p.ns, name: p.name, labels: p.labels, node: node.name,
                               ip: ip, ports: Self.portMap(p.ports), ip6: node.podCIDR6.map { LabAddressing.next($0.address, 2 + index) }))
        }
        return pods
    }

    /// Named ports by name; the first unnamed port under "", further unnamed ports under their number.
    static func portMap(_ ports: [ManifestContainerPort]) -> [String: UInt16] {
        var map: [String: UInt16] = [:]
        for p in ports {
            if let n = p.name {
                map[n] = p.containerPort
            } else if map[""] == nil {
                map[""] = p.containerPort
            } else {
                map[String(p.containerPort)] = p.containerPort
            }
        }
        return map
    }
}

extension ClusterState {
    /// The node called `name`.
    public func node(named name: String) -> LabNode? { nodes.first { $0.name == name } }

    /// The service `namespace/name`.
    public func service(namespace: String = "default", name: String) -> Service? {
        services.first { $0.namespace == namespace && $0.name == name }
    }

    /// The pods placed on `node`.
    public func pods(on node: String) -> [LabPod] { pods.filter { $0.node == node } }
}
