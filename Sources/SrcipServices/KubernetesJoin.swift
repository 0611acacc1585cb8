import SrcipCore

/// Slices indexed by Service, and the Service → `[Service]` conversion.
struct KubernetesJoin {
    struct SlicePort { var name: String; var proto: String; var port: UInt16 }
    struct SliceEndpoint { var address: IPAddress; var nodeName: String?; var ready: Bool; var serving: Bool; var terminating: Bool }
    struct Slice { var isIPv4: Bool; var ports: [SlicePort]; var endpoints: [SliceEndpoint] }

    let localNodeName: String?
    private var slices: [String: [Slice]] = [:]   // "ns/name" → slices

    init(localNodeName: String?) { self.localNodeName = localNodeName }

    mutating func addSlice(_ s: JSONNode) throws {
        let meta = try s.require("metadata").dict()
        let ns = try meta.require("namespace").string()
        guard let svc = meta["labels"]?["kubernetes.io/service-name"]?.stringValue else { return }
        let type = try s.require("addressType").string()
        guard type == "IPv4" || type == "IPv6" else { return }   // FQDN slices are not proxied
        var ports: [SlicePort] = []
        for p in try s["ports"]?.array() ?? [] {
            guard let n = p["port"] else { continue }      // a port-less slice means "all ports" (not used by kube-proxy Services)
            guard let port = UInt16(exactly: try n.int()) else { throw n.fail("not a port number") }
            ports.append(SlicePort(name: p["name"]?.stringValue ?? "", proto: p["protocol"]?.stringValue ?? "TCP", port: port))
        }
        var eps: [SliceEndpoint] = []
        for e in try s["endpoints"]?.array() ?? [] {
            let addrs = try e.require("addresses").array()
            guard let first = addrs.first else { continue }
            guard let ip = IPAddress(try first.string()) else { throw first.fail("not an IP address") }
            let c = try e["conditions"]?.dict()
            // API: a nil `ready` means ready; `serving` defaults to `ready`.
            let ready = c?["ready"]?.boolValue ?? true
            let serving = c?["serving"]?.boolValue ?? ready
            let terminating = c?["terminating"]?.boolValue ?? false
            eps.append(SliceEndpoint(address: ip, nodeName: e["nodeName"]?.stringValue, ready: ready, serving: serving, terminating: terminating))
        }
        slices["\(ns)/\(svc)", default: []].append(Slice(isIPv4: type == "IPv4", ports: ports, endpoints: eps))
    }

    /// One Service per address family it has a cluster IP in; none for headless / ExternalName / other proxies.
    func services(from s: JSONNode, warnings: inout [String]) throws -> [Service] {
        let meta = try s.require("metadata").dict()
        let ns = try meta.require("namespace").string()
        let name = try meta.require("name").string()
        let id = "\(ns)/\(name)"
        let spec = try s.require("spec").dict()
        let typeText = spec["type"]?.stringValue ?? "ClusterIP"
        if typeText == "ExternalName" {
            warnings.append("\(id): ExternalName Service is not proxied by kube-proxy; skipped")
            return []
        }
        if let proxy = meta["labels"]?["service.kubernetes.io/service-proxy-name"]?.stringValue {
            warnings.append("\(id): handled by service proxy \(proxy), not kube-proxy; skipped")
            return []
        }
        guard let type = ServiceType(rawValue: typeText) else { throw (spec["type"] ?? spec).fail("unknown Service type \(typeText)") }
        var clusterIPs: [IPAddress] = []
        var ipTexts = try spec["clusterIPs"]?.array().map { try $0.string() } ?? []
        if ipTexts.isEmpty, let one = spec["clusterIP"] { ipTexts = [try one.string()] }
        if ipTexts.allSatisfy(\.isEmpty) {
            warnings.append("\(id): no cluster IP allocated; kube-proxy skips it; skipped")
            return []
        }
        for t in ipTexts {
            if t == "None" {
                warnings.append("\(id): headless Service (clusterIP None) is not proxied; skipped")
                return []
            }
            guard let a = IPAddress(t) else { throw (spec["clusterIPs"] ?? spec["clusterIP"]!).fail("cluster IP `\(t)` is not an address") }
            if !clusterIPs.contains(a) { clusterIPs.append(a) }
        }
        let externalIPs = try addresses(spec["externalIPs"])
        var lbIPs: [IPAddress] = []
        for ing in try s["status"]?.dict()["loadBalancer"]?.dict()["ingress"]?.array() ?? [] {
            guard let t = ing["ip"]?.stringValue else { continue }   // hostname-only ingress
            guard let a = IPAddress(t) else { throw ing["ip"]!.fail("not an IP address") }
            if ing["ipMode"]?.stringValue == "Proxy" {
                warnings.append("\(id): load-balancer IP \(t) has ipMode Proxy; kube-proxy installs no rules for it; skipped")
                continue
            }
            lbIPs.append(a)
        }
        let etp: TrafficPolicy = spec["externalTrafficPolicy"]?.stringValue == "Local" ? .local : .cluster
        let itp: TrafficPolicy = spec["internalTrafficPolicy"]?.stringValue == "Local" ? .local : .cluster
        let hc = try spec["healthCheckNodePort"].map { n -> UInt16 in
            guard let p = UInt16(exactly: try n.int()) else { throw n.fail("not a port number") }
            return p
        }
        var affinity: Int?
        if spec["sessionAffinity"]?.stringValue == "ClientIP" {
            affinity = try spec["sessionAffinityConfig"]?["clientIP"]?["timeoutSeconds"]?.int() ?? 10800
        }
        let ranges = try spec["loadBalancerSourceRanges"]?.array().map { try $0.string() } ?? []
        var specPorts: [(name: String, proto: String, port: UInt16, nodePort: UInt16?)] = []
        for p in try spec["ports"]?.array() ?? [] {
            let n = try p.require("port")
            guard let port = UInt16(exactly: try n.int()) else { throw n.fail("not a port number") }
            let np = try p["nodePort"].map { x -> UInt16 in
                guard let v = UInt16(exactly: try x.int()) else { throw x.fail("not a port number") }
                return v
            }
            specPorts.append((p["name"]?.stringValue ?? "", p["protocol"]?.stringValue ?? "TCP", port, np == 0 ? nil : np))
        }
        var out: [Service] = []
        for cip in clusterIPs.isEmpty ? [nil] : clusterIPs.map(Optional.some) {
            let v4 = cip?.isIPv4 ?? true
            var ports: [ServicePort] = []
            for sp in specPorts {
                guard let proto = L4Protocol(name: sp.proto), proto.hasPorts else {
                    warnings.append("\(id): port \(sp.port)/\(sp.proto) is not traced; skipped")
                    continue
                }
                ports.append(ServicePort(name: sp.name.isEmpty ? nil : sp.name, proto: proto, port: sp.port, nodePort: sp.nodePort,
                                         endpoints: endpoints(id, portName: sp.name, proto: sp.proto, v4: v4)))
            }
            out.append(Service(namespace: ns, name: name, type: type, clusterIP: cip,
                               externalIPs: externalIPs.filter { $0.isIPv4 == v4 }, loadBalancerIPs: lbIPs.filter { $0.isIPv4 == v4 },
                               loadBalancerSourceRanges: ranges, ports: ports, externalTrafficPolicy: etp,
                               internalTrafficPolicy: itp, healthCheckNodePort: hc == 0 ? nil : hc, sessionAffinityTimeout: affinity))
        }
        // One Service with both families (`clusterIPs` order kept), as the API server has it.
        var folded: [Service] = []
        folded.appendFoldingFamilies(out)
        return folded
    }

    /// Ready endpoints of the matching slice ports; serving+terminating ones when none is ready.
    private func endpoints(_ id: String, portName: String, proto: String, v4: Bool) -> [ServiceEndpoint] {
        var ready: [ServiceEndpoint] = []
        var fallback: [ServiceEndpoint] = []
        for slice in slices[id] ?? [] where slice.isIPv4 == v4 {
            guard let sp = slice.ports.first(where: { $0.name == portName && $0.proto == proto }) else { continue }
            for e in slice.endpoints {
                let isLocal = localNodeName.map { e.nodeName == $0 }
                let ep = ServiceEndpoint(ip: e.address, port: sp.port, nodeName: e.nodeName, ready: e.ready, isLocal: isLocal)
                if e.ready {
                    if !ready.contains(ep) { ready.append(ep) }
                } else if e.serving && e.terminating {
                    if !fallback.contains(ep) { fallback.append(ep) }
                }
            }
        }
        return ready.isEmpty ? fallback : ready
    }

    private func addresses(_ node: JSONNode?) throws -> [IPAddress] {
        try (node?.array() ?? []).map { n in
            guard let a = IPAddress(try n.string()) else { throw n.fail("not an IP address") }
            return a
        }
    }
}
