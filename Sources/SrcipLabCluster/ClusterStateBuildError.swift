/// Why manifest objects could not be turned into a lab cluster.
public enum ClusterStateBuildError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalidNodeCount(Int)
    /// `object` (e.g. `Service default/nodeport`) has a `field` value that conflicts with the lab or another object.
    case invalid(object: String, field: String, problem: String)
    /// An allocator ran out of addresses or ports.
    case exhausted(object: String, what: String)

    public var description: String {
        switch self {
        case .invalidNodeCount(let n):
            return "node count \(n) is out of range 1-\(LabAddressing.maxNodes); choose a smaller lab"
        case .invalid(let object, let field, let problem):
            return "\(object): \(field): \(problem); fix the manifest and retry"
        case .exhausted(let object, let what):
            return "\(object): no free \(what) left in the lab's range; remove some objects"
        }
    }
}
