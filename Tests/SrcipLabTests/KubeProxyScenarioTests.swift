import Foundation
import SrcipCore
@testable import SrcipLabCluster
@testable import SrcipLabKubeProxy
@testable import SrcipLabWorkloads
@testable import SrcipLabNetwork
@testable import SrcipLabDemo
import SrcipSystem
import Testing

/// One §4 row exercised in the lab.
struct ScenarioRow: CustomStringConvertible, Sendable {
    enum Client: Sendable { case pod(String), host(String), external }
    enum Target: Sendable {
        case clusterIP(String)
        case nodePort(String, node: String)
        case loopbackNodePort(String)
        case loadBalancerIP(String)
        case externalIP(String)
    }
    enum Expect: Sendable { case ip(String), podIP(String), timeout, refused }

    var row: Int
    var what: String
    var client: Client
    var target: Target
    /// Router next hop for routed external traffic (ClusterIP / externalIP from outside).
    var entry: String?
    var expect: Expect
    /// The family of the addresses the request uses.
    var family: IPFamily = .ipv4
    var description: String { "§4 row \(row) [\(family.rawValue)]: \(what)" }
}

/// One scenario request as sent: who, to what, through which entry node, and what came back.
struct ScenarioProbe: Sendable {
    var row: ScenarioRow
    var namespace: String
    var client: LabClient
    var service: Service
    var frontend: Frontend
    var destination: String
    var destinationPort: UInt16
    var sourcePort: UInt16
    /// The node whose kube-proxy rules handle the request (the pod's or host's node, the NodePort node, the routed entry).
    var entry: LabNode
    var outcome: ProbeOutcome
}

/// Every §4 row kube-proxy decides (1–4, 8–21, 23), in both proxy modes, against one lab per mode.
@Suite("kube-proxy §4 scenarios (privileged)", .serialized, .privileged)
struct KubeProxyScenarioTests {
    static func rows(_ mode: ProxyMode) -> [ScenarioRow] {
        [
            ScenarioRow(row: 1, what: "pod on another node → ClusterIP", client: .pod("client-n2"), target: .clusterIP("cluster"), expect: .podIP("client-n2")),
            ScenarioRow(row: 1, what: "pod on the same node → ClusterIP", client: .pod("client-n1"), target: .clusterIP("cluster"), expect: .podIP("client-n1")),
            ScenarioRow(row: 2, what: "pod → its own Service (hairpin)", client: .pod("selfie"), target: .clusterIP("self"), expect: .ip("10.244.2.1")),
            ScenarioRow(row: 3, what: "host network of node2 → ClusterIP", client: .host("node2"), target: .clusterIP("cluster"), expect: .ip("192.168.10.12")),
            ScenarioRow(row: 3, what: "host network of node1 → ClusterIP (local endpoint)", client: .host("node1"), target: .clusterIP("cluster"), expect: .ip("10.244.1.1")),
            ScenarioRow(row: 4, what: "external, service CIDR routed to node2 → ClusterIP", client: .external, target: .clusterIP("cluster"), entry: "node2", expect: .ip("192.168.10.12")),
            ScenarioRow(row: 8, what: "external → node2 NodePort, eTP Cluster", client: .external, target: .nodePort("cluster", node: "node2"), expect: .ip("192.168.10.12")),
            ScenarioRow(row: 8, what: "external → node1 NodePort, eTP Cluster (local endpoint)", client: .external, target: .nodePort("cluster", node: "node1"), expect: .ip("10.244.1.1")),
            ScenarioRow(row: 9, what: "pod → its node's NodePort, eTP Cluster", client: .pod("client-n2"), target: .nodePort("cluster", node: "node2"), expect: .ip("192.168.10.12")),
            ScenarioRow(row: 10, what: "host → own NodePort, eTP Cluster", client: .host("node2"), target: .nodePort("cluster", node: "node2"), expect: .ip("192.168.10.12")),
            ScenarioRow(row: 10, what: "host → 127.0.0.1:NodePort (iptables only; nftables rejects)", client: .host("node2"), target: .loopbackNodePort("cluster"),
                        expect: mode == .iptables ? .ip("192.168.10.12") : .refused),
            ScenarioRow(row: 11, what: "external → node1 NodePort, eTP Local, local endpoint", client: .external, target: .nodePort("local", node: "node1"), expect: .ip("203.0.113.10")),
            ScenarioRow(row: 12, what: "external → node2 NodePort, eTP Local, no local endpoint", client: .external, target: .nodePort("local", node: "node2"), expect: .timeout),
            ScenarioRow(row: 13, what: "pod → node2 NodePort, eTP Local (short-circuit)", client: .pod("client-n2"), target: .nodePort("local", node: "node2"), expect: .podIP("client-n2")),
            ScenarioRow(row: 14, what: "host → own NodePort, eTP Local", client: .host("node2"), target: .nodePort("local", node: "node2"), expect: .ip("192.168.10.12")),
            ScenarioRow(row: 15, what: "external → externalIP at node2, eTP Cluster", client: .external, target: .externalIP("cluster"), entry: "node2", expect: .ip("192.168.10.12")),
            ScenarioRow(row: 16, what: "external → externalIP at node1, eTP Local, local endpoint", client: .external, target: .externalIP("local"), entry: "node1", expect: .ip("203.0.113.10")),
            ScenarioRow(row: 17, what: "external → externalIP at node2, eTP Local, none local", client: .external, target: .externalIP("local"), entry: "node2", expect: .timeout),
            ScenarioRow(row: 18, what: "pod → LB IP, eTP Cluster", client: .pod("client-n2"), target: .loadBalancerIP("cluster"), expect: .ip("192.168.10.12")),
            ScenarioRow(row: 19, what: "pod → LB IP, eTP Local (short-circuit)", client: .pod("client-n2"), target: .loadBalancerIP("local"), expect: .podIP("client-n2")),
            ScenarioRow(row: 20, what: "host → LB IP, eTP Cluster", client: .host("node2"), target: .loadBalancerIP("cluster"), expect: .ip("192.168.10.12")),
            ScenarioRow(row: 20, what: "host → LB IP, eTP Local", client: .host("node2"), target: .loadBalancerIP("local"), expect: .ip("192.168.10.12")),
            ScenarioRow(row: 21, what: "pod outside loadBalancerSourceRanges → LB IP", client: .pod("client-n2"), target: .loadBalancerIP("ranges"), expect: .timeout),
            ScenarioRow(row: 23, what: "pod → ClusterIP of a Service without endpoints", client: .pod("client-n2"), target: .clusterIP("empty"), expect: .refused),
        ]
    }

    /// The rows `routedScenarios` runs with the routed CNI.
    static let routedRows: Set<Int> = [1, 2, 3, 8, 11, 12, 13, 16, 17]

    /// `row` as it plays out with the routed CNI: masquerading toward a local pod gives the node IP (the pod's veth has no
    /// address), where the bridge gives the node's cni0 address 10.244.N.1.
    static func routed(_ row: ScenarioRow) -> ScenarioRow {
        var r = row
        if case let .ip(ip) = row.expect, ip.hasPrefix("10.244."), ip.hasSuffix(".1"),
           let n = Int(ip.split(separator: ".")[2]) {
            r.expect = .ip("192.168.10.\(10 + n)")
        }
        return r
    }

    @Test("routed CNI: §4 rows 1–3, 8, 11–13, 16, 17", arguments: ProxyMode.allCases)
    func routedScenarios(mode: ProxyMode) throws {
        let naming = try LabNaming(lab: LabTestSupport.uniqueLabName(mode == .iptables ? "ri" : "rn"))
        let (objects, _) = try LabManifest.parse(ScenarioManifest.yaml, source: "scenarios")
        let state = try ClusterState.build(from: objects, nodeCount: 3, cni: .routed)
        var record = try LabController.up(state: state, options: LabUpOptions(naming: naming, proxyMode: mode,
                                                                              srcipExecutable: try LabTestSupport.srcipExecutable()))
        defer { _ = try? LabController.down(naming: naming) }
        // No bridge and no pod-network address on the node: pods hang off /32 routes to their veths.
        let node1 = naming.nodeNamespace("node1")
        #expect(try Command.run("ip", ["-n", node1, "link", "show", LabNaming.podBridge]).status != 0)
        let pod = try #require(state.pods.first { $0.node == "node1" })
        let routes = try Command.check("ip", ["-n", node1, "route", "show", "\(pod.ip)/32"])
        #expect(routes.contains("dev \(LabNaming.podVeth(pod, cni: .routed))"), "\(routes)")
        var port: UInt16 = 41000
        for row in Self.rows(mode) where Self.routedRows.contains(row.row) {
            port += 1
            try run(Self.routed(row), record: &record, naming: naming, sourcePort: port)
        }
    }

    @Test("§4 rows 1–4, 8–21, 23 and both LB modes", arguments: ProxyMode.allCases)
    func scenarios(mode: ProxyMode) throws {
        let naming = try LabNaming(lab: LabTestSupport.uniqueLabName(mode == .iptables ? "i" : "n"))
        let (objects, _) = try LabManifest.parse(ScenarioManifest.yaml, source: "scenarios")
        let state = try ClusterState.build(from: objects, nodeCount: 3)
        let srcip = try LabTestSupport.srcipExecutable()
        let started = Date()
        var record = try LabController.up(state: state, options: LabUpOptions(naming: naming, proxyMode: mode, srcipExecutable: srcip))
        var tornDown = false
        defer { if !tornDown { _ = try? LabController.down(naming: naming) } }
        print("[\(mode)] lab up in \(Int(Date().timeIntervalSince(started) * 1000)) ms")

        var port: UInt16 = 40000
        for row in Self.rows(mode) {
            port += 1
            try run(row, record: &record, naming: naming, sourcePort: port)
        }
        try loadBalancerModes(record: record, naming: naming, srcip: srcip)

        let pids = NamespaceProcesses.pids(in: record.namespaces)
        #expect(!pids.isEmpty)
        try LabController.down(naming: naming)
        tornDown = true
        #expect(NamespaceProcesses.namespaces(withPrefix: naming.prefix).isEmpty)
        #expect(pids.allSatisfy { !NamespaceProcesses.isAlive($0) })
        #expect(!FileManager.default.fileExists(atPath: naming.stateFile))
        #expect(!FileManager.default.fileExists(atPath: naming.runDirectory))
        print("[\(mode)] scenarios done in \(Int(Date().timeIntervalSince(started) * 1000)) ms")
    }

    /// Sends `row`'s request, checks the documented model and what the echo pod saw, and returns what was sent.
    @discardableResult
    func run(_ row: ScenarioRow, record: inout LabRecord, naming: LabNaming, sourcePort: UInt16) throws -> ScenarioProbe {
        let state = record.state
        let family = row.family
        func pod(_ name: String) throws -> LabPod { try #require(state.pods.first { $0.name == name }) }
        func of(_ ips: [IPAddress]) throws -> String { try #require(ips.first { IPFamily.of($0) == family }).description }
        func node(_ name: String) throws -> LabNode { try #require(state.nodes.first { $0.name == name }) }
        func service(_ name: String) throws -> Service { try #require(state.services.first { $0.name == name }) }

        let namespace: String
        let client: LabClient
        switch row.client {
        case let .pod(name): namespace = naming.podNamespace(try pod(name)); client = .pod(try pod(name))
        case let .host(name): namespace = naming.nodeNamespace(name); client = .host(try node(name))
        case .external: namespace = naming.clientNamespace; client = .external(LabAddressing.externalClient(family))
        }
        let dst: String, dport: UInt16, frontend: Frontend, svc: Service
        var entry: LabNode
        switch row.target {
        case let .clusterIP(name):
            svc = try service(name); dst = try of(svc.clusterIPs); dport = svc.ports[0].port; frontend = .clusterIP
            entry = try node(row.entry ?? "node1")
        case let .nodePort(name, n):
            svc = try service(name); dst = try of([try node(n).ip(family)].compactMap { $0 }); dport = svc.ports[0].nodePort!; frontend = .nodePort
            entry = try node(n)
        case let .loopbackNodePort(name):
            svc = try service(name); dst = "127.0.0.1"; dport = svc.ports[0].nodePort!; frontend = .nodePort
            entry = try node("node1")
        case let .loadBalancerIP(name):
            svc = try service(name); dst = try of(svc.loadBalancerIPs); dport = svc.ports[0].port; frontend = .loadBalancer
            entry = try node("node1")
        case let .externalIP(name):
            svc = try service(name); dst = try of(svc.externalIPs); dport = svc.ports[0].port; frontend = .externalIP
            entry = try node(row.entry ?? "node1")
        }
        switch client {
        case let .pod(p): entry = try node(p.node)
        case let .host(n): entry = n
        case .external: break
        }
        if let e = row.entry, e != record.entryNode { record = try LabRouting.setEntryNode(e, naming: naming) }

        let expectedText: String
        switch row.expect {
        case let .ip(ip): expectedText = ip
        case let .podIP(name): expectedText = try #require(try pod(name).ip(family)).description
        case .timeout: expectedText = "timeout (DROP)"
        case .refused: expectedText = "refused (REJECT)"
        }
        // The documented-expectation model must agree with this test's literal expectation…
        let backend = state.pods.first { p in svc.ports.flatMap(\.endpoints).contains { $0.ip == p.ip(family) } }
        let model = ScenarioExpectation.expect(service: svc, frontend: frontend, client: client, entry: entry, backend: backend,
                                               state: state, family: family)
        if case .loopbackNodePort = row.target, mode(of: record) == .nftables {} else {
            #expect(model.description == expectedText, "\(row): model says \(model)")
            #expect(model.row == row.row, "\(row): model cites row \(model.row)")
        }
        // …and the lab must do what it says.
        let timeout: Double = { if case .timeout = row.expect { return 1 } else { return 3 } }()
        let outcome = HTTPProbe.get(in: namespace, ip: dst, port: dport, sourcePort: sourcePort, timeout: timeout)
        switch row.expect {
        case .ip, .podIP: #expect(outcome.clientAddress == expectedText, "\(row) [\(record.proxyMode)]: got \(outcome)")
        case .timeout: #expect(outcome == .timeout, "\(row) [\(record.proxyMode)]: got \(outcome)")
        case .refused: #expect(outcome == .refused, "\(row) [\(record.proxyMode)]: got \(outcome)")
        }
        return ScenarioProbe(row: row, namespace: namespace, client: client, service: svc, frontend: frontend,
                             destination: dst, destinationPort: dport, sourcePort: sourcePort, entry: entry, outcome: outcome)
    }

    private func mode(of record: LabRecord) -> ProxyMode { record.proxyMode }

    /// The LB in front of the eTP Local Service, aimed at node2 (no endpoint): passthrough keeps the client IP and the
    /// health check moves the traffic to node1; the proxy LB shows its own address.
    private func loadBalancerModes(record: LabRecord, naming: LabNaming, srcip: String) throws {
        let local = try #require(record.state.services.first { $0.name == "local" })
        let vip = local.loadBalancerIPs[0].description
        let aimNode2 = LoadBalancerPlan.steeringPorts(nodeIndex: 2).lowerBound
        let passthrough = HTTPProbe.get(in: naming.clientNamespace, ip: vip, port: 80, sourcePort: aimNode2, timeout: 3)
        #expect(passthrough.clientAddress == "203.0.113.10", "passthrough LB: \(passthrough)")
        #expect(LabEntryTrace.loadBalancerNode(record: record, naming: naming, clientPort: aimNode2)?.name == "node1")
        let proxied = try LoadBalancer.switchMode(to: .proxy, naming: naming, srcip: srcip)
        let viaProxy = HTTPProbe.get(in: naming.clientNamespace, ip: vip, port: 80, sourcePort: aimNode2 + 1, timeout: 3)
        #expect(viaProxy.clientAddress == "192.168.10.2", "proxy LB: \(viaProxy)")
        #expect(LabEntryTrace.loadBalancerNode(record: proxied, naming: naming, clientPort: aimNode2 + 1)?.name == "node1")
    }
}
