import Foundation
import SrcipCore
import Testing
@testable import SrcipServices

/// 5,000 Services in kube-proxy's nft layout, loaded into a throw-away netns, listed as JSON and parsed (times printed).
@Suite(.serialized, .privileged)
struct NFTablesScaleTests {
    /// An `nft -f` script: 3 endpoints per Service; every 4th also has an external IP and a NodePort.
    static func script(services n: Int) -> String {
        var chains: [String] = [], rules: [String] = [], elements: [String] = []
        for i in 0..<n {
            let sp = "ns\(i % 50)/svc\(i)/tcp/http", hash = String(format: "H%07d", i)
            let svc = "service-\(hash)-\(sp)", cip = "172.30.\(i / 250).\(i % 250 + 1)"
            chains.append("add chain ip kube-proxy \(svc)")
            var eps: [String] = []
            for j in 0..<3 {
                let ep = "10.\(100 + j).\(i / 250).\(i % 250 + 1)"
                let e = "endpoint-\(String(format: "E%07d", i * 3 + j))-\(sp)__\(ep)/8080"
                chains.append("add chain ip kube-proxy \(e)")
                rules.append("add rule ip kube-proxy \(e) ip saddr \(ep) jump mark-for-masquerade")
                rules.append("add rule ip kube-proxy \(e) meta l4proto tcp dnat to \(ep):8080")
                eps.append(e)
            }
            rules.append("add rule ip kube-proxy \(svc) ip daddr \(cip) ip saddr != 10.0.0.0/8 jump mark-for-masquerade")
            rules.append("add rule ip kube-proxy \(svc) numgen random mod 3 vmap { 0 : goto \(eps[0]) , 1 : goto \(eps[1]) , 2 : goto \(eps[2]) }")
            elements.append("add element ip kube-proxy service-ips { \(cip) . tcp . 80 : goto \(svc) }")
            if i % 4 == 0 {
                let ext = "external-\(hash)-\(sp)"
                chains.append("add chain ip kube-proxy \(ext)")
                rules.append("add rule ip kube-proxy \(ext) jump mark-for-masquerade")
                rules.append("add rule ip kube-proxy \(ext) goto \(svc)")
                elements.append("add element ip kube-proxy service-ips { 198.18.\(i / 250).\(i % 250 + 1) . tcp . 80 : goto \(ext) }")
                elements.append("add element ip kube-proxy service-nodeports { tcp . \(30000 + i / 4) : goto \(ext) }")
            }
        }
        let head = [
            "add table ip kube-proxy { comment \"rules for kube-proxy\" ; }",
            "add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }",
            "add map ip kube-proxy service-nodeports { type inet_proto . inet_service : verdict ; }",
            "add chain ip kube-proxy mark-for-masquerade",
        ]
        return (head + chains + rules + elements).joined(separator: "\n") + "\n"
    }

    @Test("5,000 Services via nft -j list ruleset")
    func fiveThousand() throws {
        let json = try NetnsLab.nftJSON(loading: Self.script(services: 5000))
        let (d, t) = try ParsePerformanceTests.time { try NFTablesRulesParser.parse(json, file: "synthetic nft") }
        #expect(d.services.count == 5000)
        #expect(d.services.allSatisfy { $0.ports.count == 1 && $0.ports[0].endpoints.count == 3 })
        #expect(d.services.filter { $0.ports[0].nodePort != nil }.count == 1250)
        #expect(d.clusterCIDRs == [IPPrefix("10.0.0.0/8")!])
        print("PERF synthetic nft -j list ruleset: 5000 Services, \(json.count / 1024) KiB JSON: parse \(t)")
    }
}
