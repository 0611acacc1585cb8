import SrcipCore
import Testing
@testable import SrcipLabCluster
@testable import SrcipLabKubeProxy

/// Rule shapes the upstream fixtures do not cover: local endpoints under Local policies, several endpoints, options.
@Suite struct KubeProxyRenderCasesTests {
    static let node = LabNode(name: "node1", ip: IPAddress("192.168.10.11")!, podCIDR: IPPrefix("10.244.1.0/24")!)

    static func state(_ services: [Service]) -> ClusterState {
        ClusterState(clusterCIDR: IPPrefix("10.244.0.0/16")!, serviceCIDR: IPPrefix("10.96.0.0/16")!, nodes: [node], pods: [], services: services)
    }

    static func ep(_ ip: String, _ node: String?) -> ServiceEndpoint { ServiceEndpoint(ip: IPAddress(ip)!, port: 8080, nodeName: node) }

    static let localLB = Service(namespace: "default", name: "lb", type: .loadBalancer, clusterIP: IPAddress("10.96.0.20"),
                                 loadBalancerIPs: [IPAddress("198.51.100.20")!],
                                 ports: [ServicePort(name: "http", proto: .tcp, port: 80, nodePort: 30100,
                                                     endpoints: [ep("10.244.2.2", "node2"), ep("10.244.1.2", "node1"), ep("10.244.1.3", "node1")])],
                                 externalTrafficPolicy: .local, healthCheckNodePort: 32000)

    @Test func iptablesLocalPolicyWithLocalEndpoints() {
        let out = KubeProxyIPTables.render(Self.state([Self.localLB]), node: Self.node)
        let h = KubeProxyNames.iptablesServiceHash(servicePortName: "default/lb:http", proto: .tcp)
        let lines = Set(out.split(separator: "\n").map(String.init))
        #expect(lines.contains(":KUBE-SVL-\(h) - [0:0]"))
        #expect(lines.contains("-A KUBE-EXT-\(h) -j KUBE-SVL-\(h)"))
        // Cluster chain: three endpoints, sorted by "ip:port" string, probabilities 1/3 and 1/2.
        let svc = out.split(separator: "\n").filter { $0.hasPrefix("-A KUBE-SVC-\(h) -m comment --comment \"default/lb:http ->") }
        #expect(svc.count == 3)
        #expect(svc[0].contains("10.244.1.2:8080\" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-"))
        #expect(svc[1].contains("10.244.1.3:8080\" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-"))
        #expect(svc[2].contains("10.244.2.2:8080\" -j KUBE-SEP-"))
        let svl = out.split(separator: "\n").filter { $0.hasPrefix("-A KUBE-SVL-\(h) ") }
        #expect(svl.count == 2)
        #expect(!out.contains("has no local endpoints"))
        #expect(lines.contains("-A KUBE-NODEPORTS -m comment --comment \"default/lb:http health check node port\" -m tcp -p tcp --dport 32000 -j ACCEPT"))
        #expect(out.components(separatedBy: ":KUBE-SEP-").count - 1 == 3)
    }

    @Test func nftablesLocalPolicyWithLocalEndpoints() {
        let lines = KubeProxyNFTables.transaction(Self.state([Self.localLB]), node: Self.node)
        let base = KubeProxyNames.nftablesServiceBase(namespace: "default", name: "lb", portName: "http", proto: .tcp)
        #expect(lines.contains("add rule ip kube-proxy external-\(base) goto local-\(base)"))
        #expect(lines.contains { $0.hasPrefix("add rule ip kube-proxy local-\(base) numgen random mod 2 vmap { 0 : goto endpoint-") })
        #expect(lines.contains { $0.hasPrefix("add rule ip kube-proxy service-\(base) numgen random mod 3 vmap {") })
        #expect(!lines.contains { $0.contains("no-endpoint") && $0.hasPrefix("add element") })
    }

    @Test func internalTrafficPolicyLocalWithoutLocalEndpointsDrops() {
        let svc = Service(namespace: "default", name: "itl", type: .clusterIP, clusterIP: IPAddress("10.96.0.21"),
                          ports: [ServicePort(name: nil, proto: .udp, port: 53, endpoints: [Self.ep("10.244.2.2", "node2")])],
                          internalTrafficPolicy: .local)
        let out = KubeProxyIPTables.render(Self.state([svc]), node: Self.node)
        #expect(out.contains("-A KUBE-SERVICES -m comment --comment \"default/itl has no local endpoints\" -m udp -p udp -d 10.96.0.21 --dport 53 -j DROP\n"))
        #expect(!out.contains("KUBE-SVC-"))
        let nft = KubeProxyNFTables.transaction(Self.state([svc]), node: Self.node)
        #expect(nft.contains("add element ip kube-proxy no-endpoint-services { 10.96.0.21 . udp . 53 comment \"default/itl\" : drop }"))
    }

    @Test func masqueradeAllAndNoDetectorVariants() {
        let svc = Service(namespace: "default", name: "c", type: .clusterIP, clusterIP: IPAddress("10.96.0.22"),
                          ports: [ServicePort(name: nil, proto: .tcp, port: 80, endpoints: [Self.ep("10.244.1.2", "node1")])])
        let all = KubeProxyIPTables.render(Self.state([svc]), node: Self.node, options: KubeProxyOptions(masqueradeAll: true))
        #expect(all.contains("--comment \"default/c cluster IP\" -m tcp -p tcp -d 10.96.0.22 --dport 80 -j KUBE-MARK-MASQ\n"))
        let none = KubeProxyIPTables.render(Self.state([svc]), node: Self.node, options: KubeProxyOptions(detectLocal: false))
        #expect(!none.contains("cluster IP\" -m tcp -p tcp -d 10.96.0.22 --dport 80 ! -s"))
        #expect(none.components(separatedBy: "-j KUBE-MARK-MASQ").count - 1 == 1, "only the hairpin rule marks")
        let nftAll = KubeProxyNFTables.transaction(Self.state([svc]), node: Self.node, options: KubeProxyOptions(masqueradeAll: true))
        #expect(nftAll.contains { $0.hasSuffix(" ip daddr 10.96.0.22 jump mark-for-masquerade") })
    }
}

/// The IPv6 proxier's rules: `ip6 kube-proxy` with IPv6 types and matches; ip6tables without the localhost NodePorts.
@Suite("kube-proxy IPv6 rendering")
struct KubeProxyIPv6RenderTests {
    static func state() throws -> ClusterState {
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: web, labels: {app: web}}
        spec: {nodeName: node1, containers: [{name: c, image: echo, ports: [{containerPort: 8080}]}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: s}
        spec: {type: NodePort, ipFamilyPolicy: RequireDualStack, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
        """
        let (objects, _) = try LabManifest.parse(yaml, source: "t")
        return try ClusterState.build(from: objects, nodeCount: 2, ipFamily: .dual)
    }

    @Test func nftablesIPv6Table() throws {
        let state = try Self.state()
        let script = KubeProxyNFTables.render(state, node: state.nodes[0], family: .ipv6)
        #expect(script.hasPrefix("add table ip6 kube-proxy\ndelete table ip6 kube-proxy\n"))
        #expect(script.contains("add set ip6 kube-proxy cluster-ips { type ipv6_addr ;"))
        #expect(script.contains("add element ip6 kube-proxy nodeport-ips { fd00:192:168:10::11 }"))
        #expect(script.contains("ip6 daddr fd00:10:96::a ip6 saddr != fd00:10:244::/56 jump mark-for-masquerade"))
        #expect(script.contains("dnat to [fd00:10:244:1::2]:8080"))
        #expect(!script.contains(" ip daddr") && !script.contains("10.96.0.10"))
    }

    @Test func ip6tablesRestoreInput() throws {
        let state = try Self.state()
        let v6 = KubeProxyIPTables.render(state, node: state.nodes[0], family: .ipv6)
        #expect(v6.contains("! -d ::1/128 -j KUBE-NODEPORTS"))
        #expect(v6.contains("-d fd00:10:96::a --dport 80 ! -s fd00:10:244::/56 -j KUBE-MARK-MASQ"))
        #expect(!v6.contains("KUBE-FIREWALL") && !v6.contains("10.244."))
        let v4 = KubeProxyIPTables.render(state, node: state.nodes[0], family: .ipv4)
        #expect(v4 == KubeProxyIPTables.render(state, node: state.nodes[0]))
    }
}
