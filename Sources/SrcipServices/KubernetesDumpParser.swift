import Foundation
import SrcipCore

/// Builds Services from `kubectl get svc,endpointslices -A -o json` output (a `List` of Services and EndpointSlices),
/// or from separate files / lists of one kind. Joins slices to Services the way kube-proxy does: by the
/// `kubernetes.io/service-name` label in the same namespace, ports by name and protocol; ready endpoints first,
/// serving+terminating ones only when no endpoint is ready.
public enum KubernetesDumpParser {
    /// Parses one file. `localNodeName` (the node srcip runs on) fills `ServiceEndpoint.isLocal`.
    public static func parse(_ data: Data, file: String = "kubectl dump", localNodeName: String? = nil) throws -> DiscoveredServices {
        try parse([(file, data)], localNodeName: localNodeName)
    }

    /// Parses several files together (e.g. one with Services, one with EndpointSlices).
    public static func parse(_ files: [(name: String, data: Data)], localNodeName: String? = nil) throws -> DiscoveredServices {
        var services: [JSONNode] = []
        var slices: [JSONNode] = []
        var warnings: [String] = []
        var nodeAddresses: [IPAddress] = []
        for (name, data) in files {
            let root = try JSONNode.parse(data, file: name)
            for item in try items(root) {
                switch item["kind"]?.stringValue {
                case "Service": services.append(item)
                case "EndpointSlice": slices.append(item)
                case "Node": nodeAddresses += nodeIPs(item).filter { !nodeAddresses.contains($0) }
                case let k:
                    warnings.append("\(name): \(item.path.isEmpty ? "top level" : item.path): kind \(k ?? "(none)") is not a Service, EndpointSlice or Node; ignored")
                }
            }
        }
        var builder = KubernetesJoin(localNodeName: localNodeName)
        for s in slices { try builder.addSlice(s) }
        var out: [Service] = []
        for s in services { out += try builder.services(from: s, warnings: &warnings) }
        out.sort { ($0.namespace, $0.name, $0.clusterIP?.isIPv4 == false ? 1 : 0) < ($1.namespace, $1.name, $1.clusterIP?.isIPv4 == false ? 1 : 0) }
        return DiscoveredServices(services: out, source: "kubectl", warnings: warnings, nodeAddresses: nodeAddresses,
                                  structures: .kubernetesObjects)
    }

    /// A Node's InternalIP and ExternalIP addresses (`status.addresses`).
    static func nodeIPs(_ node: JSONNode) -> [IPAddress] {
        (node["status"]?["addresses"]?.elements ?? []).compactMap { a in
            guard let type = a["type"]?.stringValue, type == "InternalIP" || type == "ExternalIP" else { return nil }
            return a["address"]?.stringValue.flatMap { IPAddress($0) }
        }
    }

    /// The objects of a `List` (`items`), or the single object itself.
    static func items(_ root: JSONNode) throws -> [JSONNode] {
        _ = try root.dict()
        if let items = root["items"] { return try items.array().map { try $0.dict() } }
        if root["kind"] != nil { return [root] }
        throw root.fail("neither a Kubernetes object nor a List with `items`")
    }
}
