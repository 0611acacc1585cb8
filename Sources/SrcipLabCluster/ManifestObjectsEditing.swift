/// The object kinds `lab apply`, `lab delete` and `lab scale` work on.
public enum ManifestKind: String, Sendable, CaseIterable, Codable {
    case deployment = "Deployment"
    case pod = "Pod"
    case service = "Service"

    /// `deployment`, `deploy`, `deployments`, `pod`, `po`, `svc`, … as kubectl accepts them (case-insensitive).
    public init?(kubectlName: String) {
        switch kubectlName.lowercased() {
        case "deployment", "deployments", "deploy": self = .deployment
        case "pod", "pods", "po": self = .pod
        case "service", "services", "svc": self = .service
        default: return nil
        }
    }
}

/// An edit asked of a lab's objects that cannot be made.
public enum ManifestEditError: Error, Hashable, Sendable, CustomStringConvertible {
    case notFound(kind: ManifestKind, namespace: String, name: String, known: [String])
    case invalidReplicas(Int)
    case ownedByDeployment(pod: String, deployment: String)

    public var description: String {
        switch self {
        case let .notFound(kind, ns, name, known):
            let list = known.isEmpty ? "the lab has none" : "the lab has \(known.joined(separator: ", "))"
            return "\(kind.rawValue) \(ns)/\(name) is not in the lab (\(list)); check `srcip lab status`"
        case let .ownedByDeployment(pod, deployment):
            return "pod \(pod) belongs to Deployment \(deployment) and would be recreated: scale or delete the Deployment instead"
        case let .invalidReplicas(n):
            return "replicas must be 0 or more (got \(n))"
        }
    }
}

extension ManifestObjects {
    /// `kubectl apply` without pruning: every object of `other` replaces the object of the same kind, namespace and name,
    /// or is added after the existing ones; objects `other` does not mention stay as they are.
    public func applying(_ other: ManifestObjects) -> ManifestObjects {
        func merge<T>(_ old: [T], _ new: [T], key: (T) -> String) -> [T] {
            var result = old
            for item in new {
                if let i = result.firstIndex(where: { key($0) == key(item) }) { result[i] = item } else { result.append(item) }
            }
            return result
        }
        return ManifestObjects(deployments: merge(deployments, other.deployments) { "\($0.namespace)/\($0.name)" },
                               pods: merge(pods, other.pods) { "\($0.namespace)/\($0.name)" },
                               services: merge(services, other.services) { "\($0.namespace)/\($0.name)" })
    }

    /// The objects without `kind` `namespace/name`; throws when there is no such object.
    public func removing(_ kind: ManifestKind, namespace: String, name: String) throws -> ManifestObjects {
        var o = self
        let before = o.count(kind)
        switch kind {
        case .deployment: o.deployments.removeAll { $0.namespace == namespace && $0.name == name }
        case .pod: o.pods.removeAll { $0.namespace == namespace && $0.name == name }
        case .service: o.services.removeAll { $0.namespace == namespace && $0.name == name }
        }
        if kind == .pod, let d = deployments.first(where: { d in
            d.namespace == namespace && (0..<d.replicas).contains { "\(d.name)-\($0)" == name }
        }) {
            throw ManifestEditError.ownedByDeployment(pod: "\(namespace)/\(name)", deployment: "\(d.namespace)/\(d.name)")
        }
        guard o.count(kind) < before else {
            throw ManifestEditError.notFound(kind: kind, namespace: namespace, name: name, known: names(kind))
        }
        return o
    }

    /// The objects with Deployment `namespace/name` at `replicas`.
    public func scaling(deployment name: String, namespace: String, to replicas: Int) throws -> ManifestObjects {
        guard replicas >= 0 else { throw ManifestEditError.invalidReplicas(replicas) }
        guard let i = deployments.firstIndex(where: { $0.namespace == namespace && $0.name == name }) else {
            throw ManifestEditError.notFound(kind: .deployment, namespace: namespace, name: name, known: names(.deployment))
        }
        var o = self
        o.deployments[i].replicas = replicas
        return o
    }

    func count(_ kind: ManifestKind) -> Int {
        switch kind {
        case .deployment: return deployments.count
        case .pod: return pods.count
        case .service: return services.count
        }
    }

    /// `namespace/name` of every object of `kind`.
    public func names(_ kind: ManifestKind) -> [String] {
        switch kind {
        case .deployment: return deployments.map { "\($0.namespace)/\($0.name)" }
        case .pod: return pods.map { "\($0.namespace)/\($0.name)" }
        case .service: return services.map { "\($0.namespace)/\($0.name)" }
        }
    }
}
