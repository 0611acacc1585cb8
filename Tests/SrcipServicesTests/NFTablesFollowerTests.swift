import Foundation
import SrcipLabCluster
import SrcipLabKubeProxy
import SrcipSystem
import Testing
@testable import SrcipServices

/// Privileged: the upstream nft fixture (every kube-proxy expression: LB source ranges, affinity, local policies,
/// no-endpoint maps, fib, numgen vmaps) followed from nf_tables notifications, then partly removed again; after each
/// step the followed Services, and those of a fresh netlink dump, must equal a full `nft -j list ruleset` read.
@Suite(.serialized, .privileged, .kubeProxyFixtures)
struct NFTablesFollowerTests {
    /// Applies what the notification socket has queued.
    static func drain(_ socket: NFTablesNotifications, into follower: inout NFTablesFollower) {
        let changes = socket.drain { follower.feed($0) }
        #expect(!changes.unknown)
    }

    static func truth(_ ns: String) throws -> DiscoveredServices {
        try NFTablesRulesParser.parse(NetnsLab.exec(ns, ["nft", "-j", "list", "ruleset"]))
    }

    static func load(_ ns: String, _ script: String) throws {
        try Command.check("ip", ["netns", "exec", ns, "nft", "-f", "-"], input: script)
    }

    @Test func followedFixtureEqualsAFullRead() throws {
        try NetnsLab.with { ns in
            try Self.load(ns, "add table ip kube-proxy\n")
            let (socket, dumper) = try NetworkNamespace.run(named: ns) { (try NFTablesNotifications(), try NFTablesNetlinkDumper()) }
            var follower = NFTablesFollower()
            try follower.seed(dumper)
            #expect(follower.isUsable)

            let fixture = try NetnsLab.loadableNFTFixture()
            try Self.load(ns, fixture)
            Self.drain(socket, into: &follower)
            #expect(follower.isUsable, "\(follower.staleReason ?? "")")
            let truth = try Self.truth(ns)
            #expect(truth.services.count == 6)
            let followed = try follower.services()
            #expect(followed.services == truth.services)
            #expect(followed.clusterCIDRs == truth.clusterCIDRs)

            // Remove every other element and the rules of every other chain, as a kube-proxy partial sync would.
            let lines = fixture.split(separator: "\n").map(String.init)
            var kept: [String] = []
            var dropRules: Set<String> = []
            for (i, l) in lines.enumerated() {
                let w = l.split(separator: " ")
                if w.count > 4, w[1] == "chain", i % 2 == 0 { dropRules.insert(String(w[4])) }
                if w.count > 4, w[1] == "element", i % 2 == 0 { continue }
                if w.count > 4, w[1] == "rule", dropRules.contains(String(w[4])) { continue }
                kept.append(l)
            }
            try Self.load(ns, KubeProxyPartialSync.nftables(old: lines, new: kept))
            Self.drain(socket, into: &follower)
            #expect(follower.isUsable, "\(follower.staleReason ?? "")")
            let truth2 = try Self.truth(ns)
            #expect(truth2 != truth)
            #expect(try follower.services().services == truth2.services)

            #expect(follower.fullTableReads == 0, "every read went partition by partition")

            var fresh = NFTablesFollower()
            try fresh.seed(dumper)
            #expect(try fresh.services().services == truth2.services)
        }
    }

    static func dualStack(pods: Int, services: [String]) throws -> ClusterState {
        var yaml = ""
        for i in 0..<pods {
            yaml += "---\napiVersion: v1\nkind: Pod\nmetadata: {name: web\(i), labels: {app: web}}\n"
                + "spec: {nodeName: node1, containers: [{name: c, image: echo, ports: [{containerPort: 8080}]}]}\n"
        }
        for s in services {
            yaml += "---\napiVersion: v1\nkind: Service\nmetadata: {name: \(s)}\nspec: {type: NodePort, ipFamilyPolicy: RequireDualStack, "
                + "selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}\n"
        }
        return try ClusterState.build(from: LabManifest.parse(yaml, source: "t").objects, nodeCount: 2, ipFamily: .dual)
    }

    /// Dual stack: both `ip` and `ip6 kube-proxy` tables, dumped, then changed by a partial sync of each family.
    @Test func dualStackTablesAreFollowed() throws {
        try NetnsLab.with { ns in
            let a = try Self.dualStack(pods: 1, services: ["s"]), b = try Self.dualStack(pods: 3, services: ["s", "t"])
            let node = a.nodes[0]
            for family in [IPFamily.ipv4, .ipv6] { try Self.load(ns, KubeProxyNFTables.render(a, node: node, family: family)) }
            let (socket, dumper) = try NetworkNamespace.run(named: ns) { (try NFTablesNotifications(), try NFTablesNetlinkDumper()) }
            var follower = NFTablesFollower()
            try follower.seed(dumper)
            let truth = try Self.truth(ns)
            #expect(truth.services.count == 1 && truth.services[0].secondaryClusterIP != nil)
            #expect(try follower.services().services == truth.services)
            for family in [IPFamily.ipv4, .ipv6] {
                try Self.load(ns, KubeProxyPartialSync.nftables(old: KubeProxyNFTables.transaction(a, node: node, family: family),
                                                                new: KubeProxyNFTables.transaction(b, node: node, family: family)))
            }
            Self.drain(socket, into: &follower)
            let truth2 = try Self.truth(ns)
            #expect(truth2.services.count == 2 && truth2.services.allSatisfy { $0.ports[0].endpoints.count == 6 })
            let followed = try follower.services()
            #expect(followed.services == truth2.services)
            #expect(followed.clusterCIDRs == truth2.clusterCIDRs)
            #expect(follower.fullTableReads == 0)
        }
    }

    /// Re-creating the table, and expressions the translation does not know, make the follower stale.
    @Test func unknownChangesMakeItStale() throws {
        try NetnsLab.with { ns in
            try Self.load(ns, "add table ip kube-proxy\nadd chain ip kube-proxy c\n")
            let (socket, dumper) = try NetworkNamespace.run(named: ns) { (try NFTablesNotifications(), try NFTablesNetlinkDumper()) }
            var follower = NFTablesFollower()
            try follower.seed(dumper)
            try Self.load(ns, "add rule ip kube-proxy c ip saddr 10.0.0.1 accept\n")
            Self.drain(socket, into: &follower)
            #expect(follower.isUsable)
            try Self.load(ns, "add rule ip kube-proxy c limit rate 10/second accept\n")
            Self.drain(socket, into: &follower)
            #expect(follower.staleReason?.contains("limit") == true)

            try follower.seed(dumper)
            #expect(!follower.isUsable, "a dump with an unknown expression is not usable either")
            try Self.load(ns, "delete table ip kube-proxy\nadd table ip kube-proxy\n")
            try follower.seed(dumper)
            #expect(follower.isUsable)
            try Self.load(ns, "delete table ip kube-proxy\nadd table ip kube-proxy\n")
            Self.drain(socket, into: &follower)
            #expect(follower.staleReason?.contains("created or deleted") == true)
        }
    }
}
