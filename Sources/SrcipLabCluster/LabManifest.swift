import Foundation
import Yams

/// Kubernetes YAML (Deployment, Pod, Service, List) → lab objects.
public enum LabManifest {
    /// Parses a multi-document manifest. Unknown kinds and fields become warnings; invalid values throw `ManifestError`.
    public static func parse(_ yaml: String, source: String) throws -> (objects: ManifestObjects, warnings: [ManifestWarning]) {
        let sink = ManifestDiagnosticsSink(source: source)
        var objects = ManifestObjects()
        do {
            var documents = try Yams.compose_all(yaml: yaml)
            var index = 0
            while let root = documents.next() {
                index += 1
                let field = ManifestField(node: root, path: "", object: "document \(index)", sink: sink)
                try decodeObject(field, into: &objects)
            }
            if let error = documents.error { throw error }
            if index == 0 { throw ManifestError.noDocuments(source: source) }
        } catch let e as ManifestError {
            throw e
        } catch {
            throw ManifestError.yaml(source: source, message: "\(error)")
        }
        try checkDuplicates(objects, source: source)
        return (objects, sink.warnings)
    }

    static func decodeObject(_ field: ManifestField, into objects: inout ManifestObjects) throws {
        if field.isNull { return }
        let root = try field.mapping(known: ["apiVersion", "kind", "metadata", "spec", "status", "items"])
        guard let kindField = root["kind"] else { throw field.missing("kind") }
        let kind = try kindField.string()
        switch kind {
        case "List", "DeploymentList", "PodList", "ServiceList":
            guard let items = root["items"] else { return }
            for item in try items.sequence() {
                try decodeObject(item.relabelled("\(field.object) \(item.path)"), into: &objects)
            }
            return
        case "Deployment", "Pod", "Service":
            break
        default:
            field.sink.warn(object: field.object, field: kindField.path, "kind \(kind) is not used by the lab; object ignored")
            return
        }
        if let items = root["items"] { field.sink.warn(object: field.object, field: items.path, "unknown field, ignored") }
        let (header, labels) = try ManifestObjectHeader.read(kind: kind, root: root, fallback: field.relabelled("\(kind) in \(field.object)"))
        let object = field.relabelled(header.label)
        let named = root.mapValues { $0.relabelled(header.label) }
        switch kind {
        case "Deployment":
            objects.deployments.append(try ManifestWorkloadDecoder.deployment(named, object: object, header: header))
        case "Pod":
            objects.pods.append(try ManifestWorkloadDecoder.pod(named, object: object, header: header, labels: labels))
        default:
            if let s = try ManifestServiceDecoder.service(named, object: object, header: header) { objects.services.append(s) }
        }
        if kind != "Service", let status = named["status"] {
            field.sink.warn(object: header.label, field: status.path, "status is ignored for \(kind)")
        }
    }

    static func checkDuplicates(_ o: ManifestObjects, source: String) throws {
        func check(_ kind: String, _ ids: [(String, String)]) throws {
            var seen: Set<String> = []
            for (ns, name) in ids where !seen.insert("\(ns)/\(name)").inserted {
                throw ManifestError.duplicate(source: source, object: "\(kind) \(ns)/\(name)")
            }
        }
        try check("Deployment", o.deployments.map { ($0.namespace, $0.name) })
        try check("Pod", o.pods.map { ($0.namespace, $0.name) })
        try check("Service", o.services.map { ($0.namespace, $0.name) })
    }

    /// Location of the bundled seed experiment manifest.
    public static var defaultManifestURL: URL? {
        Bundle.module.url(forResource: "seed", withExtension: "yaml", subdirectory: "Manifests")
    }

    /// Reads the bundled seed manifest.
    public static func loadDefaultManifest() throws -> String {
        guard let url = defaultManifestURL else { throw LabResourceError.missing("Manifests/seed.yaml") }
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// The bundled seed experiment manifest (traps if the resource bundle is missing, i.e. a broken install).
    public static var defaultManifest: String {
        do { return try loadDefaultManifest() } catch { preconditionFailure("\(error)") }
    }
}

/// A resource of the SrcipLab bundle could not be found.
public enum LabResourceError: Error, CustomStringConvertible {
    case missing(String)

    public var description: String {
        switch self {
        case .missing(let path):
            return "the SrcipLab resource \(path) is missing from the bundle; rebuild the package (swift build)"
        }
    }
}
