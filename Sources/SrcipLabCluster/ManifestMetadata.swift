import Yams

/// Identity of one manifest object: kind, namespace, name and the `Kind ns/name` label used in messages.
struct ManifestObjectHeader {
    var kind: String
    var namespace: String
    var name: String
    var label: String { "\(kind) \(namespace)/\(name)" }

    static let metadataKnown: Set<String> = ["name", "namespace", "labels"]
    static let metadataTolerated: Set<String> = [
        "annotations", "uid", "resourceVersion", "creationTimestamp", "generation", "managedFields",
        "ownerReferences", "finalizers", "generateName", "selfLink", "deletionTimestamp",
    ]

    /// Reads `metadata` of an object whose kind is known; `fallback` names the object in errors before its name is known.
    static func read(kind: String, root: [String: ManifestField], fallback: ManifestField) throws -> (ManifestObjectHeader, labels: [String: String]) {
        guard let rawMeta = root["metadata"] else { throw fallback.missing("metadata") }
        let peekName = rawMeta.node["name"]?.string ?? ""
        let peekNamespace = rawMeta.node["namespace"]?.string ?? "default"
        let label = peekName.isEmpty ? fallback.object : ManifestObjectHeader(kind: kind, namespace: peekNamespace, name: peekName).label
        let metaField = rawMeta.relabelled(label)
        let meta = try metaField.mapping(known: metadataKnown, tolerated: metadataTolerated)
        guard let nameField = meta["name"] else { throw metaField.missing("name") }
        let name = try nameField.string()
        let namespace = try meta["namespace"]?.string() ?? "default"
        let header = ManifestObjectHeader(kind: kind, namespace: namespace, name: name)
        try Self.checkDNSName(name, field: nameField, label: kind == "Service")
        if let nsField = meta["namespace"] { try Self.checkDNSName(namespace, field: nsField, label: true) }
        let labels = try meta["labels"]?.stringMap() ?? [:]
        return (header, labels)
    }

    /// DNS-1123 label (services, namespaces) or subdomain (pods, deployments).
    static func checkDNSName(_ s: String, field: ManifestField, label: Bool) throws {
        let maxLen = label ? 63 : 253
        let allowed: (Character) -> Bool = { c in
            (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "-" || (!label && c == ".")
        }
        let alnum: (Character) -> Bool = { c in (c >= "a" && c <= "z") || (c >= "0" && c <= "9") }
        guard !s.isEmpty, s.count <= maxLen, s.allSatisfy(allowed), alnum(s.first!), alnum(s.last!) else {
            throw field.error("\"\(s)\" is not a valid DNS-1123 \(label ? "label" : "subdomain") (lower-case letters, digits, '-'\(label ? "" : ", '.'"), at most \(maxLen) characters)")
        }
    }

    /// IANA service name, as required for port names: 1-15 of [a-z0-9-], at least one letter.
    static func checkPortName(_ s: String, field: ManifestField) throws {
        let ok = !s.isEmpty && s.count <= 15
            && s.allSatisfy { ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") || $0 == "-" }
            && s.contains(where: { $0 >= "a" && $0 <= "z" })
            && s.first != "-" && s.last != "-"
        guard ok else { throw field.error("\"\(s)\" is not a valid port name (1-15 lower-case letters, digits or '-', with at least one letter)") }
    }
}
