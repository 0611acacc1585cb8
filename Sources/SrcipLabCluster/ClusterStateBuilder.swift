import SrcipCore

extension ClusterState {
    /// Places pods on `nodeCount` nodes, allocates ClusterIPs, NodePorts, health-check ports and LB IPs,
    /// and resolves each Service port's endpoints (pods matching the selector in the same namespace).
    public static func build(from objects: ManifestObjects, nodeCount: Int = LabAddressing.defaultNodeCount) throws -> ClusterState {
        guard (1...LabAddressing.maxNodes).contains(nodeCount) else { throw ClusterStateBuildError.invalidNodeCount(nodeCount) }
        let nodes = (1...nodeCount).map {
            LabNode(name: LabAddressing.nodeName($0), ip: LabAddressing.nodeIP($0), podCIDR: LabAddressing.podCIDR($0))
        }
        let pods = try LabPodPlacer(nodes: nodes).place(objects)
        let services = try LabServiceAllocator(serviceCIDR: LabAddressing.serviceCIDR).allocate(objects.services, pods: pods)
        return ClusterState(clusterCIDR: LabAddressing.clusterCIDR, serviceCIDR: LabAddressing.serviceCIDR,
                            nodes: nodes, pods: pods, services: services)
    }
}

/// Turns Deployments and Pods into placed, addressed lab pods.
struct LabPodPlacer {
    let nodes: [LabNode]

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
        for p in planned {
            if let other = names["\(p.ns)/\(p.name)"] {
                throw ClusterStateBuildError.invalid(object: p.object, field: "metadata.name",
                                                     problem: "pod name \(p.ns)/\(p.name) is also produced by \(other)")
            }
            names["\(p.ns)/\(p.name)"] = p.object
            let node: LabNode
            if let wanted = p.node {
                guard let n = nodes.first(where: { $0.name == wanted }) else {
                    throw ClusterStateBuildError.invalid(
                        object: p.object, field: p.object.hasPrefix("Pod") ? "spec.nodeName" : "spec.template.spec.nodeName",
                        problem: "node \(wanted) does not exist (the lab has \(nodes.map(\.name).joined(separator: ", ")))")
                }
                node = n
            } else {
                node = nodes[roundRobin % nodes.count]
                roundRobin += 1
            }
            let index = perNode[node.name, default: 0]
            guard index < 253 else { throw ClusterStateBuildError.exhausted(object: p.object, what: "pod IP on \(node.name)") }
            perNode[node.name] = index + 1
            pods.append(LabPod(namespace: p.ns, name: p.name, labels: p.labels, node: node.name,
                               ip: LabAddressing.podIP(node.podCIDR, index), ports: Self.portMap(p.ports)))
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
