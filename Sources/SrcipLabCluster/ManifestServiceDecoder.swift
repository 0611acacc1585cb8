import SrcipCore

/// Decodes `Service` objects; returns nil (with a warning) for services kube-proxy never programs.
enum ManifestServiceDecoder {
    static let specKnown: Set<String> = [
        "type", "clusterIP", "clusterIPs", "ports", "selector", "externalIPs", "externalTrafficPolicy",
        "internalTrafficPolicy", "healthCheckNodePort", "sessionAffinity", "sessionAffinityConfig",
        "loadBalancerSourceRanges", "allocateLoadBalancerNodePorts", "ipFamilies", "ipFamilyPolicy",
    ]
    static let specTolerated: Set<String> = []

    static func service(_ root: [String: ManifestField], object: ManifestField, header: ManifestObjectHeader) throws -> ManifestService? {
        guard let specField = root["spec"] else { throw object.missing("spec") }
        let spec = try specField.mapping(known: specKnown, tolerated: specTolerated)
        let warn = { (f: ManifestField, msg: String) in f.sink.warn(object: header.label, field: f.path, msg) }

        var type = ServiceType.clusterIP
        if let tf = spec["type"] {
            let t = try tf.string()
            if t == "ExternalName" {
                warn(tf, "ExternalName services are never programmed by kube-proxy; service ignored")
                return nil
            }
            guard let parsed = ServiceType(rawValue: t) else {
                throw tf.error("unknown type \"\(t)\" (expected ClusterIP, NodePort or LoadBalancer)")
            }
            type = parsed
        }
        let externallyTyped = type != .clusterIP

        var clusterIP: IPAddress?
        var secondaryClusterIP: IPAddress?
        let clusterIPsList = try spec["clusterIPs"]?.sequence() ?? []
        let cipField = spec["clusterIP"] ?? clusterIPsList.first
        if let cf = cipField {
            let s = try cf.string().trimmingSpaces
            if s == "None" {
                warn(cf, "headless services are never programmed by kube-proxy; service ignored")
                return nil
            }
            if !s.isEmpty { clusterIP = try cf.ip() }
        }
        if clusterIPsList.count > 2 { throw clusterIPsList[2].error("at most two clusterIPs (one per IP family) are allowed") }
        if clusterIPsList.count == 2 {
            let second = try clusterIPsList[1].ip()
            if let clusterIP, IPFamily.of(clusterIP) == IPFamily.of(second) {
                throw clusterIPsList[1].error("clusterIPs must be of different IP families")
            }
            secondaryClusterIP = second
        }
        var families: [IPFamily] = []
        if let ff = spec["ipFamilies"] {
            for item in try ff.sequence() {
                let t = try item.string()
                guard let f = IPFamily(rawValue: t) else { throw item.error("unknown IP family \"\(t)\" (expected IPv4 or IPv6)") }
                guard !families.contains(f) else { throw item.error("\(t) is listed twice") }
                families.append(f)
            }
        }
        var familyPolicy: IPFamilyPolicy?
        if let pf = spec["ipFamilyPolicy"] {
            let t = try pf.string()
            guard let p = IPFamilyPolicy(rawValue: t) else {
                throw pf.error("unknown ipFamilyPolicy \"\(t)\" (expected SingleStack, PreferDualStack or RequireDualStack)")
            }
            familyPolicy = p
        }
        if families.count == 2 && (familyPolicy ?? .singleStack) == .singleStack {
            throw (spec["ipFamilies"] ?? specField).error("two ipFamilies need ipFamilyPolicy PreferDualStack or RequireDualStack")
        }
        for (i, ip) in [clusterIP, secondaryClusterIP].compactMap({ $0 }).enumerated() where i < families.count {
            if IPFamily.of(ip) != families[i] {
                throw (spec["ipFamilies"] ?? specField).error("clusterIPs[\(i)] \(ip) is not \(families[i].rawValue) as ipFamilies[\(i)] says")
            }
        }

        guard let portsField = spec["ports"] else { throw specField.missing("ports") }
        let portItems = try portsField.sequence()
        guard !portItems.isEmpty else { throw portsField.error("at least one port is required") }
        var ports: [ManifestServicePort] = []
        for item in portItems {
            let p = try servicePort(item, allowNodePort: externallyTyped, multiple: portItems.count > 1)
            if let dup = ports.first(where: { $0.port == p.port && $0.proto == p.proto }) {
                throw item.error("port \(p.port)/\(p.proto) is declared twice (also as \(dup.name ?? "unnamed"))")
            }
            if let n = p.name, ports.contains(where: { $0.name == n }) {
                throw item.error("port name \"\(n)\" is used twice")
            }
            ports.append(p)
        }

        let selector = try spec["selector"]?.stringMap() ?? [:]
        if selector.isEmpty {
            object.sink.warn(object: header.label, field: specField.childPath("selector"),
                             "no selector: the lab creates no endpoints for this service")
        }
        let externalIPs = try spec["externalIPs"]?.sequence().map { try $0.ip() } ?? []

        var etp = TrafficPolicy.cluster
        if let f = spec["externalTrafficPolicy"] {
            etp = try policy(f)
            if etp == .local && !externallyTyped && externalIPs.isEmpty {
                throw f.error("externalTrafficPolicy Local requires type NodePort or LoadBalancer, or externalIPs")
            }
        }
        let itp = try spec["internalTrafficPolicy"].map(policy) ?? .cluster

        var hcnp: UInt16?
        if let f = spec["healthCheckNodePort"] {
            guard type == .loadBalancer, etp == .local else {
                throw f.error("healthCheckNodePort is only valid for type LoadBalancer with externalTrafficPolicy Local")
            }
            hcnp = try f.port(nodePortRange)
        }

        var affinity: Int?
        if let f = spec["sessionAffinity"] {
            switch try f.string() {
            case "None": break
            case "ClientIP": affinity = 10800
            case let other: throw f.error("unknown sessionAffinity \"\(other)\" (expected None or ClientIP)")
            }
        }
        if let cf = spec["sessionAffinityConfig"] {
            let conf = try cf.mapping(known: ["clientIP"])
            if let ci = conf["clientIP"], let tf = try ci.mapping(known: ["timeoutSeconds"])["timeoutSeconds"] {
                let t = try tf.int()
                guard (1...86400).contains(t) else { throw tf.error("\(t) is out of range 1-86400") }
                if affinity == nil {
                    warn(tf, "sessionAffinity is not ClientIP; timeout ignored")
                } else {
                    affinity = t
                }
            }
        }

        var ranges: [IPPrefix] = []
        if let f = spec["loadBalancerSourceRanges"] {
            guard type == .loadBalancer else { throw f.error("loadBalancerSourceRanges requires type LoadBalancer") }
            for r in try f.sequence() {
                let s = try r.string().trimmingSpaces
                guard let prefix = IPPrefix(s), s.contains("/") else {
                    throw r.error("\"\(s)\" is not a CIDR such as 203.0.113.0/24 or fd00:203:0:113::/64")
                }
                ranges.append(prefix)
            }
        }
        let allocateLBNodePorts = try spec["allocateLoadBalancerNodePorts"]?.bool() ?? true

        var ingress: [IPAddress] = []
        if let sf = root["status"] {
            ingress = try loadBalancerIngress(sf, header: header)
            if !ingress.isEmpty && type != .loadBalancer {
                warn(sf, "status.loadBalancer is only used for type LoadBalancer; ignored")
                ingress = []
            }
        }

        var service = ManifestService(
            namespace: header.namespace, name: header.name, type: type, clusterIP: clusterIP, ports: ports,
            selector: selector, externalIPs: externalIPs, externalTrafficPolicy: etp, internalTrafficPolicy: itp,
            healthCheckNodePort: hcnp, sessionAffinityTimeout: affinity, loadBalancerSourceRanges: ranges,
            loadBalancerIngressIPs: ingress, allocateLoadBalancerNodePorts: allocateLBNodePorts)
        service.ipFamilies = families
        service.ipFamilyPolicy = familyPolicy
        service.secondaryClusterIP = secondaryClusterIP
        return service
    }

    static var nodePortRange: ClosedRange<Int> {
        Int(LabAddressing.nodePortRange.lowerBound)...Int(LabAddressing.nodePortRange.upperBound)
    }

    static func servicePort(_ item: ManifestField, allowNodePort: Bool, multiple: Bool) throws -> ManifestServicePort {
        let p = try item.mapping(known: ["name", "protocol", "port", "targetPort", "nodePort"], tolerated: ["appProtocol"])
        var name: String?
        if let nf = p["name"] {
            let n = try nf.string()
            if !n.isEmpty {
                try ManifestObjectHeader.checkDNSName(n, field: nf, label: true)
                name = n
            }
        }
        if multiple && name == nil { throw item.missing("name", "every port needs a name when a service has several") }
        let proto = try p["protocol"].map(ManifestWorkloadDecoder.protocolValue) ?? .tcp
        guard let pf = p["port"] else { throw item.missing("port") }
        let port = try pf.port()
        var target: ManifestTargetPort?
        if let tf = p["targetPort"] {
            if tf.isInteger {
                target = .number(try tf.port())
            } else {
                let s = try tf.string()
                if s.allSatisfy(\.isNumber) {
                    throw tf.error("\"\(s)\" is a quoted number; write targetPort as a plain integer or a port name")
                }
                try ManifestObjectHeader.checkPortName(s, field: tf)
                target = .name(s)
            }
        }
        var nodePort: UInt16?
        if let nf = p["nodePort"] {
            let v = try nf.int()
            if v != 0 {
                guard allowNodePort else { throw nf.error("nodePort requires type NodePort or LoadBalancer") }
                nodePort = try nf.port(nodePortRange)
            }
        }
        return ManifestServicePort(name: name, proto: proto, port: port, targetPort: target, nodePort: nodePort)
    }

    static func policy(_ f: ManifestField) throws -> TrafficPolicy {
        let s = try f.string()
        guard let p = TrafficPolicy(rawValue: s) else { throw f.error("unknown traffic policy \"\(s)\" (expected Cluster or Local)") }
        return p
    }

    /// VIP-mode ingress IPs from `status.loadBalancer.ingress`.
    static func loadBalancerIngress(_ status: ManifestField, header: ManifestObjectHeader) throws -> [IPAddress] {
        let s = try status.mapping(known: ["loadBalancer"], tolerated: ["conditions"])
        guard let lb = s["loadBalancer"], let ing = try lb.mapping(known: ["ingress"])["ingress"] else { return [] }
        var ips: [IPAddress] = []
        for entry in try ing.sequence() {
            let e = try entry.mapping(known: ["ip", "ipMode", "hostname"], tolerated: ["ports"])
            let mode = try e["ipMode"]?.string() ?? "VIP"
            guard mode == "VIP" || mode == "Proxy" else { throw e["ipMode"]!.error("unknown ipMode \"\(mode)\" (expected VIP or Proxy)") }
            guard let ipField = e["ip"] else {
                entry.sink.warn(object: header.label, field: entry.path, "hostname-only ingress is ignored by kube-proxy")
                continue
            }
            let ip = try ipField.ip()
            if mode == "Proxy" {
                entry.sink.warn(object: header.label, field: entry.childPath("ipMode"),
                                "ipMode Proxy: kube-proxy installs no rules for \(ip)")
                continue
            }
            ips.append(ip)
        }
        return ips
    }
}
