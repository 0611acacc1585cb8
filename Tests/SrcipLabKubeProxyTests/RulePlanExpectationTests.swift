import SrcipCore
import Testing
@testable import SrcipLabCluster
@testable import SrcipLabKubeProxy

/// RulePlanExpectation against the rows of the §4 truth table (docs/kube-proxy-nat.md), on the seed lab plus a client pod.
@Suite struct RulePlanExpectationTests {
    static let client = IPAddress("203.0.113.10")!
    static let node1 = IPAddress("192.168.10.11")!, node2 = IPAddress("192.168.10.12")!
    static let cni1 = IPAddress("10.244.1.1")!
    static let app = IPAddress("10.244.1.2")!          // source-ip-app-0 on node1
    static let clientPod = IPAddress("10.244.2.2")!    // busybox on node2

    let state: ClusterState

    init() throws {
        var objects = try LabManifest.parse(LabManifest.defaultManifest, source: "seed").objects
        objects.pods.append(ManifestPod(namespace: "default", name: "busybox", labels: ["run": "busybox"], ports: [], nodeName: "node2"))
        objects.services.append(ManifestService(namespace: "default", name: "itp-local", ports: [ManifestServicePort(name: nil, port: 80, targetPort: .number(8080))],
                                                selector: ["app": "source-ip-app"], internalTrafficPolicy: .local))
        objects.services.append(ManifestService(namespace: "default", name: "ranged", type: .loadBalancer,
                                                ports: [ManifestServicePort(name: nil, port: 80, targetPort: .number(8080))],
                                                selector: ["app": "source-ip-app"], loadBalancerSourceRanges: [IPPrefix("203.0.113.0/28")!]))
        objects.services.append(ManifestService(namespace: "default", name: "empty", type: .nodePort,
                                                ports: [ManifestServicePort(name: nil, port: 80)], selector: ["app": "nothing"]))
        objects.services.append(ManifestService(namespace: "default", name: "ext", ports: [ManifestServicePort(name: nil, port: 80, targetPort: .number(8080))],
                                                selector: ["app": "source-ip-app"], externalIPs: [IPAddress("192.168.99.22")!],
                                                externalTrafficPolicy: .local))
        state = try ClusterState.build(from: objects, nodeCount: 3)
    }

    func svc(_ name: String) -> Service { state.services.first { $0.name == name }! }

    func outcome(_ service: String, _ frontend: Frontend, _ client: LabClient, via entry: String = "node1") throws -> RulePlanExpectation.Outcome {
        try RulePlanExpectation.expect(state: state, service: svc(service), frontend: frontend, client: client, entryNode: entry)
    }

    func sources(_ service: String, _ frontend: Frontend, _ client: LabClient, via entry: String = "node1") throws -> Set<IPAddress> {
        let o = try outcome(service, frontend, client, via: entry)
        guard case .delivered = o else { Issue.record("expected delivery, got \(o)"); return [] }
        return o.sourceIPs
    }

    var busybox: LabClient { .pod(state.pods.first { $0.name == "busybox" }!) }
    var appPod: LabClient { .pod(state.pods.first { $0.name == "source-ip-app-0" }!) }
    func host(_ name: String) -> LabClient { .host(state.node(named: name)!) }

    @Test func row1PodToClusterIPKeepsPodIP() throws {
        #expect(try sources("clusterip", .clusterIP, busybox) == [Self.clientPod])
        let o = try outcome("clusterip", .clusterIP, busybox)
        guard case .delivered(let d) = o else { Issue.record("\(o)"); return }
        #expect(d.map(\.source) == [.clientIP] && d.map(\.endpoint.ip) == [Self.app])
    }

    @Test func row2HairpinIsMasqueradedToTheBridge() throws {
        #expect(try sources("clusterip", .clusterIP, appPod) == [Self.cni1])
    }

    @Test func rows3And4HostAndOffClusterToClusterIPAreMasqueraded() throws {
        #expect(try sources("clusterip", .clusterIP, host("node2")) == [Self.node2])
        #expect(try sources("clusterip", .clusterIP, host("node1")) == [Self.cni1])
        #expect(try sources("clusterip", .clusterIP, .external(Self.client), via: "node2") == [Self.node2])
    }

    @Test func row5MasqueradeAll() throws {
        let o = try RulePlanExpectation.expect(state: state, service: svc("clusterip"), frontend: .clusterIP, client: busybox,
                                          entryNode: "node2", options: KubeProxyOptions(masqueradeAll: true))
        #expect(o.sourceIPs == [Self.node2])
    }

    @Test func row7InternalTrafficPolicyLocal() throws {
        #expect(try outcome("itp-local", .clusterIP, busybox) == .dropped(reason: "default/itp-local has internalTrafficPolicy Local and no endpoint on node2"))
        #expect(try sources("itp-local", .clusterIP, host("node1")) == [Self.cni1])
    }

    @Test func rows8To10NodePortClusterPolicyIsMasqueradedByTheEntryNode() throws {
        #expect(try sources("nodeport", .nodePort, .external(Self.client), via: "node2") == [Self.node2])
        #expect(try sources("nodeport", .nodePort, .external(Self.client), via: "node1") == [Self.cni1])
        #expect(try sources("nodeport", .nodePort, busybox, via: "node2") == [Self.node2])
        #expect(try sources("nodeport", .nodePort, host("node1"), via: "node1") == [Self.cni1])
    }

    @Test func rows11To14NodePortLocalPolicy() throws {
        #expect(try sources("nodeport-local", .nodePort, .external(Self.client), via: "node1") == [Self.client])
        #expect(try outcome("nodeport-local", .nodePort, .external(Self.client), via: "node2")
                == .dropped(reason: "default/nodeport-local has externalTrafficPolicy Local and no endpoint on node2"))
        #expect(try sources("nodeport-local", .nodePort, busybox, via: "node2") == [Self.clientPod])
        #expect(try sources("nodeport-local", .nodePort, host("node2"), via: "node2") == [Self.node2])
        // Another node's host reaching node1's NodePort is an off-node client there: its address is kept.
        #expect(try sources("nodeport-local", .nodePort, host("node2"), via: "node1") == [Self.node2])
    }

    @Test func rows15To20LoadBalancerAndExternalIPs() throws {
        #expect(try sources("loadbalancer", .loadBalancer, .external(Self.client), via: "node3") == [IPAddress("192.168.10.13")!])
        #expect(try sources("loadbalancer-local", .loadBalancer, .external(Self.client), via: "node1") == [Self.client])
        #expect(try sources("ext", .externalIP, .external(Self.client), via: "node1") == [Self.client])
        if case .dropped = try outcome("loadbalancer-local", .loadBalancer, .external(Self.client), via: "node2") {} else {
            Issue.record("row 17: expected a drop")
        }
        #expect(try sources("loadbalancer", .loadBalancer, busybox) == [Self.node2])
        #expect(try sources("loadbalancer-local", .loadBalancer, busybox) == [Self.clientPod])
        #expect(try sources("loadbalancer-local", .loadBalancer, host("node3")) == [IPAddress("192.168.10.13")!])
        #expect(try sources("loadbalancer", .loadBalancer, host("node1")) == [Self.cni1])
    }

    @Test func row21SourceRanges() throws {
        #expect(try sources("ranged", .loadBalancer, .external(IPAddress("203.0.113.5")!), via: "node1") == [Self.cni1])
        if case .dropped = try outcome("ranged", .loadBalancer, .external(IPAddress("203.0.113.50")!), via: "node1") {} else {
            Issue.record("outside the ranges must drop")
        }
        if case .dropped = try outcome("ranged", .loadBalancer, busybox) {} else { Issue.record("pods outside the ranges drop too") }
        // NodePorts bypass the ranges.
        #expect(try sources("ranged", .nodePort, .external(IPAddress("203.0.113.50")!), via: "node2") == [Self.node2])
    }

    @Test func row23AndUnprogrammedFrontends() throws {
        #expect(try outcome("empty", .nodePort, .external(Self.client)) == .rejected(reason: "default/empty has no endpoints"))
        #expect(try outcome("empty", .clusterIP, busybox) == .rejected(reason: "default/empty has no endpoints"))
        if case .notProgrammed = try outcome("clusterip", .nodePort, .external(Self.client)) {} else { Issue.record("no NodePort on a ClusterIP service") }
        if case .notProgrammed = try outcome("nodeport", .loadBalancer, .external(Self.client)) {} else { Issue.record("no LB IP on a NodePort service") }
        #expect(throws: RulePlanExpectationError.self) { try outcome("nodeport", .nodePort, .external(Self.client), via: "node9") }
    }

    /// The cross-check: for every request the lab can make (every Service, frontend, client kind and entry node), the
    /// verdict the rule plan implies for each endpoint equals the verdict of SrcipCore's §4 table.
    @Test func agreesWithTheTruthTableForEveryLabRequest() throws {
        var clients: [LabClient] = [.external(Self.client), .external(IPAddress("203.0.113.50")!)]
        clients += state.pods.map(LabClient.pod) + state.nodes.map(LabClient.host)
        var compared = 0
        var rows = Set<Int>()
        for service in state.services {
            for frontend in Frontend.allCases {
                for client in clients {
                    for entry in state.nodes {
                        let outcome = try RulePlanExpectation.expect(state: state, service: service, frontend: frontend,
                                                                     client: client, entryNode: entry.name)
                        let cases: [(LabPod?, Verdict)]
                        switch outcome {
                        case .notProgrammed: continue
                        case .dropped: cases = [(nil, .dropped)]
                        case .rejected: cases = [(nil, .rejected)]
                        case let .delivered(d):
                            cases = d.map { del in
                                (state.pods.first { $0.ip == del.endpoint.ip }, del.source == .clientIP ? .preserved : .snat)
                            }
                        }
                        for (backend, verdict) in cases {
                            let input = ExpectationInput(lab: service, frontend: frontend, client: client, entry: entry,
                                                         backend: backend, state: state)
                            let table = try #require(Expectation.expected(input))
                            #expect(table.verdict == verdict,
                                    "\(service.id) \(frontend) from \(client) via \(entry.name) to \(backend?.name ?? "-"): rule plan \(verdict), §4 \(table)")
                            compared += 1
                            rows.insert(table.row)
                        }
                    }
                }
            }
        }
        #expect(compared > 100)
        // Every row the lab can produce (22: LB ipMode Proxy and 5/6: non-default kube-proxy flags are not lab scenarios).
        #expect(rows.isSuperset(of: [1, 2, 3, 4, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 23]), "rows seen: \(rows.sorted())")
    }
}

/// The iptables full resync deletes kube-proxy's stale per-service chains and nothing else.
@Suite struct KubeProxyIPTablesResyncTests {
    @Test("stale KUBE-SVC/SEP chains are flushed and deleted, other chains untouched")
    func staleChains() {
        let rendered = "*filter\n:KUBE-FORWARD - [0:0]\nCOMMIT\n*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-AAAA - [0:0]\n-A KUBE-SERVICES -j KUBE-SVC-AAAA\nCOMMIT\n"
        let existing = "*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-AAAA - [0:0]\n:KUBE-SVC-BBBB - [0:0]\n"
            + ":KUBE-SEP-CCCC - [0:0]\n:MY-CHAIN - [0:0]\nCOMMIT\n*filter\n:KUBE-FW-DDDD - [0:0]\nCOMMIT\n"
        let out = KubeProxyIPTables.resyncInput(rendered: rendered, existingSave: existing)
        let lines = out.split(separator: "\n").map(String.init)
        #expect(lines.contains(":KUBE-SVC-BBBB - [0:0]") && lines.contains("-X KUBE-SVC-BBBB"))
        #expect(lines.contains("-X KUBE-SEP-CCCC") && lines.contains("-X KUBE-FW-DDDD"))
        #expect(!out.contains("-X KUBE-SVC-AAAA") && !out.contains("MY-CHAIN") && !out.contains("-X KUBE-SERVICES"))
        // Deletions come last in their table, after the rules that stop referencing them.
        let nat = lines.firstIndex(of: "*nat")!, x = lines.firstIndex(of: "-X KUBE-SVC-BBBB")!
        #expect(x > lines.firstIndex(of: "-A KUBE-SERVICES -j KUBE-SVC-AAAA")! && x > nat && lines[x + 1] == "COMMIT")
    }
}
