import SrcipCore
import Testing

/// The Service lookup index: every frontend kind, endpoints, IPv6, protocol/port separation and collisions.
@Suite struct ServiceCatalogTests {
    static func a(_ s: String) -> IPAddress { IPAddress(s)! }

    static let web = Service(
        namespace: "shop", name: "web", type: .loadBalancer, clusterIP: a("10.96.0.10"),
        externalIPs: [a("192.0.2.10")], loadBalancerIPs: [a("203.0.113.10")],
        ports: [
            ServicePort(name: "http", proto: .tcp, port: 80, nodePort: 30080, endpoints: [
                ServiceEndpoint(ip: a("10.244.1.5"), port: 8080, nodeName: "n1"),
                ServiceEndpoint(ip: a("10.244.2.6"), port: 8080, nodeName: "n2")]),
            ServicePort(name: "dns", proto: .udp, port: 80, nodePort: 30080, endpoints: [
                ServiceEndpoint(ip: a("10.244.1.5"), port: 5353)]),
        ])
    static let v6 = Service(
        namespace: "shop", name: "web", type: .nodePort, clusterIP: a("fd00:96::10"),
        ports: [ServicePort(name: "http", proto: .tcp, port: 80, nodePort: 30080, endpoints: [
            ServiceEndpoint(ip: a("fd00:244:1::5"), port: 8080)])])
    static let api = Service(
        namespace: "shop", name: "api", type: .clusterIP, clusterIP: a("10.96.0.11"),
        ports: [ServicePort(name: nil, proto: .tcp, port: 443, endpoints: [ServiceEndpoint(ip: a("10.244.1.5"), port: 8080)])])

    let catalog = ServiceCatalog(services: [web, v6, api], source: "test", clusterCIDRs: [IPPrefix("10.244.0.0/16")!])
    let node: Set<IPAddress> = [a("192.168.10.11"), a("fd00:10::11")]

    @Test func clusterIP() throws {
        let m = try #require(catalog.frontend(ip: Self.a("10.96.0.10"), port: 80, proto: .tcp))
        #expect(m.service.id == "shop/web" && m.port.name == "http" && m.frontend == .clusterIP && m.resolvedFrom == .vip)
        #expect(catalog.frontend(ip: Self.a("10.96.0.10"), port: 80, proto: .udp)?.port.name == "dns")
        #expect(catalog.frontend(ip: Self.a("10.96.0.10"), port: 81, proto: .tcp) == nil)
        #expect(catalog.frontend(ip: Self.a("10.96.0.12"), port: 80, proto: .tcp) == nil)
        #expect(catalog.frontend(ip: Self.a("10.96.0.11"), port: 443, proto: .tcp)?.service.servicePortName(Self.api.ports[0]) == "shop/api")
    }

    @Test func externalAndLoadBalancerIPs() {
        #expect(catalog.frontend(ip: Self.a("192.0.2.10"), port: 80, proto: .tcp)?.frontend == .externalIP)
        #expect(catalog.frontend(ip: Self.a("203.0.113.10"), port: 80, proto: .tcp)?.frontend == .loadBalancer)
        #expect(catalog.frontend(ip: Self.a("203.0.113.10"), port: 80, proto: .udp)?.port.name == "dns")
        #expect(catalog.frontend(ip: Self.a("203.0.113.10"), port: 443, proto: .tcp) == nil)
    }

    @Test func nodePortOnlyOnLocalAddresses() {
        #expect(catalog.frontend(ip: Self.a("192.168.10.11"), port: 30080, proto: .tcp, localAddresses: node)?.frontend == .nodePort)
        #expect(catalog.frontend(ip: Self.a("192.168.10.11"), port: 30080, proto: .udp, localAddresses: node)?.port.name == "dns")
        #expect(catalog.frontend(ip: Self.a("192.168.10.12"), port: 30080, proto: .tcp, localAddresses: node) == nil)
        #expect(catalog.frontend(ip: Self.a("192.168.10.11"), port: 30080, proto: .tcp) == nil)
        #expect(catalog.frontend(ip: Self.a("192.168.10.11"), port: 30081, proto: .tcp, localAddresses: node) == nil)
        // 127.0.0.1:NodePort is this host's NodePort (kube-proxy iptables mode, route_localnet); ::1 is not served.
        #expect(catalog.frontend(ip: Self.a("127.0.0.1"), port: 30080, proto: .tcp, localAddresses: node)?.frontend == .nodePort)
        #expect(catalog.frontend(ip: Self.a("::1"), port: 30080, proto: .tcp, localAddresses: node) == nil)
        #expect(NodeContext(node: "n", localAddresses: node).classify(Self.a("127.0.0.1")) == .node)
        #expect(NodeContext(node: "n", localAddresses: node).classify(Self.a("127.0.0.2")) == .node)
        #expect(NodeContext(node: "n", localAddresses: node).classify(Self.a("198.51.100.7")) == .external)
        // A Service address wins over a NodePort even when it is local too.
        #expect(catalog.frontend(ip: Self.a("10.96.0.10"), port: 80, proto: .tcp, localAddresses: [Self.a("10.96.0.10")])?.frontend == .clusterIP)
    }

    @Test func ipv6() {
        #expect(catalog.frontend(ip: Self.a("fd00:96::10"), port: 80, proto: .tcp)?.service.clusterIP == Self.a("fd00:96::10"))
        #expect(catalog.frontend(ip: Self.a("fd00:10::11"), port: 30080, proto: .tcp, localAddresses: node)?.service.clusterIP == Self.a("fd00:96::10"))
        #expect(catalog.frontend(ip: Self.a("192.168.10.11"), port: 30080, proto: .tcp, localAddresses: node)?.service.clusterIP == Self.a("10.96.0.10"))
        #expect(catalog.endpoint(ip: Self.a("fd00:244:1::5"), port: 8080, proto: .tcp)?.service.clusterIP == Self.a("fd00:96::10"))
        #expect(catalog.frontend(ip: Self.a("::ffff:10.96.0.10"), port: 80, proto: .tcp) == nil)
    }

    @Test("a dual-stack Service: both ClusterIPs, the NodePort on both families, endpoints of both, no collision")
    func dualStack() {
        let dual = Service(namespace: "shop", name: "dual", type: .nodePort, clusterIP: Self.a("10.96.0.30"),
                           ports: [ServicePort(name: nil, proto: .tcp, port: 80, nodePort: 30090, endpoints: [
                               ServiceEndpoint(ip: Self.a("10.244.1.9"), port: 8080), ServiceEndpoint(ip: Self.a("fd00:244:1::9"), port: 8080)])],
                           secondaryClusterIP: Self.a("fd00:96::30"))
        let c = ServiceCatalog(services: [dual])
        let here: Set<IPAddress> = [Self.a("192.168.10.11"), Self.a("fd00:10::11")]
        for address in ["10.96.0.30", "fd00:96::30"] {
            #expect(c.frontend(ip: Self.a(address), port: 80, proto: .tcp)?.frontend == .clusterIP)
            #expect(c.isServiceAddress(Self.a(address)))
        }
        for address in here {
            #expect(c.frontend(ip: address, port: 30090, proto: .tcp, localAddresses: here)?.service.id == "shop/dual")
        }
        #expect(c.endpoint(ip: Self.a("fd00:244:1::9"), port: 8080, proto: .tcp)?.service.id == "shop/dual")
        #expect(c.collisions.isEmpty)
        // Single-stack IPv4: its NodePort is not open on IPv6.
        var v4 = dual
        v4.secondaryClusterIP = nil
        #expect(ServiceCatalog(services: [v4]).frontend(ip: Self.a("fd00:10::11"), port: 30090, proto: .tcp, localAddresses: here) == nil)
    }

    @Test func endpoints() throws {
        let m = try #require(catalog.endpoint(ip: Self.a("10.244.2.6"), port: 8080, proto: .tcp))
        #expect(m.service.id == "shop/web" && m.resolvedFrom == .endpoint && m.port.name == "http")
        // 10.244.1.5:8080 backs web:http and api: the first listed wins, all are available.
        #expect(catalog.endpoint(ip: Self.a("10.244.1.5"), port: 8080, proto: .tcp)?.service.id == "shop/web")
        #expect(catalog.endpoints(ip: Self.a("10.244.1.5"), port: 8080, proto: .tcp).map(\.service.id) == ["shop/web", "shop/api"])
        #expect(catalog.endpoint(ip: Self.a("10.244.1.5"), port: 5353, proto: .udp)?.port.name == "dns")
        #expect(catalog.endpoint(ip: Self.a("10.244.1.5"), port: 5353, proto: .tcp) == nil)
        #expect(catalog.endpoints(ip: Self.a("10.244.9.9"), port: 8080, proto: .tcp) == [])
    }

    @Test func collisionsAreRecordedAndFirstWins() {
        let dup = Service(namespace: "other", name: "dup", type: .nodePort, clusterIP: Self.a("10.96.0.20"),
                          externalIPs: [Self.a("10.96.0.10")],
                          ports: [ServicePort(name: "x", proto: .tcp, port: 80, nodePort: 30080)])
        let c = ServiceCatalog(services: [Self.web, dup])
        #expect(c.frontend(ip: Self.a("10.96.0.10"), port: 80, proto: .tcp)?.service.id == "shop/web")
        #expect(c.frontend(ip: Self.a("192.168.10.11"), port: 30080, proto: .tcp, localAddresses: node)?.service.id == "shop/web")
        #expect(c.frontend(ip: Self.a("10.96.0.20"), port: 80, proto: .tcp)?.service.id == "other/dup")
        #expect(c.collisions.map(\.description) == [
            "10.96.0.10:80/tcp is claimed by shop/web:http and other/dup:x; using shop/web:http",
            "nodePort 30080/tcp is claimed by shop/web:http and other/dup:x; using shop/web:http",
        ])
        #expect(catalog.collisions == [])
    }

    @Test func podAddressesAndMetadata() {
        #expect(catalog.isPodAddress(Self.a("10.244.3.3")) == true)
        #expect(catalog.isPodAddress(Self.a("10.96.0.10")) == false)
        #expect(catalog.isPodAddress(Self.a("fd00:244:1::5")) == false)
        #expect(ServiceCatalog(services: []).isPodAddress(Self.a("10.244.3.3")) == nil)
        #expect(ServiceCatalog(services: []).isEmpty && !catalog.isEmpty)
        #expect(catalog.source == "test" && catalog.services.count == 3)
    }

    @Test func endpointLocalityIsCodable() throws {
        let ep = ServiceEndpoint(ip: Self.a("10.0.0.1"), port: 80, isLocal: true)
        #expect(ep.isLocal == true && ServiceEndpoint(ip: Self.a("10.0.0.1"), port: 80).isLocal == nil)
    }
}
