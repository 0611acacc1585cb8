import Foundation
import SrcipCore
import Testing
@testable import SrcipServices

/// `kubectl get svc,endpointslices -A -o json` dumps joined into Services.
@Suite struct KubernetesDumpParserTests {
    /// svc2 of the upstream fixture as the API would show it, plus the cases kube-proxy skips or treats specially.
    static let dump = #"""
    {"apiVersion":"v1","kind":"List","items":[
     {"apiVersion":"v1","kind":"Service","metadata":{"namespace":"ns2","name":"svc2","labels":{},"managedFields":[{"x":1}]},
      "spec":{"type":"LoadBalancer","clusterIP":"172.30.0.42","clusterIPs":["172.30.0.42"],"ipFamilies":["IPv4"],
        "ports":[{"name":"p80","protocol":"TCP","port":80,"targetPort":"http","nodePort":3001},
                 {"name":"dns","protocol":"UDP","port":53,"targetPort":5353,"nodePort":3053}],
        "externalIPs":["192.168.99.22"],"externalTrafficPolicy":"Local","healthCheckNodePort":30000,
        "internalTrafficPolicy":"Cluster","sessionAffinity":"ClientIP","sessionAffinityConfig":{"clientIP":{"timeoutSeconds":600}},
        "loadBalancerSourceRanges":["203.0.113.0/25"],"someFutureField":{"a":[1,2]}},
      "status":{"loadBalancer":{"ingress":[{"ip":"1.2.3.4","ipMode":"VIP"},{"ip":"9.9.9.9","ipMode":"Proxy"},{"hostname":"lb.example"}]}}},
     {"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice",
      "metadata":{"namespace":"ns2","name":"svc2-abcde","labels":{"kubernetes.io/service-name":"svc2"}},
      "addressType":"IPv4",
      "endpoints":[{"addresses":["10.180.0.2"],"conditions":{"ready":true,"serving":true,"terminating":false},"nodeName":"node-a"},
                   {"addresses":["10.180.1.7"],"conditions":{"ready":false,"serving":true,"terminating":true},"nodeName":"node-b"},
                   {"addresses":["10.180.2.9"],"nodeName":"node-b"}],
      "ports":[{"name":"p80","protocol":"TCP","port":8080},{"name":"dns","protocol":"UDP","port":5353}]},
     {"kind":"Service","metadata":{"namespace":"ns7","name":"drain"},
      "spec":{"type":"ClusterIP","clusterIP":"172.30.0.47","ports":[{"protocol":"TCP","port":443,"targetPort":8443}]}},
     {"kind":"EndpointSlice","metadata":{"namespace":"ns7","name":"drain-1","labels":{"kubernetes.io/service-name":"drain"}},
      "addressType":"IPv4","ports":[{"protocol":"TCP","port":8443}],
      "endpoints":[{"addresses":["10.180.3.1"],"conditions":{"ready":false,"serving":true,"terminating":true},"nodeName":"node-a"},
                   {"addresses":["10.180.3.2"],"conditions":{"ready":false,"serving":false,"terminating":true}}]},
     {"kind":"EndpointSlice","metadata":{"namespace":"other","name":"drain-x","labels":{"kubernetes.io/service-name":"drain"}},
      "addressType":"IPv4","ports":[{"protocol":"TCP","port":8443}],"endpoints":[{"addresses":["10.99.0.1"]}]},
     {"kind":"Service","metadata":{"namespace":"ns8","name":"headless"},"spec":{"clusterIP":"None","ports":[{"port":80}]}},
     {"kind":"Service","metadata":{"namespace":"ns8","name":"ext"},"spec":{"type":"ExternalName","externalName":"example.com"}},
     {"kind":"Service","metadata":{"namespace":"ns9","name":"dual"},
      "spec":{"type":"NodePort","clusterIP":"172.30.0.49","clusterIPs":["172.30.0.49","fd00:30::49"],
        "ports":[{"name":"web","protocol":"TCP","port":80,"nodePort":30080}]}},
     {"kind":"EndpointSlice","metadata":{"namespace":"ns9","name":"dual-v4","labels":{"kubernetes.io/service-name":"dual"}},
      "addressType":"IPv4","ports":[{"name":"web","protocol":"TCP","port":8080}],"endpoints":[{"addresses":["10.180.9.1"],"nodeName":"node-a"}]},
     {"kind":"EndpointSlice","metadata":{"namespace":"ns9","name":"dual-v6","labels":{"kubernetes.io/service-name":"dual"}},
      "addressType":"IPv6","ports":[{"name":"web","protocol":"TCP","port":8080}],"endpoints":[{"addresses":["fd00:180::9:1"],"nodeName":"node-b"}]},
     {"kind":"Pod","metadata":{"namespace":"ns9","name":"p"}},
     {"kind":"Service","metadata":{"namespace":"ns9","name":"pending"},"spec":{"type":"ClusterIP","clusterIP":"","ports":[{"port":80}]}}
    ]}
    """#

    @Test("Service + EndpointSlice join, policies, LB ingress and skipped kinds")
    func join() throws {
        let d = try KubernetesDumpParser.parse(Data(Self.dump.utf8), file: "dump.json", localNodeName: "node-a")
        #expect(d.source == "kubectl")
        #expect(d.services.map(\.id) == ["ns2/svc2", "ns7/drain", "ns9/dual"])
        let svc2 = try #require(d.services.named("ns2/svc2"))
        #expect(svc2.type == .loadBalancer && svc2.clusterIP == ip("172.30.0.42"))
        #expect(svc2.externalIPs == [ip("192.168.99.22")] && svc2.loadBalancerIPs == [ip("1.2.3.4")])
        #expect(svc2.externalTrafficPolicy == .local && svc2.internalTrafficPolicy == .cluster)
        #expect(svc2.healthCheckNodePort == 30000 && svc2.sessionAffinityTimeout == 600)
        #expect(svc2.loadBalancerSourceRanges == ["203.0.113.0/25"])
        // Ports matched by name: the DNAT port is the slice port (resolved targetPort); only ready endpoints (+ nil ready).
        #expect(svc2.ports == [
            ServicePort(name: "p80", proto: .tcp, port: 80, nodePort: 3001, endpoints: [
                ServiceEndpoint(ip: ip("10.180.0.2"), port: 8080, nodeName: "node-a", ready: true, isLocal: true),
                ServiceEndpoint(ip: ip("10.180.2.9"), port: 8080, nodeName: "node-b", ready: true, isLocal: false)]),
            ServicePort(name: "dns", proto: .udp, port: 53, nodePort: 3053, endpoints: [
                ServiceEndpoint(ip: ip("10.180.0.2"), port: 5353, nodeName: "node-a", ready: true, isLocal: true),
                ServiceEndpoint(ip: ip("10.180.2.9"), port: 5353, nodeName: "node-b", ready: true, isLocal: false)]),
        ])
        // No ready endpoint: serving+terminating ones are the fallback; not-serving ones never; other namespaces never.
        let drain = try #require(d.services.named("ns7/drain"))
        #expect(drain.ports.first?.endpoints == [ServiceEndpoint(ip: ip("10.180.3.1"), port: 8443, nodeName: "node-a", ready: false, isLocal: true)])
        #expect(drain.ports.first?.name == nil)
        // Dual-stack: one Service with both ClusterIPs (in `clusterIPs` order) and both families' endpoints.
        let dual = try #require(d.services.named("ns9/dual"))
        #expect(dual.clusterIPs == [ip("172.30.0.49"), ip("fd00:30::49")])
        #expect(dual.ports.count == 1 && dual.ports.first?.endpoints.map(\.ip) == [ip("10.180.9.1"), ip("fd00:180::9:1")])
        #expect(dual.type == .nodePort && dual.ports.first?.nodePort == 30080)
        let cat = d.catalog()
        for (address, node) in [("172.30.0.49", "192.168.0.1"), ("fd00:30::49", "fd00:192::1")] {
            #expect(cat.frontend(ip: ip(address), port: 80, proto: .tcp)?.service.id == "ns9/dual")
            #expect(cat.frontend(ip: ip(node), port: 30080, proto: .tcp, localAddresses: [ip(node)])?.service.id == "ns9/dual")
        }
        #expect(cat.endpoint(ip: ip("fd00:180::9:1"), port: 8080, proto: .tcp)?.service.clusterIPs.count == 2)
        // Warnings name what was skipped.
        #expect(d.warnings.contains { $0.contains("9.9.9.9") && $0.contains("Proxy") })
        #expect(d.warnings.contains { $0.contains("ns8/headless") && $0.contains("headless") })
        #expect(d.warnings.contains { $0.contains("ns8/ext") && $0.contains("ExternalName") })
        #expect(d.warnings.contains { $0.contains("items[10]") && $0.contains("Pod") })
        #expect(d.warnings.contains { $0.contains("ns9/pending") && $0.contains("no cluster IP") })
        #expect(d.warnings.count == 5)
    }

    @Test("separate files for Services and EndpointSlices; no node name leaves isLocal unknown")
    func separateFiles() throws {
        let svc = #"{"kind":"List","items":[{"kind":"Service","metadata":{"namespace":"a","name":"b"},"spec":{"clusterIP":"10.96.0.10","ports":[{"name":"dns","protocol":"UDP","port":53}]}}]}"#
        let eps = #"{"kind":"EndpointSlice","metadata":{"namespace":"a","name":"b-1","labels":{"kubernetes.io/service-name":"b"}},"addressType":"IPv4","ports":[{"name":"dns","protocol":"UDP","port":53}],"endpoints":[{"addresses":["10.244.1.5"]}]}"#
        let d = try KubernetesDumpParser.parse([("svc.json", Data(svc.utf8)), ("eps.json", Data(eps.utf8))])
        #expect(d.services == [Service(namespace: "a", name: "b", type: .clusterIP, clusterIP: ip("10.96.0.10"),
                                       ports: [ServicePort(name: "dns", proto: .udp, port: 53,
                                                           endpoints: [ServiceEndpoint(ip: ip("10.244.1.5"), port: 53)])])])
        let cat = d.catalog()
        #expect(cat.frontend(ip: ip("10.96.0.10"), port: 53, proto: .udp)?.service.id == "a/b")
        #expect(cat.endpoint(ip: ip("10.244.1.5"), port: 53, proto: .udp)?.resolvedFrom == .endpoint)
    }

    @Test("wrong types are errors naming the JSON path")
    func typedErrors() throws {
        let bad = #"{"kind":"List","items":[{"kind":"Service","metadata":{"namespace":"a","name":"b"},"spec":{"clusterIP":"10.96.0.1","ports":[{"port":"eighty"}]}}]}"#
        #expect(throws: ServiceSourceError.malformedJSON(file: "x.json", path: "items[0].spec.ports[0].port", problem: "expected an integer")) {
            try KubernetesDumpParser.parse(Data(bad.utf8), file: "x.json")
        }
        let noName = #"{"kind":"Service","metadata":{"namespace":"a"},"spec":{}}"#
        #expect(throws: ServiceSourceError.malformedJSON(file: "y.json", path: "metadata", problem: "missing field `name`")) {
            try KubernetesDumpParser.parse(Data(noName.utf8), file: "y.json")
        }
        let badIP = #"{"items":[{"kind":"EndpointSlice","metadata":{"namespace":"a","labels":{"kubernetes.io/service-name":"b"}},"addressType":"IPv4","endpoints":[{"addresses":["10.1"]}]}]}"#
        #expect(throws: ServiceSourceError.malformedJSON(file: "z.json", path: "items[0].endpoints[0].addresses[0]", problem: "not an IP address")) {
            try KubernetesDumpParser.parse(Data(badIP.utf8), file: "z.json")
        }
        #expect(throws: ServiceSourceError.self) { try KubernetesDumpParser.parse(Data("[1,2]".utf8)) }
    }
}

/// The six Services of upstream TestOverallIPTablesRules written as API objects give the catalog the rules give.
@Suite struct KubernetesMatchesRulesTests {
    static func svc(_ n: Int, type: String, extra: String = "", status: String = "") -> String {
        let np = type == "ClusterIP" ? "" : ",\"nodePort\":\([0, 3001, 3003, 0, 3002, 0][n - 1])"
        return #"{"kind":"Service","metadata":{"namespace":"ns\#(n)","name":"svc\#(n)"},"spec":{"type":"\#(type)","clusterIP":"172.30.0.4\#(n)","ports":[{"name":"p80","protocol":"TCP","port":80,"targetPort":80\#(np)}]\#(extra)}\#(status)}"#
    }

    static func slice(_ n: Int, _ ips: [String]) -> String {
        let eps = ips.map { #"{"addresses":["\#($0)"],"conditions":{"ready":true}}"# }.joined(separator: ",")
        return #"{"kind":"EndpointSlice","metadata":{"namespace":"ns\#(n)","name":"svc\#(n)-x","labels":{"kubernetes.io/service-name":"svc\#(n)"}},"addressType":"IPv4","ports":[{"name":"p80","protocol":"TCP","port":80}],"endpoints":[\#(eps)]}"#
    }

    static let dump = "{\"kind\":\"List\",\"items\":[" + [
        svc(1, type: "ClusterIP"), slice(1, ["10.180.0.1"]),
        svc(2, type: "LoadBalancer", extra: #","externalIPs":["192.168.99.22"],"externalTrafficPolicy":"Local","healthCheckNodePort":30000"#,
            status: #","status":{"loadBalancer":{"ingress":[{"ip":"1.2.3.4"}]}}"#), slice(2, ["10.180.0.2"]),
        svc(3, type: "NodePort"), slice(3, ["10.180.0.3"]),
        svc(4, type: "ClusterIP", extra: #","externalIPs":["192.168.99.33"]"#), slice(4, ["10.180.0.4", "10.180.0.5"]),
        svc(5, type: "LoadBalancer", extra: #","loadBalancerSourceRanges":["203.0.113.0/25"],"sessionAffinity":"ClientIP","sessionAffinityConfig":{"clientIP":{"timeoutSeconds":10800}}"#,
            status: #","status":{"loadBalancer":{"ingress":[{"ip":"5.6.7.8","ipMode":"VIP"}]}}"#), slice(5, ["10.180.0.3"]),
        svc(6, type: "ClusterIP"),
    ].joined(separator: ",") + "]}"

    @Test("kubectl dump of the fixture's Services == the iptables parse (locality aside)")
    func sameAsRules() throws {
        func strip(_ s: [Service]) -> [Service] {
            s.map { svc in
                var v = svc
                v.ports = v.ports.map { p in var q = p; q.endpoints = q.endpoints.map { e in var f = e; f.isLocal = nil; return f }; return q }
                return v
            }
        }
        let kube = try KubernetesDumpParser.parse(Data(Self.dump.utf8), file: "overall.json")
        #expect(kube.warnings == [])
        #expect(strip(kube.services) == strip(OverallFixture.services))
    }
}
