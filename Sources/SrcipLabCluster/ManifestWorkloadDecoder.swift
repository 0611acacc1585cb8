import SrcipCore

/// Decodes `Deployment` and `Pod` objects into lab workloads.
enum ManifestWorkloadDecoder {
    static let hostnameLabel = "kubernetes.io/hostname"

    static func deployment(_ root: [String: ManifestField], object: ManifestField, header: ManifestObjectHeader) throws -> ManifestDeployment {
        guard let specField = root["spec"] else { throw object.missing("spec") }
        let spec = try specField.mapping(
            known: ["replicas", "selector", "template"],
            tolerated: ["strategy", "revisionHistoryLimit", "progressDeadlineSeconds", "minReadySeconds", "paused"])
        var replicas = 1
        if let r = spec["replicas"] {
            replicas = try r.int()
            guard (0...250).contains(replicas) else { throw r.error("\(replicas) replicas is out of range 0-250") }
        }
        guard let selField = spec["selector"] else { throw specField.missing("selector") }
        let sel = try selField.mapping(known: ["matchLabels", "matchExpressions"])
        if let expr = sel["matchExpressions"] {
            expr.sink.warn(object: header.label, field: expr.path, "matchExpressions are not supported; only matchLabels selects pods")
        }
        guard let ml = sel["matchLabels"] else { throw selField.missing("matchLabels", "the lab selects pods by matchLabels only") }
        let selector = try ml.stringMap()
        guard let tmplField = spec["template"] else { throw specField.missing("template") }
        let tmpl = try tmplField.mapping(known: ["metadata", "spec"])
        var labels: [String: String] = [:]
        if let m = tmpl["metadata"] {
            let meta = try m.mapping(known: ["labels"], tolerated: ["annotations", "name", "creationTimestamp"])
            labels = try meta["labels"]?.stringMap() ?? [:]
        }
        guard !selector.isEmpty, selector.allSatisfy({ labels[$0.key] == $0.value }) else {
            throw ml.error("selector \(render(selector)) does not match the template labels \(render(labels))")
        }
        guard let podSpecField = tmpl["spec"] else { throw tmplField.missing("spec") }
        let (ports, node) = try podSpec(podSpecField, header: header)
        return ManifestDeployment(namespace: header.namespace, name: header.name, replicas: replicas, selector: selector,
                                  templateLabels: labels, ports: ports, nodeName: node)
    }

    static func pod(_ root: [String: ManifestField], object: ManifestField, header: ManifestObjectHeader, labels: [String: String]) throws -> ManifestPod {
        guard let specField = root["spec"] else { throw object.missing("spec") }
        let (ports, node) = try podSpec(specField, header: header)
        return ManifestPod(namespace: header.namespace, name: header.name, labels: labels, ports: ports, nodeName: node)
    }

    /// Container ports and node placement of a pod spec.
    static func podSpec(_ field: ManifestField, header: ManifestObjectHeader) throws -> ([ManifestContainerPort], String?) {
        let spec = try field.mapping(
            known: ["containers", "nodeName", "nodeSelector"],
            tolerated: ["restartPolicy", "terminationGracePeriodSeconds", "dnsPolicy", "serviceAccountName",
                        "serviceAccount", "schedulerName", "securityContext", "enableServiceLinks"])
        var node: String?
        if let n = spec["nodeName"] { node = try n.string() }
        if let sf = spec["nodeSelector"] {
            let sel = try sf.stringMap()
            for key in sel.keys.sorted() where key != hostnameLabel {
                sf.sink.warn(object: header.label, field: sf.childPath(key), "only \(hostnameLabel) is used for placement; ignored")
            }
            if let host = sel[hostnameLabel] {
                if let n = node, n != host {
                    throw sf.error("nodeSelector \(hostnameLabel)=\(host) contradicts nodeName \(n)")
                }
                node = host
            }
        }
        guard let cf = spec["containers"] else { throw field.missing("containers") }
        var ports: [ManifestContainerPort] = []
        var names: Set<String> = []
        for c in try cf.sequence() {
            let container = try c.mapping(
                known: ["name", "image", "ports"],
                tolerated: ["args", "command", "env", "imagePullPolicy", "resources", "readinessProbe",
                            "livenessProbe", "startupProbe", "securityContext", "workingDir", "terminationMessagePath",
                            "terminationMessagePolicy"])
            guard let pf = container["ports"] else { continue }
            for p in try pf.sequence() {
                let port = try p.mapping(known: ["name", "containerPort", "protocol"], tolerated: [])
                guard let cp = port["containerPort"] else { throw p.missing("containerPort") }
                var name: String?
                if let nf = port["name"] {
                    let n = try nf.string()
                    try ManifestObjectHeader.checkPortName(n, field: nf)
                    guard names.insert(n).inserted else { throw nf.error("port name \"\(n)\" is used twice in this pod") }
                    name = n
                }
                let proto = try port["protocol"].map(protocolValue) ?? .tcp
                ports.append(ManifestContainerPort(name: name, containerPort: try cp.port(), proto: proto))
            }
        }
        return (ports, node)
    }

    static func protocolValue(_ f: ManifestField) throws -> L4Protocol {
        switch try f.string() {
        case "TCP": return .tcp
        case "UDP": return .udp
        case let other: throw f.error("protocol \"\(other)\" is not supported by the lab (use TCP or UDP)")
        }
    }

    static func render(_ labels: [String: String]) -> String {
        "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") + "}"
    }
}
