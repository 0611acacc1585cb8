import SrcipCore
import Testing
@testable import SrcipServices

/// Rule layouts the upstream fixture does not cover: local endpoints, iTP=Local, large-cluster mode,
/// the pre-1.24 KUBE-XLB layout, IPv6 and dual-stack dumps, protocols srcip does not trace.
@Suite struct IPTablesLayoutTests {
    static let localPolicies = """
    *filter
    :KUBE-NODEPORTS - [0:0]
    :KUBE-SERVICES - [0:0]
    -A KUBE-NODEPORTS -m comment --comment "ns7/svc7:web health check node port" -m tcp -p tcp --dport 30007 -j ACCEPT
    COMMIT
    *nat
    :KUBE-SERVICES - [0:0]
    :KUBE-NODEPORTS - [0:0]
    :KUBE-MARK-MASQ - [0:0]
    :KUBE-SVC-AAAAAAAAAAAAAAAA - [0:0]
    :KUBE-SVL-AAAAAAAAAAAAAAAA - [0:0]
    :KUBE-EXT-AAAAAAAAAAAAAAAA - [0:0]
    :KUBE-SEP-LLLLLLLLLLLLLLLL - [0:0]
    :KUBE-SEP-RRRRRRRRRRRRRRRR - [0:0]
    :KUBE-SVL-BBBBBBBBBBBBBBBB - [0:0]
    :KUBE-SEP-UUUUUUUUUUUUUUUU - [0:0]
    :KUBE-SVC-CCCCCCCCCCCCCCCC - [0:0]
    :KUBE-SVC-DDDDDDDDDDDDDDDD - [0:0]
    :KUBE-SEP-MMMMMMMMMMMMMMMM - [0:0]
    :KUBE-SEP-NNNNNNNNNNNNNNNN - [0:0]
    -A KUBE-SERVICES -m comment --comment "ns7/svc7:web cluster IP" -m tcp -p tcp -d 172.30.0.47 --dport 80 -j KUBE-SVC-AAAAAAAAAAAAAAAA
    -A KUBE-SERVICES -m comment --comment "ns7/svc7:web loadbalancer IP" -m tcp -p tcp -d 1.2.3.7 --dport 80 -j KUBE-EXT-AAAAAAAAAAAAAAAA
    -A KUBE-SERVICES -m comment --comment "ns8/svc8 cluster IP" -m udp -p udp -d 172.30.0.48 --dport 53 -j KUBE-SVL-BBBBBBBBBBBBBBBB
    -A KUBE-SERVICES -m comment --comment "ns9/svc9:http cluster IP" -m tcp -p tcp -d 172.30.0.49 --dport 80 -j KUBE-SVC-CCCCCCCCCCCCCCCC
    -A KUBE-SERVICES -m comment --comment "ns9/svc9:https cluster IP" -m tcp -p tcp -d 172.30.0.49 --dport 443 -j KUBE-SVC-DDDDDDDDDDDDDDDD
    -A KUBE-SERVICES -m comment --comment "ns9/svc9:sctp cluster IP" -m sctp -p sctp -d 172.30.0.49 --dport 9 -j KUBE-SVC-EEEEEEEEEEEEEEEE
    -A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
    -A KUBE-NODEPORTS -m comment --comment ns7/svc7:web -m tcp -p tcp --dport 30070 -j KUBE-EXT-AAAAAAAAAAAAAAAA
    -A KUBE-EXT-AAAAAAAAAAAAAAAA -m comment --comment "pod traffic for ns7/svc7:web external destinations" -s 10.0.0.0/8 -j KUBE-SVC-AAAAAAAAAAAAAAAA
    -A KUBE-EXT-AAAAAAAAAAAAAAAA -m comment --comment "masquerade LOCAL traffic for ns7/svc7:web external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ
    -A KUBE-EXT-AAAAAAAAAAAAAAAA -m comment --comment "route LOCAL traffic for ns7/svc7:web external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-AAAAAAAAAAAAAAAA
    -A KUBE-EXT-AAAAAAAAAAAAAAAA -j KUBE-SVL-AAAAAAAAAAAAAAAA
    -A KUBE-SVC-AAAAAAAAAAAAAAAA -m comment --comment "ns7/svc7:web cluster IP" -m tcp -p tcp -d 172.30.0.47 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
    -A KUBE-SVC-AAAAAAAAAAAAAAAA -m comment --comment "ns7/svc7:web -> 10.180.0.7:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-LLLLLLLLLLLLLLLL
    -A KUBE-SVC-AAAAAAAAAAAAAAAA -m comment --comment "ns7/svc7:web -> 10.180.1.7:8080" -j KUBE-SEP-RRRRRRRRRRRRRRRR
    -A KUBE-SVL-AAAAAAAAAAAAAAAA -m comment --comment "ns7/svc7:web -> 10.180.0.7:8080" -j KUBE-SEP-LLLLLLLLLLLLLLLL
    -A KUBE-SEP-LLLLLLLLLLLLLLLL -m comment --comment ns7/svc7:web -s 10.180.0.7 -j KUBE-MARK-MASQ
    -A KUBE-SEP-LLLLLLLLLLLLLLLL -m comment --comment ns7/svc7:web -m tcp -p tcp -j DNAT --to-destination 10.180.0.7:8080
    -A KUBE-SEP-RRRRRRRRRRRRRRRR -m comment --comment ns7/svc7:web -s 10.180.1.7 -j KUBE-MARK-MASQ
    -A KUBE-SEP-RRRRRRRRRRRRRRRR -m comment --comment ns7/svc7:web -m tcp -p tcp -j DNAT --to-destination 10.180.1.7:8080
    -A KUBE-SVL-BBBBBBBBBBBBBBBB -m comment --comment "ns8/svc8 cluster IP" -m udp -p udp -d 172.30.0.48 --dport 53 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
    -A KUBE-SVL-BBBBBBBBBBBBBBBB -j KUBE-SEP-UUUUUUUUUUUUUUUU
    -A KUBE-SEP-UUUUUUUUUUUUUUUU -s 10.180.0.8 -j KUBE-MARK-MASQ
    -A KUBE-SEP-UUUUUUUUUUUUUUUU -m udp -p udp -j DNAT --to-destination 10.180.0.8:5353
    -A KUBE-SVC-CCCCCCCCCCCCCCCC -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-MMMMMMMMMMMMMMMM
    -A KUBE-SVC-CCCCCCCCCCCCCCCC -j KUBE-SEP-NNNNNNNNNNNNNNNN
    -A KUBE-SVC-DDDDDDDDDDDDDDDD -j KUBE-SEP-NNNNNNNNNNNNNNNN
    -A KUBE-SEP-MMMMMMMMMMMMMMMM -m tcp -p tcp -j DNAT --to-destination 10.180.0.91:8080
    -A KUBE-SEP-NNNNNNNNNNNNNNNN -m tcp -p tcp -j DNAT --to-destination 10.180.0.92:8080
    COMMIT
    """

    @Test("local endpoints via KUBE-SVL, iTP=Local, unnamed UDP port, large-cluster mode, multi-port, SCTP skipped")
    func localPoliciesAndLargeCluster() throws {
        let d = try IPTablesRulesParser.parse(Self.localPolicies, file: "local.txt")
        #expect(d.services.map(\.id) == ["ns7/svc7", "ns8/svc8", "ns9/svc9"])
        let svc7 = try #require(d.services.named("ns7/svc7"))
        #expect(svc7 == Service(namespace: "ns7", name: "svc7", type: .loadBalancer, clusterIP: ip("172.30.0.47"),
                                loadBalancerIPs: [ip("1.2.3.7")],
                                ports: [ServicePort(name: "web", proto: .tcp, port: 80, nodePort: 30070, endpoints: [
                                    ServiceEndpoint(ip: ip("10.180.0.7"), port: 8080, isLocal: true),
                                    ServiceEndpoint(ip: ip("10.180.1.7"), port: 8080, isLocal: false)])],
                                externalTrafficPolicy: .local, healthCheckNodePort: 30007))
        let svc8 = try #require(d.services.named("ns8/svc8"))
        #expect(svc8.internalTrafficPolicy == .local && svc8.externalTrafficPolicy == .cluster)
        #expect(svc8.ports == [ServicePort(name: nil, proto: .udp, port: 53,
                                           endpoints: [ServiceEndpoint(ip: ip("10.180.0.8"), port: 5353, isLocal: true)])])
        #expect(svc8.servicePortName(svc8.ports[0]) == "ns8/svc8")
        let svc9 = try #require(d.services.named("ns9/svc9"))
        #expect(svc9.ports.map(\.port) == [80, 443])
        #expect(svc9.ports[0].endpoints.map(\.ip) == [ip("10.180.0.91"), ip("10.180.0.92")])
        #expect(svc9.ports[1].endpoints.map(\.ip) == [ip("10.180.0.92")])
        #expect(svc9.ports.allSatisfy { $0.endpoints.allSatisfy { $0.isLocal == nil } })
        #expect(d.warnings.count == 1 && d.warnings[0].contains("sctp"))
        #expect(d.clusterCIDRs == [IPPrefix("10.0.0.0/8")!])
    }

    static let xlb = """
    *nat
    :PREROUTING ACCEPT [0:0]
    :KUBE-SERVICES - [0:0]
    :KUBE-NODEPORTS - [0:0]
    :KUBE-MARK-MASQ - [0:0]
    :KUBE-MARK-DROP - [0:0]
    :KUBE-SVC-OLDOLDOLDOLDOLD2 - [0:0]
    :KUBE-XLB-OLDOLDOLDOLDOLD2 - [0:0]
    :KUBE-FW-OLDOLDOLDOLDOLD2 - [0:0]
    :KUBE-SEP-XONEXONEXONEXONE - [0:0]
    :KUBE-SEP-XTWOXTWOXTWOXTWO - [0:0]
    -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
    -A KUBE-SERVICES ! -s 10.244.0.0/16 -d 10.96.0.50/32 -p tcp -m comment --comment "old/web:http cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ
    -A KUBE-SERVICES -d 10.96.0.50/32 -p tcp -m comment --comment "old/web:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-OLDOLDOLDOLDOLD2
    -A KUBE-SERVICES -d 34.1.2.3/32 -p tcp -m comment --comment "old/web:http loadbalancer IP" -m tcp --dport 80 -j KUBE-FW-OLDOLDOLDOLDOLD2
    -A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
    -A KUBE-NODEPORTS -p tcp -m comment --comment "old/web:http" -m tcp --dport 31080 -j KUBE-XLB-OLDOLDOLDOLDOLD2
    -A KUBE-FW-OLDOLDOLDOLDOLD2 -s 198.51.100.0/24 -m comment --comment "old/web:http loadbalancer IP" -j KUBE-XLB-OLDOLDOLDOLDOLD2
    -A KUBE-FW-OLDOLDOLDOLDOLD2 -m comment --comment "old/web:http loadbalancer IP" -j KUBE-MARK-DROP
    -A KUBE-XLB-OLDOLDOLDOLDOLD2 -s 10.244.0.0/16 -m comment --comment "Redirect pods trying to reach external loadbalancer VIP to clusterIP" -j KUBE-SVC-OLDOLDOLDOLDOLD2
    -A KUBE-XLB-OLDOLDOLDOLDOLD2 -m comment --comment "Balancing rule 0 for old/web:http" -j KUBE-SEP-XONEXONEXONEXONE
    -A KUBE-SVC-OLDOLDOLDOLDOLD2 -m comment --comment "old/web:http" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-XONEXONEXONEXONE
    -A KUBE-SVC-OLDOLDOLDOLDOLD2 -m comment --comment "old/web:http" -j KUBE-SEP-XTWOXTWOXTWOXTWO
    -A KUBE-SEP-XONEXONEXONEXONE -s 10.244.1.5/32 -m comment --comment "old/web:http" -j KUBE-MARK-MASQ
    -A KUBE-SEP-XONEXONEXONEXONE -p tcp -m comment --comment "old/web:http" -m tcp -j DNAT --to-destination 10.244.1.5:8080
    -A KUBE-SEP-XTWOXTWOXTWOXTWO -s 10.244.2.6/32 -m comment --comment "old/web:http" -j KUBE-MARK-MASQ
    -A KUBE-SEP-XTWOXTWOXTWOXTWO -p tcp -m comment --comment "old/web:http" -m tcp -j DNAT --to-destination 10.244.2.6:8080
    COMMIT
    """

    @Test("pre-1.24 KUBE-XLB layout: eTP=Local, local endpoints, source ranges, cluster CIDR from KUBE-SERVICES")
    func oldXLBLayout() throws {
        let d = try IPTablesRulesParser.parse(Self.xlb, file: "xlb.txt")
        #expect(d.warnings == [])
        #expect(d.clusterCIDRs == [IPPrefix("10.244.0.0/16")!])
        #expect(d.services == [Service(namespace: "old", name: "web", type: .loadBalancer, clusterIP: ip("10.96.0.50"),
                                       loadBalancerIPs: [ip("34.1.2.3")], loadBalancerSourceRanges: ["198.51.100.0/24"],
                                       ports: [ServicePort(name: "http", proto: .tcp, port: 80, nodePort: 31080, endpoints: [
                                           ServiceEndpoint(ip: ip("10.244.1.5"), port: 8080, isLocal: true),
                                           ServiceEndpoint(ip: ip("10.244.2.6"), port: 8080, isLocal: false)])],
                                       externalTrafficPolicy: .local)])
    }

    static func family(cip: String, cidr: String, ep: String) -> String {
        """
        *nat
        :KUBE-SERVICES - [0:0]
        :KUBE-SVC-DUALDUALDUALDUAL - [0:0]
        :KUBE-SEP-EPEPEPEPEPEPEPEP - [0:0]
        -A KUBE-SERVICES -d \(cip) -p tcp -m comment --comment "ds/web:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-DUALDUALDUALDUAL
        -A KUBE-SVC-DUALDUALDUALDUAL ! -s \(cidr) -d \(cip) -p tcp -m comment --comment "ds/web:http cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ
        -A KUBE-SVC-DUALDUALDUALDUAL -m comment --comment "ds/web:http -> \(ep)" -j KUBE-SEP-EPEPEPEPEPEPEPEP
        -A KUBE-SEP-EPEPEPEPEPEPEPEP -p tcp -m comment --comment "ds/web:http" -m tcp -j DNAT --to-destination \(ep)
        COMMIT

        """
    }

    @Test("iptables-save then ip6tables-save in one file: one dual-stack Service, IPv6 frontends and endpoints")
    func dualStack() throws {
        let text = Self.family(cip: "172.30.0.60/32", cidr: "10.0.0.0/8", ep: "10.180.0.60:8080")
            + "# Generated by ip6tables-save\n"
            + Self.family(cip: "fd00:30::60/128", cidr: "fd00:10::/64", ep: "[fd00:180::60]:8080")
        let d = try IPTablesRulesParser.parse(text, file: "dual.txt")
        #expect(d.warnings == [])
        #expect(d.services.count == 1)
        #expect(d.services.first?.clusterIPs == [ip("172.30.0.60"), ip("fd00:30::60")])
        #expect(d.services.first?.ports.map { $0.endpoints.map(\.ip) } == [[ip("10.180.0.60"), ip("fd00:180::60")]])
        #expect(d.clusterCIDRs == [IPPrefix("10.0.0.0/8")!, IPPrefix("fd00:10::/64")!])
        let cat = d.catalog()
        #expect(cat.frontend(ip: ip("fd00:30::60"), port: 80, proto: .tcp)?.port.endpoints.map(\.ip) == [ip("10.180.0.60"), ip("fd00:180::60")])
        #expect(cat.frontend(ip: ip("172.30.0.60"), port: 80, proto: .tcp)?.service.secondaryClusterIP == ip("fd00:30::60"))
        #expect(cat.endpoint(ip: ip("fd00:180::60"), port: 8080, proto: .tcp)?.service.secondaryClusterIP == ip("fd00:30::60"))
        #expect(cat.isPodAddress(ip("fd00:10::5")) == true)
    }

    @Test("filter-only Services: no endpoints, no local endpoints, iTP=Local without local endpoints")
    func filterOnly() throws {
        let text = """
        *filter
        :KUBE-SERVICES - [0:0]
        :KUBE-EXTERNAL-SERVICES - [0:0]
        :KUBE-PROXY-FIREWALL - [0:0]
        -A KUBE-SERVICES -d 172.30.0.46/32 -p tcp -m comment --comment "ns6/svc6:p80 has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable
        -A KUBE-EXTERNAL-SERVICES -d 192.168.99.46/32 -p tcp -m comment --comment "ns6/svc6:p80 has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable
        -A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment "ns6/svc6:p80 has no endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 30046 -j REJECT --reject-with icmp-port-unreachable
        -A KUBE-SERVICES -d 172.30.0.47/32 -p tcp -m comment --comment "ns7/svc7:p80 has no local endpoints" -m tcp --dport 80 -j DROP
        COMMIT
        *nat
        :KUBE-SERVICES - [0:0]
        COMMIT
        """
        let d = try IPTablesRulesParser.parse(text)
        #expect(d.warnings == [])
        #expect(d.services == [
            Service(namespace: "ns6", name: "svc6", type: .nodePort, clusterIP: ip("172.30.0.46"), externalIPs: [ip("192.168.99.46")],
                    ports: [ServicePort(name: "p80", proto: .tcp, port: 80, nodePort: 30046)]),
            Service(namespace: "ns7", name: "svc7", type: .clusterIP, clusterIP: ip("172.30.0.47"),
                    ports: [ServicePort(name: "p80", proto: .tcp, port: 80)], internalTrafficPolicy: .local),
        ])
    }
}

/// Small pieces of the iptables reader.
@Suite struct IPTablesReaderPiecesTests {
    @Test func servicePortNames() {
        #expect(ServicePortName("ns/svc:p80", proto: .tcp)?.description == "ns/svc:p80")
        #expect(ServicePortName("ns/svc", proto: .tcp)?.port == "")
        #expect(ServicePortName("ns/svc:", proto: .udp).map { ($0.name, $0.port) } ?? ("", "x") == ("svc", ""))
        #expect(ServicePortName("kubernetes forwarding rules", proto: .tcp) == nil)
        #expect(ServicePortName("nsonly", proto: .tcp) == nil)
        #expect(ServicePortName("a/b/c:d", proto: .tcp) == nil)
    }

    @Test func tokenizer() throws {
        #expect(try IPTablesRule.split(#"-m comment --comment "a \"b\" c" -j X"#, line: 1, file: "f") == ["-m", "comment", "--comment", #"a "b" c"#, "-j", "X"])
        let r = try IPTablesRule(table: "nat", text: "C -s ! 10.0.0.0/8 ! -d 1.2.3.4 --destination-port 80 -j Y", line: 1, file: "f")
        #expect(r.negatedValue("-s") == "10.0.0.0/8" && r.negatedValue("-d") == "1.2.3.4" && r.value("--dport") == "80" && r.target == "Y")
        let unquoted = try IPTablesRule(table: "filter", text: "INPUT -m comment --comment kubernetes health check service ports -j KUBE-NODEPORTS", line: 1, file: "f")
        #expect(unquoted.comment == "kubernetes health check service ports")
    }

    @Test("`-I CHAIN N` restore lines, interface-based local detection")
    func insertAndInterfaceDetector() throws {
        let text = """
        *nat
        :KUBE-SERVICES - [0:0]
        :KUBE-SVC-IIIIIIIIIIIIIIII - [0:0]
        :KUBE-SEP-JJJJJJJJJJJJJJJJ - [0:0]
        -I KUBE-SERVICES 1 -m comment --comment "a/b:c cluster IP" -m tcp -p tcp -d 10.96.0.1 --dport 443 -j KUBE-SVC-IIIIIIIIIIIIIIII
        -A KUBE-SVC-IIIIIIIIIIIIIIII -m comment --comment "a/b:c cluster IP" -m tcp -p tcp -d 10.96.0.1 --dport 443 ! -i cni0 -j KUBE-MARK-MASQ
        -A KUBE-SVC-IIIIIIIIIIIIIIII -j KUBE-SEP-JJJJJJJJJJJJJJJJ
        -A KUBE-SEP-JJJJJJJJJJJJJJJJ -m tcp -p tcp -j DNAT --to-destination 192.168.10.11:6443
        COMMIT
        """
        let d = try IPTablesRulesParser.parse(text, file: "i.txt")
        #expect(d.services.first?.ports.first?.endpoints.first?.port == 6443)
        #expect(d.clusterCIDRs == [])
        #expect(d.warnings == ["i.txt:6: kube-proxy tells pods by interface (`! -i cni0`), not by cluster CIDR; pod clients cannot be told by address"])
    }
}
