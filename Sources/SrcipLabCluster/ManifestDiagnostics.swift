/// A manifest field the lab ignored (unknown kind or field, or a value with no effect in the lab).
public struct ManifestWarning: Hashable, Sendable, CustomStringConvertible {
    /// Where the manifest came from (file name or "default manifest").
    public var source: String
    /// `Kind namespace/name`, or `document N` when the object has no usable identity.
    public var object: String
    /// Dotted field path such as `spec.ports[0].appProtocol`.
    public var field: String
    public var message: String

    public init(source: String, object: String, field: String, message: String) {
        self.source = source
        self.object = object
        self.field = field
        self.message = message
    }

    public var description: String {
        field.isEmpty ? "\(source): \(object): \(message)" : "\(source): \(object): \(field): \(message)"
    }
}

/// Why a manifest could not be turned into lab objects.
public enum ManifestError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The text is not valid YAML.
    case yaml(source: String, message: String)
    /// A field holds a value the lab (or Kubernetes) does not accept.
    case invalidValue(source: String, object: String, field: String, problem: String)
    /// Two objects of the same kind share a namespace/name.
    case duplicate(source: String, object: String)
    /// The text holds no YAML document at all (an empty file, or only comments).
    case noDocuments(source: String)

    public var description: String {
        switch self {
        case .yaml(let source, let message):
            return "\(source): not valid YAML: \(message); fix the syntax and retry"
        case .invalidValue(let source, let object, let field, let problem):
            return "\(source): \(object): \(field): \(problem); fix the manifest and retry"
        case .duplicate(let source, let object):
            return "\(source): \(object) is defined more than once; rename or remove one of them"
        case .noDocuments(let source):
            return "\(source): no Kubernetes objects (empty file?); for a lab without workloads give `kind: List` with `items: []`"
        }
    }
}
