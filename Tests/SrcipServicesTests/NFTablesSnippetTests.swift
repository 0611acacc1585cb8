import Foundation
import SrcipCore
import Testing
@testable import SrcipServices

/// A hand-written `nft -j list ruleset` for an ip6 kube-proxy table: local endpoints, iTP=Local, source ranges as a set,
/// affinity, an LB IP told apart by `firewall-ips`, and a dangling endpoint chain.
@Suite struct NFTablesSnippetTests {
    static let snippet = #"""
    {"nftables":[
     {"metainfo":{"version":"1.0.6","release_name":"Lester Gooch #5","json_schema_version":1}},
     {"table":{"family":"ip","name":"filter","handle":1}},
     {"chain":{"family":"ip","table":"filter","name":"INPUT","handle":1,"type":"filter","hook":"input","prio":0,"policy":"accept"}},
     {"table":{"family":"ip6","name":"kube-proxy","handle":2,"comment":"rules for kube-proxy"}},
     {"set":{"family":"ip6","name":"cluster-ips","table":"kube-proxy","type":"ipv6_addr","handle":3,"elem":["fd00:30::7","fd00:30::8"]}},
     {"map":{"family":"ip6","name":"service-ips","table":"kube-proxy","type":["ipv6_addr","inet_proto","inet_service"],"handle":4,"map":"verdict","elem":[
       [{"concat":["fd00:30::7","tcp",80]},{"goto":{"target":"service-AAAAAAAA-ns7/svc7/tcp/web"}}],
       [{"concat":["2001:db8::7","tcp",80]},{"goto":{"target":"external-AAAAAAAA-ns7/svc7/tcp/web"}}],
       [{"concat":["fd00:30::8","udp",53]},{"goto":{"target":"local-BBBBBBBB-ns8/svc8/udp/"}}]]}},
     {"map":{"family":"ip6","name":"service-nodeports","table":"kube-proxy","type":["inet_proto","inet_service"],"handle":5,"map":"verdict","elem":[
       [{"concat":["tcp",30070]},{"goto":{"target":"external-AAAAAAAA-ns7/svc7/tcp/web"}}]]}},
     {"map":{"family":"ip6","name":"firewall-ips","table":"kube-proxy","type":["ipv6_addr","inet_proto","inet_service"],"handle":6,"map":"verdict","elem":[
       [{"concat":["2001:db8::7","tcp",80]},{"goto":{"target":"firewall-AAAAAAAA-ns7/svc7/tcp/web"}}]]}},
     {"set":{"family":"ip6","name":"affinity-CCCCCCCC-ns7/svc7/tcp/web__fd00.180..7/8080","table":"kube-proxy","type":"ipv6_addr","handle":7,"flags":["timeout"],"timeout":600}},
     {"chain":{"family":"ip6","table":"kube-proxy","name":"service-AAAAAAAA-ns7/svc7/tcp/web","handle":10}},
     {"chain":{"family":"ip6","table":"kube-proxy","name":"local-AAAAAAAA-ns7/svc7/tcp/web","handle":11}},
     {"chain":{"family":"ip6","table":"kube-proxy","name":"external-AAAAAAAA-ns7/svc7/tcp/web","handle":12}},
     {"chain":{"family":"ip6","table":"kube-proxy","name":"firewall-AAAAAAAA-ns7/svc7/tcp/web","handle":13}},
     {"chain":{"family":"ip6","table":"kube-proxy","name":"endpoint-CCCCCCCC-ns7/svc7/tcp/web__fd00.180..7/8080","handle":14}},
     {"chain":{"family":"ip6","table":"kube-proxy","name":"endpoint-DDDDDDDD-ns7/svc7/tcp/web__fd00.180..1.7/8080","handle":15}},
     {"chain":{"family":"ip6","table":"kube-proxy","name":"local-BBBBBBBB-ns8/svc8/udp/","handle":16}},
     {"chain":{"family":"ip6","table":"kube-proxy","name":"endpoint-EEEEEEEE-ns8/svc8/udp/__fd00.180..8/5353","handle":17}},
     {"rule":{"family":"ip6","table":"kube-proxy","chain":"service-AAAAAAAA-ns7/svc7/tcp/web","handle":20,"expr":[
       {"match":{"op":"==","left":{"payload":{"protocol":"ip6","field":"daddr"}},"right":"fd00:30::7"}},
       {"match":{"op":"!=","left":{"payload":{"protocol":"ip6","field":"saddr"}},"right":{"prefix":{"addr":"fd00:10::","len":64}}}},
       {"jump":{"target":"mark-for-masquerade"}}]}},
     {"rule":{"family":"ip6","table":"kube-proxy","chain":"service-AAAAAAAA-ns7/svc7/tcp/web","handle":21,"expr":[
       {"match":{"op":"==","left":{"payload":{"protocol":"ip6","field":"saddr"}},"right":"@affinity-CCCCCCCC-ns7/svc7/tcp/web__fd00.180..7/8080"}},
       {"goto":{"target":"endpoint-CCCCCCCC-ns7/svc7/tcp/web__fd00.180..7/8080"}}]}},
     {"rule":{"family":"ip6","table":"kube-proxy","chain":"service-AAAAAAAA-ns7/svc7/tcp/web","handle":22,"expr":[
       {"vmap":{"key":{"numgen":{"mode":"random","mod":2,"offset":0}},"data":{"set":[
         [0,{"goto":{"target":"endpoint-CCCCCCCC-ns7/svc7/tcp/web__fd00.180..7/8080"}}],
         [1,{"goto":{"target":"endpoint-DDDDDDDD-ns7/svc7/tcp/web__fd00.180..1.7/8080"}}]]}}}]}},
     {"rule":{"family":"ip6","table":"kube-proxy","chain":"local-AAAAAAAA-ns7/svc7/tcp/web","handle":23,"expr":[
       {"vmap":{"key":{"numgen":{"mode":"random","mod":1,"offset":0}},"data":{"set":[
         [0,{"goto":{"target":"endpoint-CCCCCCCC-ns7/svc7/tcp/web__fd00.180..7/8080"}}]]}}}]}},
     {"rule":{"family":"ip6","table":"kube-proxy","chain":"external-AAAAAAAA-ns7/svc7/tcp/web","handle":24,"comment":"short-circuit pod traffic","expr":[
       {"match":{"op":"==","left":{"payload":{"protocol":"ip6","field":"saddr"}},"right":{"prefix":{"addr":"fd00:10::","len":64}}}},
       {"goto":{"target":"service-AAAAAAAA-ns7/svc7/tcp/web"}}]}},
     {"rule":{"family":"ip6","table":"kube-proxy","chain":"external-AAAAAAAA-ns7/svc7/tcp/web","handle":25,"expr":[
       {"goto":{"target":"local-AAAAAAAA-ns7/svc7/tcp/web"}}]}},
     {"rule":{"family":"ip6","table":"kube-proxy","chain":"firewall-AAAAAAAA-ns7/svc7/tcp/web","handle":26,"expr":[
       {"match":{"op":"!=","left":{"payload":{"protocol":"ip6","field":"saddr"}},"right":{"set":[
         {"prefix":{"addr":"2001:db8:1::","len":48}},{"prefix":{"addr":"2001:db8:2::","len":48}},"2001:db8::7"]}}},
       {"drop":null}]}},
     {"rule":{"family":"ip6","table":"kube-proxy","chain":"endpoint-CCCCCCCC-ns7/svc7/tcp/web__fd00.180..7/8080","handle":27,"expr":[
       {"match":{"op":"==","left":{"meta":{"key":"l4proto"}},"right":"tcp"}},{"dnat":{"family":"ip6","addr":"fd00:180::7","port":8080}}]}},
     {"rule":{"family":"ip6","table":"kube-proxy","chain":"endpoint-DDDDDDDD-ns7/svc7/tcp/web__fd00.180..1.7/8080","handle":28,"expr":[
       {"match":{"op":"==","left":{"meta":{"key":"l4proto"}},"right":"tcp"}},{"dnat":{"family":"ip6","addr":"fd00:180::1:7","port":8080}}]}},
     {"rule":{"family":"ip6","table":"kube-proxy","chain":"local-BBBBBBBB-ns8/svc8/udp/","handle":29,"expr":[
       {"vmap":{"key":{"numgen":{"mode":"random","mod":2,"offset":0}},"data":{"set":[
         [0,{"goto":{"target":"endpoint-EEEEEEEE-ns8/svc8/udp/__fd00.180..8/5353"}}],
         [1,{"goto":{"target":"endpoint-FFFFFFFF-ns8/svc8/udp/__fd00.180..9/5353"}}]]}}}]}},
     {"rule":{"family":"ip6","table":"kube-proxy","chain":"endpoint-EEEEEEEE-ns8/svc8/udp/__fd00.180..8/5353","handle":30,"expr":[
       {"match":{"op":"==","left":{"meta":{"key":"l4proto"}},"right":"udp"}},{"dnat":{"family":"ip6","addr":"fd00:180::8","port":5353}}]}},
     {"counter":{"family":"ip6","table":"kube-proxy","name":"future-object","handle":40,"packets":0,"bytes":0}}
    ]}
    """#

    @Test("ip6 kube-proxy table: every attribute the rules encode")
    func snippet() throws {
        let d = try NFTablesRulesParser.parse(Self.snippet, file: "snippet.json")
        #expect(d.clusterCIDRs == [IPPrefix("fd00:10::/64")!])
        #expect(d.warnings.count == 1)
        #expect(d.warnings.first?.contains("endpoint-FFFFFFFF-ns8/svc8/udp/__fd00.180..9/5353 is referenced by local-BBBBBBBB-ns8/svc8/udp/ but not defined") == true)
        #expect(d.services == [
            Service(namespace: "ns7", name: "svc7", type: .loadBalancer, clusterIP: ip("fd00:30::7"),
                    loadBalancerIPs: [ip("2001:db8::7")], loadBalancerSourceRanges: ["2001:db8:1::/48", "2001:db8:2::/48"],
                    ports: [ServicePort(name: "web", proto: .tcp, port: 80, nodePort: 30070, endpoints: [
                        ServiceEndpoint(ip: ip("fd00:180::7"), port: 8080, isLocal: true),
                        ServiceEndpoint(ip: ip("fd00:180::1:7"), port: 8080, isLocal: false)])],
                    externalTrafficPolicy: .local, sessionAffinityTimeout: 600),
            Service(namespace: "ns8", name: "svc8", type: .clusterIP, clusterIP: ip("fd00:30::8"),
                    ports: [ServicePort(name: nil, proto: .udp, port: 53, endpoints: [
                        ServiceEndpoint(ip: ip("fd00:180::8"), port: 5353, isLocal: true)])],
                    internalTrafficPolicy: .local),
        ])
        let cat = d.catalog()
        #expect(cat.frontend(ip: ip("2001:db8::7"), port: 80, proto: .tcp)?.frontend == .loadBalancer)
        #expect(cat.frontend(ip: ip("fd00:30::8"), port: 53, proto: .udp)?.service.id == "ns8/svc8")
    }

    @Test("shape errors name the JSON path")
    func shapeErrors() throws {
        #expect(throws: ServiceSourceError.malformedJSON(file: "a.json", path: "", problem: "missing `nftables` array")) {
            try NFTablesRulesParser.parse(#"{"tables":[]}"#, file: "a.json")
        }
        #expect(throws: ServiceSourceError.malformedJSON(file: "b.json", path: "nftables[0].rule.chain", problem: "expected a string")) {
            try NFTablesRulesParser.parse(#"{"nftables":[{"rule":{"family":"ip","table":"kube-proxy","chain":5}}]}"#, file: "b.json")
        }
        let badPort = #"{"nftables":[{"map":{"family":"ip","table":"kube-proxy","name":"service-ips","map":"verdict","elem":[[{"concat":["10.0.0.1","tcp","http"]},{"goto":{"target":"service-AAAAAAAA-a/b/tcp/http"}}]]}}]}"#
        #expect(throws: ServiceSourceError.malformedJSON(file: "c.json", path: "nftables[0].map.elem[0][0].concat[2]", problem: "expected an integer")) {
            try NFTablesRulesParser.parse(badPort, file: "c.json")
        }
        #expect(throws: ServiceSourceError.self) { try NFTablesRulesParser.parse("{\"nftables\": [", file: "d.json") }
    }

    @Test("a ruleset without kube-proxy's table is empty with a warning")
    func noKubeProxy() throws {
        let d = try NFTablesRulesParser.parse(#"{"nftables":[{"metainfo":{"version":"1.0.6"}},{"table":{"family":"inet","name":"filter","handle":1}}]}"#)
        #expect(d.services == [] && d.warnings.count == 1 && d.warnings[0].contains("no `table ip kube-proxy`"))
    }
}
