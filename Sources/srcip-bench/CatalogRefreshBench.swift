import Foundation
import SrcipCore
import SrcipLabCluster
import SrcipLabNetwork
import SrcipServices
import SrcipSystem

/// The cost of following Services: a node namespace with kube-proxy's rules for `services` Services (rendered by
/// the lab), changed once a second (one Service added or removed, loaded the way kube-proxy does), while a
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

    static func run(services: Int, changes: Int) async throws -> [Result] {
        let (objects, _) = try LabManifest.parse(manifest(services: services), source: "bench")
        let full = try ClusterState.build(from: objects, nodeCount: 1)
        let (fewer, _) = try LabManifest.parse(manifest(services: services - 1), source: "bench")
        let smaller = try ClusterState.build(from: fewer, nodeCount: 1)
        var results: [Result] = []
        for mode in ProxyMode.allCases {
            let ns = "srcip-bench-cat\(getpid() % 100_000)"
            try Command.check("ip", ["netns", "add", ns])
            defer { _ = try? Command.run("ip", ["netns", "del", ns]) }
            func load(_ state: ClusterState) throws {
                for (tool, args, input) in KubeProxyLoader.rulesets(state, node: state.nodes[0], mode: mode) {
                    try Command.check("ip", ["netns", "exec", ns, tool] + args, input: input)
                }
            }
            try load(full)
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
                try load(i % 2 == 0 ? smaller : full)
                let c0 = cpuSeconds(), t0 = Date()
                while true {
                    guard let e = await events.next() else { throw BenchError.watcherEnded }
                    if case .refreshed = e { break }
                }
                r.cpuPerRefresh.append(cpuSeconds() - c0)
                r.latency.append(Date().timeIntervalSince(t0))
                let rest = 1 - Date().timeIntervalSince(started)
                if rest > 0 { try await Task.sleep(for: .seconds(rest)) }
            }
            r.reads = watcher.readCount
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

    enum BenchError: Error { case watcherEnded }
}
