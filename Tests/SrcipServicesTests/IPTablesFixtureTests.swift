import Foundation
import SrcipCore
import Testing
@testable import SrcipServices

/// The upstream kube-proxy fixtures parsed into Services, in both the restore format and real iptables-save output.
@Suite(.kubeProxyFixtures) struct IPTablesFixtureTests {
    static let files = [Fixtures.iptablesRestore, Fixtures.iptablesSave]

    @Test("TestOverallIPTablesRules encodes exactly the six Services", arguments: files)
    func overall(_ file: String) throws {
        let d = try IPTablesRulesParser.parse(Fixtures.text(file), file: file)
        #expect(d.warnings == [])
        #expect(d.source == "iptables")
        #expect(d.clusterCIDRs == [IPPrefix("10.0.0.0/8")!])
        #expect(d.services.map(\.id) == OverallFixture.services.map(\.id))
        for (got, want) in zip(d.services, OverallFixture.services) {
            #expect(got == want, "\(want.id)")
        }
    }

    @Test("catalog from the fixture answers frontend and endpoint lookups", arguments: files)
    func catalogLookups(_ file: String) throws {
        let cat = try IPTablesRulesParser.parse(Fixtures.text(file), file: file).catalog()
        let node: Set<IPAddress> = [ip("192.168.0.2")]
        let m1 = try #require(cat.frontend(ip: ip("172.30.0.41"), port: 80, proto: .tcp))
        #expect(m1.service.id == "ns1/svc1" && m1.frontend == .clusterIP && m1.port.endpoints.first?.ip == ip("10.180.0.1"))
        #expect(cat.frontend(ip: ip("1.2.3.4"), port: 80, proto: .tcp)?.frontend == .loadBalancer)
        #expect(cat.frontend(ip: ip("192.168.99.22"), port: 80, proto: .tcp)?.frontend == .externalIP)
        #expect(cat.frontend(ip: ip("192.168.99.33"), port: 80, proto: .tcp)?.service.id == "ns4/svc4")
        #expect(cat.frontend(ip: ip("5.6.7.8"), port: 80, proto: .tcp)?.service.id == "ns5/svc5")
        #expect(cat.frontend(ip: ip("192.168.0.2"), port: 3001, proto: .tcp, localAddresses: node)?.service.id == "ns2/svc2")
        #expect(cat.frontend(ip: ip("192.168.0.2"), port: 3003, proto: .tcp, localAddresses: node)?.frontend == .nodePort)
        #expect(cat.frontend(ip: ip("192.168.0.2"), port: 3003, proto: .tcp) == nil)
        #expect(cat.frontend(ip: ip("172.30.0.46"), port: 80, proto: .tcp)?.port.endpoints == [])
        #expect(cat.frontend(ip: ip("172.30.0.41"), port: 80, proto: .udp) == nil)
        // 10.180.0.3:80 backs both svc3 and svc5.
        #expect(cat.endpoints(ip: ip("10.180.0.3"), port: 80, proto: .tcp).map(\.service.id) == ["ns3/svc3", "ns5/svc5"])
        #expect(cat.endpoint(ip: ip("10.180.0.5"), port: 80, proto: .tcp)?.service.id == "ns4/svc4")
        #expect(cat.isPodAddress(ip("10.180.0.9")) == true)
        #expect(cat.isPodAddress(ip("192.168.0.2")) == false)
        #expect(cat.collisions == [])
    }

    @Test("summary line and JSON round trip")
    func summaryAndCodable() throws {
        let d = try IPTablesRulesParser.parse(Fixtures.text(Fixtures.iptablesSave))
        #expect(d.summary == "6 Services (6 ports, 6 endpoints) from iptables; cluster CIDR 10.0.0.0/8; 0 warnings")
        let back = try JSONDecoder().decode(DiscoveredServices.self, from: JSONEncoder().encode(d))
        #expect(back == d)
    }

    @Test("restore format and iptables-save output give the same catalog")
    func formatsAgree() throws {
        let a = try IPTablesRulesParser.parse(Fixtures.text(Fixtures.iptablesRestore))
        let b = try IPTablesRulesParser.parse(Fixtures.text(Fixtures.iptablesSave))
        #expect(a == b)
    }

    @Test("TestSyncProxyRulesRepeated: two ClusterIP Services")
    func repeated() throws {
        let d = try IPTablesRulesParser.parse(Fixtures.text(Fixtures.iptablesRepeated))
        #expect(d.services == [
            Service(namespace: "ns1", name: "svc1", type: .clusterIP, clusterIP: ip("172.30.0.41"),
                    ports: [ServicePort(name: "p80", proto: .tcp, port: 80, endpoints: [ServiceEndpoint(ip: ip("10.0.1.1"), port: 80)])]),
            Service(namespace: "ns2", name: "svc2", type: .clusterIP, clusterIP: ip("172.30.0.42"),
                    ports: [ServicePort(name: "p8080", proto: .tcp, port: 8080, endpoints: [ServiceEndpoint(ip: ip("10.0.2.1"), port: 8080)])]),
        ])
        #expect(d.warnings == [])
    }

    @Test("TestTracePacket static rules (unquoted multi-word comments) parse")
    func tracePacket() throws {
        let d = try IPTablesRulesParser.parse(Fixtures.text(Fixtures.iptablesTrace))
        #expect(d.services.map(\.id) == ["ns1/svc1", "ns2/svc2", "ns3/svc3", "ns4/svc4", "ns5/svc5", "ns6/svc6"])
        #expect(d.services.named("ns4/svc4")?.ports.first?.endpoints.map(\.ip) == [ip("10.180.0.4"), ip("10.180.0.5")])
        #expect(d.services.named("ns5/svc5")?.loadBalancerSourceRanges == ["203.0.113.0/25"])
        #expect(d.services.named("ns5/svc5")?.sessionAffinityTimeout == nil)
        #expect(d.clusterCIDRs == [IPPrefix("10.0.0.0/8")!])
    }
}
