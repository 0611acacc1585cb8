import Foundation
import SrcipCore
@testable import SrcipLabCluster
@testable import SrcipLabKubeProxy
@testable import SrcipLabWorkloads
@testable import SrcipLabNetwork
@testable import SrcipLabDemo
import SrcipSystem
import Testing

/// Pure parts of the lab: names, topology plan, load-balancer plan, expectations.
@Suite("Lab plans")
struct LabPlanTests {
    static func seedState() throws -> ClusterState {
        let (objects, _) = try LabManifest.parse(LabDemo.manifest(), source: "demo")
        return try ClusterState.build(from: objects)
    }

    @Test("lab names are validated and every namespace carries the lab prefix")
    func naming() throws {
        #expect(throws: LabError.self) { try LabNaming(lab: "Bad_Name") }
        #expect(throws: LabError.self) { try LabNaming(lab: "") }
        let naming = try LabNaming(lab: "a1")
        let topology = try LabTopology(state: Self.seedState(), naming: naming)
        #expect(topology.namespaces.allSatisfy { $0.hasPrefix("srcip-a1-") })
        #expect(Set(topology.namespaces).count == topology.namespaces.count)
        #expect(naming.stateFile == "/run/srcip/labs/a1.json")
    }

    @Test("topology: veths created inside namespaces, hairpin on pod ports, host-gw routes, router routes")
    func topology() throws {
        let state = try Self.seedState()
        let naming = try LabNaming(lab: "t")
        let topology = try LabTopology(state: state, naming: naming, entryNode: "node2")
        let veths = topology.rootBatch.filter { $0.hasPrefix("link add") }
        #expect(veths.allSatisfy { $0.contains(" netns srcip-t-") && $0.components(separatedBy: " netns ").count == 3 })
        // 3 nodes + router×2 + 3 pods
        #expect(veths.count == 3 + 2 + state.pods.count)
        let node1 = try #require(topology.namespaceBatches.first { $0.namespace == "srcip-t-node1" }).lines
        #expect(node1.contains("route add 10.244.2.0/24 via 192.168.10.12"))
        #expect(node1.contains("addr add 10.244.1.1/24 dev cni0"))
        #expect(node1.filter { $0.hasSuffix("hairpin on") }.count == state.pods.filter { $0.node == "node1" }.count)
        let router = try #require(topology.namespaceBatches.first { $0.namespace == "srcip-t-router" }).lines
        #expect(router.contains("route add 10.96.0.0/16 via 192.168.10.12"))
        let sysctls = try #require(topology.sysctls.first { $0.namespace == "srcip-t-node1" }).settings
        #expect(sysctls.contains("net.bridge.bridge-nf-call-iptables=1"))
        #expect(throws: LabError.self) { try LabTopology(state: state, naming: naming, entryNode: "node9") }
    }

    @Test("routed topology: no bridge, /32 route and proxy ARP per pod veth, pods on /32 behind a link-local gateway")
    func routedTopology() throws {
        var state = try Self.seedState()
        state.cni = .routed
        let naming = try LabNaming(lab: "t")
        let topology = try LabTopology(state: state, naming: naming)
        let pod = try #require(state.pods.first { $0.node == "node1" })
        let veth = LabNaming.podVeth(pod, cni: .routed)
        #expect(veth.hasPrefix("cali") && veth.count == 15)
        let node1 = try #require(topology.namespaceBatches.first { $0.namespace == "srcip-t-node1" }).lines
        #expect(!node1.contains { $0.contains("cni0") })
        #expect(node1.contains("route add \(pod.ip)/32 dev \(veth) scope link"))
        #expect(node1.contains("route add blackhole 10.244.1.0/24"))
        #expect(node1.contains("route add 10.244.2.0/24 via 192.168.10.12"))
        let sysctls = try #require(topology.sysctls.first { $0.namespace == "srcip-t-node1" }).settings
        #expect(sysctls.contains("net.ipv4.conf.\(veth).proxy_arp=1") && !sysctls.contains { $0.contains("bridge-nf") })
        let podLines = try #require(topology.namespaceBatches.first { $0.namespace == naming.podNamespace(pod) }).lines
        #expect(podLines.contains("addr add \(pod.ip)/32 dev eth0"))
        #expect(podLines.contains("route add default via 169.254.1.1 dev eth0"))
    }

    @Test("passthrough LB rules: steering per healthy node, round-robin, no SNAT, unhealthy nodes left out")
    func passthroughRules() throws {
        let state = try Self.seedState()
        let rules = LoadBalancerPlan.passthroughRules(state, healthy: [
            "default/loadbalancer": ["node1", "node2", "node3"], "default/loadbalancer-local": ["node1"],
        ])
        #expect(rules.contains("-A SRCIP-LB -d 198.51.100.10/32 -p tcp --dport 80 --sport 20200:20299 -j DNAT --to-destination 192.168.10.12:30081"))
        #expect(rules.contains("--every 3 --packet 0 -j DNAT --to-destination 192.168.10.11:30081"))
        #expect(!rules.contains("198.51.100.11/32 -p tcp --dport 80 --sport 20200:20299"))
        #expect(rules.contains("-A SRCIP-LB -d 198.51.100.11/32 -p tcp --dport 80 -j DNAT --to-destination 192.168.10.11:30083"))
        #expect(!rules.contains("MASQUERADE") && !rules.contains("SNAT"))
    }

    @Test("LB node choice: steering port wins when healthy, else round-robin over healthy nodes")
    func pick() throws {
        let nodes = try Self.seedState().nodes
        #expect(LoadBalancerPlan.pick(nodes: nodes, healthy: ["node1", "node2", "node3"], sourcePort: 20250, counter: 0)?.name == "node2")
        #expect(LoadBalancerPlan.pick(nodes: nodes, healthy: ["node1"], sourcePort: 20250, counter: 5)?.name == "node1")
        #expect(LoadBalancerPlan.pick(nodes: nodes, healthy: ["node1", "node3"], sourcePort: 40000, counter: 1)?.name == "node3")
        #expect(LoadBalancerPlan.pick(nodes: nodes, healthy: [], sourcePort: 20150, counter: 0) == nil)
    }

    @Test("expectations follow §4: SNAT address is cni0 for a local backend, node IP otherwise")
    func expectations() throws {
        let state = try Self.seedState()
        let svc = { (n: String) in state.services.first { $0.name == n }! }
        let node = { (n: String) in state.nodes.first { $0.name == n }! }
        let backend = state.pods.first { $0.name == "source-ip-app-0" }
        let client2 = state.pods.first { $0.name == "client-node2" }!
        let ext = LabClient.external(LabNaming.clientIP)
        #expect(ScenarioExpectation.expect(service: svc("clusterip"), frontend: .clusterIP, client: .pod(client2), entry: node("node2"),
                                           backend: backend, state: state) == .address(client2.ip, row: 1))
        #expect(ScenarioExpectation.expect(service: svc("nodeport"), frontend: .nodePort, client: ext, entry: node("node1"),
                                           backend: backend, state: state) == .address(IPAddress("10.244.1.1")!, row: 8))
        #expect(ScenarioExpectation.expect(service: svc("nodeport"), frontend: .nodePort, client: ext, entry: node("node3"),
                                           backend: backend, state: state) == .address(IPAddress("192.168.10.13")!, row: 8))
        #expect(ScenarioExpectation.expect(service: svc("nodeport-local"), frontend: .nodePort, client: ext, entry: node("node2"),
                                           backend: backend, state: state) == .dropped(row: 12))
        #expect(ScenarioExpectation.expect(service: svc("loadbalancer-local"), frontend: .loadBalancer, client: .pod(client2),
                                           entry: node("node2"), backend: backend, state: state) == .address(client2.ip, row: 19))
    }
}
