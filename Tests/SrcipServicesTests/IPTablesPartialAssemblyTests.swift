import SrcipCore
import SrcipLabCluster
import SrcipLabKubeProxy
import Testing
@testable import SrcipServices

/// `IPTablesServiceIndex` re-assembles only the Services whose chains changed; after every step of a sequence of
/// kube-proxy renders (Services added and removed, endpoints 0 → 3 → 0, ClusterIP → LoadBalancer with Local
/// policies, source ranges, affinity and external IPs, and back) its catalog must equal a full interpretation.
@Suite struct IPTablesPartialAssemblyTests {
    /// Service `name`, variant 0 (ClusterIP), 1 (LoadBalancer, eTP/iTP Local, ranges, affinity, external IP) or 2 (NodePort).
    static func service(_ name: String, variant: Int) -> String {
        var spec = "  selector: {app: web}\n"
        // (The interpreter warns about a UDP port of a Local LoadBalancer: its health check rule is TCP.)
        spec += variant == 1 ? "  ports: [{name: http, port: 80, targetPort: 8080}, {name: https, port: 443, targetPort: 8080}]\n"
            : "  ports: [{name: http, port: 80, targetPort: 8080}, {name: dns, protocol: UDP, port: 53, targetPort: 8080}]\n"
        switch variant {
        case 1:
            spec += "  type: LoadBalancer\n  externalTrafficPolicy: Local\n  internalTrafficPolicy: Local\n"
                + "  loadBalancerSourceRanges: [203.0.113.0/24]\n  externalIPs: [192.0.2.77]\n"
                + "  sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}\n"
        case 2: spec += "  type: NodePort\n"
        default: break
        }
        return "---\napiVersion: v1\nkind: Service\nmetadata: {name: \(name)}\nspec:\n" + spec
    }

    static func rules(replicas: Int, services: [(String, Int)]) throws -> String {
        var text = TestManifests.webDeployment(replicas: replicas)
        for (name, variant) in services { text += service(name, variant: variant) }
        let state = try ClusterState.build(from: LabManifest.parse(text, source: "test").objects, nodeCount: 2)
        return KubeProxyIPTables.render(state, node: state.nodes[0], family: .ipv4)
    }

    /// The chains whose rules differ between two rule sets (or that exist in one only), with their rules in `old`.
    static func changes(_ old: [String: IPTablesTable], _ new: [String: IPTablesTable]) -> [IPTablesServiceIndex.Change] {
        var out: [IPTablesServiceIndex.Change] = []
        for table in ["filter", "nat"] {
            let a = old[table] ?? IPTablesTable(name: table), b = new[table] ?? IPTablesTable(name: table)
            for chain in Set(a.chains.keys).union(b.chains.keys).sorted()
            where a.chains[chain] == nil || b.chains[chain] == nil || a.rules(chain).map(\.text) != b.rules(chain).map(\.text) {
                out.append(IPTablesServiceIndex.Change(table: table, chain: chain, old: a.chains[chain] == nil ? nil : a.rules(chain)))
            }
        }
        return out
    }

    @Test func partialReassemblyEqualsFullInterpretation() throws {
        let steps: [(Int, [(String, Int)])] = [
            (2, [("a", 0), ("b", 0), ("c", 2)]),
            (2, [("b", 0), ("c", 2)]),                      // a removed
            (0, [("b", 0), ("c", 2)]),                      // no endpoints: filter-table rules only
            (3, [("b", 0), ("c", 2)]),
            (3, [("b", 1), ("c", 2), ("d", 0)]),            // b becomes a Local LoadBalancer; d added
            (1, [("b", 1), ("c", 0), ("d", 0)]),
            (0, [("b", 1), ("c", 0), ("d", 0)]),
            (2, [("b", 0), ("d", 0), ("e", 1)]),
            (2, [("b", 0), ("d", 0), ("e", 1), ("f", 0)]),
        ]
        var sets = try IPTablesSaveReader.read(Self.rules(replicas: 1, services: [("a", 0)]), file: "t")
        var (_, kept) = try IPTablesRulesParser.interpretIndexed(sets, file: "t")
        for (replicas, services) in steps {
            let next = try IPTablesSaveReader.read(Self.rules(replicas: replicas, services: services), file: "t")
            let changes = Self.changes(sets[0], next[0])
            #expect(!changes.isEmpty)
            var index = try #require(kept, "the previous step left no index")
            let partial = index.reassemble(nat: next[0]["nat"], filter: next[0]["filter"], changes: changes)
            let (full, fullIndex) = try IPTablesRulesParser.interpretIndexed(next, file: "t")
            #expect(full.services.map(\.name) == services.map(\.0).sorted())
            #expect(partial == full, "after \(services) with \(replicas) endpoints")
            #expect(index.services == full.services)
            #expect(fullIndex != nil)
            kept = partial == nil ? fullIndex : index
            sets = next
        }
    }

    /// Services whose interpretation warns leave no index; a change that would warn is not re-assembled in part.
    @Test func warningsMeanFullInterpretation() throws {
        let udpLB = "---\napiVersion: v1\nkind: Service\nmetadata: {name: u}\nspec:\n  selector: {app: web}\n  type: LoadBalancer\n"
            + "  externalTrafficPolicy: Local\n  ports: [{name: dns, protocol: UDP, port: 53, targetPort: 8080}]\n"
        let manifest = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 1\n"
            + "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n"
            + "      containers: [{name: web, image: echo, ports: [{containerPort: 8080}]}]\n" + udpLB
        let state = try ClusterState.build(from: LabManifest.parse(manifest, source: "test").objects, nodeCount: 1)
        let withWarning = try IPTablesSaveReader.read(KubeProxyIPTables.render(state, node: state.nodes[0], family: .ipv4), file: "t")
        let (full, noIndex) = try IPTablesRulesParser.interpretIndexed(withWarning, file: "t")
        #expect(!full.warnings.isEmpty && noIndex == nil)
        let plain = try IPTablesSaveReader.read(Self.rules(replicas: 1, services: [("a", 0)]), file: "t")
        var index = try #require(IPTablesRulesParser.interpretIndexed(plain, file: "t").index)
        #expect(index.reassemble(nat: withWarning[0]["nat"], filter: withWarning[0]["filter"],
                                 changes: Self.changes(plain[0], withWarning[0])) == nil)
    }

    /// A change in a chain's middle touches the Services there only, whatever their neighbours.
    @Test func servicesChangedComparesTheMiddleOnly() throws {
        func rules(_ lines: [String]) throws -> [IPTablesRule] {
            try lines.enumerated().map { try IPTablesRule(table: "nat", text: $1[...], line: $0 + 1, file: "t") }
        }
        func frontend(_ s: String, _ ip: String) -> String {
            "KUBE-SERVICES -d \(ip)/32 -p tcp -m comment --comment \"ns/\(s):http cluster IP\" -m tcp --dport 80 -j KUBE-SVC-\(s.uppercased())"
        }
        let old = try rules([frontend("a", "10.0.0.1"), frontend("b", "10.0.0.2"), frontend("c", "10.0.0.3"), frontend("a", "10.0.0.9")])
        let removed = try rules([frontend("a", "10.0.0.1"), frontend("c", "10.0.0.3"), frontend("a", "10.0.0.9")])
        #expect(IPTablesServiceIndex.servicesChanged(old, removed) == ["ns/b"])
        let moved = try rules([frontend("a", "10.0.0.9"), frontend("b", "10.0.0.2"), frontend("c", "10.0.0.3"), frontend("a", "10.0.0.1")])
        #expect(IPTablesServiceIndex.servicesChanged(old, moved) == ["ns/a"])
        #expect(IPTablesServiceIndex.servicesChanged(old, old).isEmpty)
        #expect(try rules(["KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE\" -j KUBE-NODEPORTS"])[0].serviceID == "kubernetes")
    }
}
