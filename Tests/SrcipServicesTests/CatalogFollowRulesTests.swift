import Foundation
import SrcipCore
import SrcipLabCluster
import SrcipLabKubeProxy
import SrcipLabNetwork
import SrcipSystem
import Synchronization
import Testing
@testable import SrcipServices

/// Privileged: a `CatalogWatcher` on a node namespace whose kube-proxy rules go through Service add/delete and
/// endpoints 0 → 3 → 0, loaded as kube-proxy's partial syncs (and one full resync), in both proxy modes. After every
/// step the followed catalog must equal a fresh full read; in iptables mode (iptables-nft) the steps must have been
/// followed chain by chain, re-assembling only the Services the changed chains touch; in nftables mode from the
/// notifications alone.
@Suite(.serialized, .privileged)
struct CatalogFollowRulesTests {
    static func manifest(replicas: Int, services: [String]) -> String {
        var text = TestManifests.webDeployment(replicas: replicas)
        for s in services {
            text += "---\napiVersion: v1\nkind: Service\nmetadata: {name: \(s)}\nspec:\n  type: NodePort\n  selector: {app: web}\n"
                + "  ports: [{port: 80, targetPort: 8080}]\n"
        }
        return text
    }

    static func state(replicas: Int, services: [String]) throws -> ClusterState {
        try ClusterState.build(from: LabManifest.parse(manifest(replicas: replicas, services: services), source: "test").objects, nodeCount: 1)
    }

    /// What one step loads: kube-proxy's partial sync from the previous state, or its full resync.
    static func load(_ old: ClusterState, _ new: ClusterState, mode: ProxyMode, full: Bool, ns: String) throws {
        let node = new.nodes[0]
        switch (mode, full) {
        case (_, true):
            for (tool, args, input) in KubeProxyLoader.rulesets(new, node: node, mode: mode) {
                try Command.check("ip", ["netns", "exec", ns, tool] + args, input: input)
            }
        case (.iptables, false):
            let input = KubeProxyPartialSync.iptables(old: KubeProxyIPTables.render(old, node: node, family: .ipv4),
                                                      new: KubeProxyIPTables.render(new, node: node, family: .ipv4))
            try Command.check("ip", ["netns", "exec", ns, "iptables-restore", "--noflush"], input: input)
        case (.nftables, false):
            let input = KubeProxyPartialSync.nftables(old: KubeProxyNFTables.transaction(old, node: node),
                                                      new: KubeProxyNFTables.transaction(new, node: node))
            try Command.check("ip", ["netns", "exec", ns, "nft", "-f", "-"], input: input)
        }
    }

    @Test("the followed catalog equals a full read after every change", arguments: ProxyMode.allCases)
    func followedEqualsFullRead(mode: ProxyMode) async throws {
        let ns = "srcip-follow-\(getpid())-\(UInt32.random(in: 0..<1_000_000))"
        try Command.check("ip", ["netns", "add", ns])
        defer { _ = try? Command.run("ip", ["netns", "del", ns]) }
        // (replicas, Services, full resync?)
        let steps: [(Int, [String], Bool)] = [(2, ["a", "b"], false), (2, ["b"], false), (0, ["b"], false), (3, ["b"], false),
                                              (3, ["b", "c"], true), (0, ["b", "c"], false), (2, ["c"], false),
                                              (2, ["c", "d"], false), (2, ["c"], false)]
        var current = try Self.state(replicas: 2, services: ["a"])
        try Self.load(current, current, mode: mode, full: true, ns: ns)
        let source: ServiceSource = mode == .iptables ? .iptables : .nftables
        let initial = try ServiceDiscovery.discover(source, netns: ns)
        #expect(initial.services.map(\.name) == ["a"])
        var options = CatalogWatcher.Options(source: source, netns: ns)
        options.minIntervalNs = 50_000_000
        options.quietNs = 100_000_000
        let watcher = try CatalogWatcher(options: options, initial: initial)
        defer { watcher.stop() }
        let latest = Mutex<DiscoveredServices>(initial)
        let consumer = Task {
            for await e in watcher.events { if case .refreshed(let r) = e { latest.withLock { $0 = r.services } } }
        }
        defer { consumer.cancel() }

        var listedPerStep: [Int] = []
        for (replicas, services, full) in steps {
            let listedBefore = watcher.listedChainCount
            let next = try Self.state(replicas: replicas, services: services)
            try Self.load(current, next, mode: mode, full: full, ns: ns)
            current = next
            let truth = try ServiceDiscovery.discover(source, netns: ns)
            #expect(truth.services.map(\.name) == services)
            #expect(truth.services.allSatisfy { $0.ports.allSatisfy { $0.endpoints.count == replicas } })
            let deadline = Date().addingTimeInterval(20)
            var followed = latest.withLock { $0 }
            while Date() < deadline, followed.services != truth.services || followed.clusterCIDRs != truth.clusterCIDRs {
                try await Task.sleep(for: .milliseconds(50))
                followed = latest.withLock { $0 }
            }
            #expect(followed.services == truth.services, "after \(services) with \(replicas) endpoints (\(mode))")
            #expect(followed.clusterCIDRs == truth.clusterCIDRs)
            listedPerStep.append(watcher.listedChainCount - listedBefore)
        }
        if mode == .nftables || (try? Command.check("iptables", ["--version"]))?.contains("nf_tables") == true {
            // The first read builds the kept tables; every later one lists only the chains the notifications named
            // (iptables-nft) or applies the notifications without running `nft` (nftables mode; its full resync
            // deletes and re-creates the table, which is read in full).
            let fullReads = mode == .nftables ? 2 : 1
            #expect(watcher.readCount >= steps.count && watcher.readCount - watcher.incrementalReadCount == fullReads,
                    "reads: \(watcher.readCount), chain by chain: \(watcher.incrementalReadCount)")
            if mode == .iptables {
                // …and re-assembles only the Services those chains touch (every step after the first changes some).
                #expect(watcher.partialReadCount >= steps.count - 1, "partial re-assemblies: \(watcher.partialReadCount)")
                // Chains are listed when first rewritten (their rules' keys are learned then); adding Service d and
                // removing it at the end need no listing: its chains are created with rules `IPTablesRuleText`
                // prints, or deleted, and the flushed and refilled KUBE-SERVICES, KUBE-NODEPORTS, KUBE-MARK-MASQ…
                // are applied from their notifications.
                #expect(listedPerStep[1] > 0 && listedPerStep[7] == 0 && listedPerStep.last == 0, "chains listed per step: \(listedPerStep)")
            }
        }
    }

    /// One NEWRULE and one DELCHAIN message, as the kernel sends them, name their chains; a NEWCHAIN after the
    /// DELCHAIN revives the chain; an unknown message type makes the batch `unknown`.
    @Test func notificationsNameTheirChains() {
        func attribute(_ type: UInt16, _ s: String) -> [UInt8] {
            let payload = Array(s.utf8) + [0]
            var a = withUnsafeBytes(of: UInt16(4 + payload.count)) { Array($0) } + withUnsafeBytes(of: type) { Array($0) } + payload
            while a.count % 4 != 0 { a.append(0) }
            return a
        }
        func message(_ kind: UInt16, family: UInt8, _ attrs: [UInt8]) -> [UInt8] {
            let body: [UInt8] = [family, 0, 0, 0] + attrs
            let header = withUnsafeBytes(of: UInt32(16 + body.count)) { Array($0) } + withUnsafeBytes(of: UInt16(10 << 8) | kind) { Array($0) }
                + [UInt8](repeating: 0, count: 10)
            return header + body
        }
        let rule = message(6, family: 2, attribute(1, "nat") + attribute(2, "KUBE-SERVICES") + attribute(4, "\u{1}\u{2}"))
        let delete = message(5, family: 10, attribute(1, "filter") + attribute(2, "xx") + attribute(3, "KUBE-SEP-X"))
        var c = NFTablesChanges()
        (rule + delete).withUnsafeBytes { c.decode($0) }
        let sep = NFTablesChanges.Object(family: 10, table: "filter", name: "KUBE-SEP-X")
        #expect(c.chains == [NFTablesChanges.Object(family: 2, table: "nat", name: "KUBE-SERVICES"), sep])
        #expect(c.deletedChains == [sep] && !c.unknown)
        var revived = NFTablesChanges()
        message(3, family: 10, attribute(1, "filter") + attribute(3, "KUBE-SEP-X")).withUnsafeBytes { revived.decode($0) }
        c.formUnion(revived)
        #expect(c.deletedChains.isEmpty && c.chains.contains(sep))
        var odd = NFTablesChanges()
        message(99, family: 2, []).withUnsafeBytes { odd.decode($0) }
        #expect(odd.unknown)
    }
}
