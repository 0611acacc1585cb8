import Foundation
import SrcipCore
import SrcipLabCluster
import SrcipLabKubeProxy
import SrcipLabNetwork
import SrcipServices
import SrcipSystem

/// The cost of following Services: a node namespace with kube-proxy's rules for `services` Services (rendered by
/// the lab), changed once a second (one Service added or removed, loaded as kube-proxy's partial sync), while a
/// `CatalogWatcher` (`--services auto`) re-reads them. CPU is this process's (the watcher thread: netlink, parsing,
/// diffing) plus its children's (`nft -j list ruleset`, `iptables-save`), measured from each load until its refresh.
enum CatalogRefreshBench {
    struct Result {
        var mode: ProxyMode
        var services: Int
        /// CPU seconds per refresh, each change.
        var cpuPerRefresh: [Double]
        /// Seconds from the end of a load to its refresh.
        var latency: [Double]
        /// CPU seconds per second with the rules unchanged (polling, legacy check).
        var idleCPUPerSecond: Double
        var reads: Int
        /// Of `reads`, those that listed only the changed chains.
        var incrementalReads = 0
        /// Of `incrementalReads`, those that re-assembled only the Services the changed chains touch.
        var partialReads = 0
        /// Refreshes whose Services differed from a full read done right after them (must be 0).
        var mismatches = 0
        /// CPU seconds of one rule dump by the tool alone, and of one whole discovery (dump + parse) of this mode.
        var dumpCPU: Double = 0
        var discoverCPU: Double = 0

        /// % of one core at one change per second.
        var percentOfCore: Double { (cpuPerRefresh.sorted()[cpuPerRefresh.count / 2]) * 100 }
    }

    static func manifest(services n: Int) -> String {
        var text = """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web}
            spec:
              replicas: 2
              selector: {matchLabels: {app: web}}
              template:
                metadata: {labels: {app: web}}
                spec:
                  containers: [{name: web, image: echo, ports: [{containerPort: 8080}]}]

            """
        for i in 0..<n {
            text += "---\napiVersion: v1\nkind: Service\nmetadata: {name: s\(i)}\nspec:\n  selector: {app: web}\n"
                + "  ports: [{port: 80, targetPort: 8080}]\n"
        }
        return text
    }

    static func cpuSeconds() -> Double {
        var me = rusage(), kids = rusage()
        getrusage(RUSAGE_SELF.rawValue, &me)
        getrusage(RUSAGE_CHILDREN.rawValue, &kids)
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return s(me.ru_utime) + s(me.ru_stime) + s(kids.ru_utime) + s(kids.ru_stime)
    }

    static func run(services: Int, changes: Int, modes: [ProxyMode] = ProxyMode.allCases) async throws -> [Result] {
        let (objects, _) = try LabManifest.parse(manifest(services: services), source: "bench")
        let full = try ClusterState.build(from: objects, nodeCount: 1)
        let (fewer, _) = try LabManifest.parse(manifest(services: services - 1), source: "bench")
        let smaller = try ClusterState.build(from: fewer, nodeCount: 1)
        var results: [Result] = []
        for mode in modes {
            let ns = "srcip-bench-cat\(getpid() % 100_000)"
            try Command.check("ip", ["netns", "add", ns])
            defer { _ = try? Command.run("ip", ["netns", "del", ns]) }
            let (shrink, grow) = partialSyncs(from: full, to: smaller, mode: mode)
            for (tool, args, input) in KubeProxyLoader.rulesets(full, node: full.nodes[0], mode: mode) {
                try Command.check("ip", ["netns", "exec", ns, tool] + args, input: input)
            }
            if let dir = ProcessInfo.processInfo.environment["SRCIP_BENCH_WRITE_RULES"] {
                try shrink.input.write(toFile: "\(dir)/\(mode.rawValue)-shrink.txt", atomically: true, encoding: .utf8)
                try grow.input.write(toFile: "\(dir)/\(mode.rawValue)-grow.txt", atomically: true, encoding: .utf8)
            }
            func load(_ sync: PartialSync) throws {
                try Command.check("ip", ["netns", "exec", ns, sync.tool] + sync.args, input: sync.input)
            }
            let initial = try ServiceDiscovery.discover(.auto, netns: ns)
            let watcher = try CatalogWatcher(options: CatalogWatcher.Options(source: .auto, netns: ns), initial: initial)
            defer { watcher.stop() }
            var events = watcher.events.makeAsyncIterator()

            var r = Result(mode: mode, services: initial.services.count, cpuPerRefresh: [], latency: [], idleCPUPerSecond: 0, reads: 0)
            let idle0 = cpuSeconds()
            try await Task.sleep(for: .seconds(3))
            r.idleCPUPerSecond = (cpuSeconds() - idle0) / 3
            for i in 0..<changes {
                let started = Date()
                try load(i % 2 == 0 ? shrink : grow)
                let c0 = cpuSeconds(), t0 = Date()
                var refreshed: DiscoveredServices
                while true {
                    guard let e = await events.next() else { throw BenchError.watcherEnded }
                    if case .refreshed(let f) = e { refreshed = f.services; break }
                }
                r.cpuPerRefresh.append(cpuSeconds() - c0)
                r.latency.append(Date().timeIntervalSince(t0))
                let truth = try ServiceDiscovery.discover(mode == .nftables ? .nftables : .iptables, netns: ns)
                if truth.services != refreshed.services || truth.clusterCIDRs != refreshed.clusterCIDRs { r.mismatches += 1 }
                let rest = 1 - Date().timeIntervalSince(started)
                if rest > 0 { try await Task.sleep(for: .seconds(rest)) }
            }
            r.reads = watcher.readCount
            r.incrementalReads = watcher.incrementalReadCount
            r.partialReads = watcher.partialReadCount
            watcher.stop()
            var c = cpuSeconds()
            if mode == .nftables {
                _ = try Command.check("ip", ["netns", "exec", ns, "nft", "-j", "list", "ruleset"])
            } else {
                _ = try Command.check("ip", ["netns", "exec", ns, "iptables-save", "-t", "nat"])
                _ = try Command.check("ip", ["netns", "exec", ns, "iptables-save", "-t", "filter"])
            }
            r.dumpCPU = cpuSeconds() - c
            c = cpuSeconds()
            _ = try ServiceDiscovery.discover(mode == .nftables ? .nftables : .iptables, netns: ns)
            r.discoverCPU = cpuSeconds() - c
            results.append(r)
        }
        return results
    }

    /// One load of kube-proxy's partial sync: the tool, its arguments and its input.
    struct PartialSync {
        var tool: String
        var args: [String]
        var input: String
    }

    /// The partial syncs kube-proxy writes when a Service goes away (`a` → `b`) and comes back (`b` → `a`).
    static func partialSyncs(from a: ClusterState, to b: ClusterState, mode: ProxyMode) -> (PartialSync, PartialSync) {
        let node = a.nodes[0]
        switch mode {
        case .iptables:
            let ra = KubeProxyIPTables.render(a, node: node, family: .ipv4), rb = KubeProxyIPTables.render(b, node: node, family: .ipv4)
            return (PartialSync(tool: "iptables-restore", args: ["--noflush"], input: KubeProxyPartialSync.iptables(old: ra, new: rb)),
                    PartialSync(tool: "iptables-restore", args: ["--noflush"], input: KubeProxyPartialSync.iptables(old: rb, new: ra)))
        case .nftables:
            let ta = KubeProxyNFTables.transaction(a, node: node), tb = KubeProxyNFTables.transaction(b, node: node)
            return (PartialSync(tool: "nft", args: ["-f", "-"], input: KubeProxyPartialSync.nftables(old: ta, new: tb)),
                    PartialSync(tool: "nft", args: ["-f", "-"], input: KubeProxyPartialSync.nftables(old: tb, new: ta)))
        }
    }

    enum BenchError: Error { case watcherEnded }
}
