import Foundation
import SrcipCore
import Testing
@testable import SrcipServices

/// The upstream nft fixture loaded into a real kernel (throw-away netns), listed as JSON and parsed.
@Suite(.serialized, .privileged, .kubeProxyFixtures)
struct NFTablesFixtureTests {
    static func parsedFixture() throws -> DiscoveredServices {
        let json = try NetnsLab.nftJSON(loading: NetnsLab.loadableNFTFixture())
        return try NFTablesRulesParser.parse(json, file: "nft fixture")
    }

    @Test("TestOverallNFTablesRules encodes the six Services")
    func overall() throws {
        let d = try Self.parsedFixture()
        #expect(d.source == "nftables")
        #expect(d.clusterCIDRs == [IPPrefix("10.0.0.0/8")!])
        #expect(d.warnings.count == 1 && d.warnings[0].contains("do not tell externalIPs from LoadBalancer IPs"))
        #expect(d.services.map(\.id) == ["ns1/svc1", "ns2/svc2", "ns3/svc3", "ns4/svc4", "ns5/svc5", "ns6/svc6"])
        let svc1 = try #require(d.services.named("ns1/svc1"))
        #expect(svc1.clusterIP == ip("172.30.0.41") && svc1.type == .clusterIP)
        #expect(svc1.ports == [OverallFixture.port(nil, [("10.180.0.1", nil)])])
        // svc2: eTP=Local, its one endpoint is not on this node; 1.2.3.4 (LB) cannot be told from the externalIP.
        let svc2 = try #require(d.services.named("ns2/svc2"))
        #expect(svc2.externalTrafficPolicy == .local)
        #expect(Set(svc2.externalIPs) == [ip("192.168.99.22"), ip("1.2.3.4")] && svc2.loadBalancerIPs == [])
        #expect(svc2.ports == [OverallFixture.port(3001, [("10.180.0.2", false)])])
        #expect(svc2.healthCheckNodePort == nil)
        #expect(d.services.named("ns3/svc3")?.ports.first?.nodePort == 3003)
        #expect(d.services.named("ns4/svc4")?.ports.first?.endpoints.map(\.ip) == [ip("10.180.0.4"), ip("10.180.0.5")])
        let svc5 = try #require(d.services.named("ns5/svc5"))
        #expect(svc5.type == .loadBalancer && svc5.loadBalancerIPs == [ip("5.6.7.8")])
        #expect(svc5.loadBalancerSourceRanges == ["203.0.113.0/25"] && svc5.sessionAffinityTimeout == 10800)
        #expect(d.services.named("ns6/svc6")?.ports.first?.endpoints == [])
    }

    @Test("iptables and nftables rules of the same Services agree")
    func agreesWithIPTables() throws {
        let nft = try Self.parsedFixture().services.map(OverallFixture.Comparable.init)
        for file in [Fixtures.iptablesRestore, Fixtures.iptablesSave] {
            let ipt = try IPTablesRulesParser.parse(Fixtures.text(file)).services.map(OverallFixture.Comparable.init)
            #expect(nft == ipt, "\(file)")
        }
    }

    @Test("catalog from the nft rules resolves the same frontends")
    func catalog() throws {
        let cat = try Self.parsedFixture().catalog()
        #expect(cat.frontend(ip: ip("172.30.0.45"), port: 80, proto: .tcp)?.service.id == "ns5/svc5")
        #expect(cat.frontend(ip: ip("1.2.3.4"), port: 80, proto: .tcp)?.service.id == "ns2/svc2")
        #expect(cat.frontend(ip: ip("192.168.0.2"), port: 3002, proto: .tcp, localAddresses: [ip("192.168.0.2")])?.frontend == .nodePort)
        #expect(cat.endpoints(ip: ip("10.180.0.3"), port: 80, proto: .tcp).count == 2)
    }
}
