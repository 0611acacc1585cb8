import Foundation
import SrcipCore
import SrcipLabCluster
import SrcipLabKubeProxy
import SrcipLabWorkloads
import SrcipSystem
#if canImport(Glibc)
import Glibc
#endif

/// Options of `lab up`.
public struct LabUpOptions: Sendable {
    public var naming: LabNaming
    public var proxyMode: ProxyMode
    public var loadBalancerMode: LoadBalancerMode
    /// The manifest text, recorded in the state file.
    public var manifest: String?
    /// The objects the state was built from, recorded so that `lab apply`/`delete`/`scale` can edit them.
    public var objects: ManifestObjects?
    /// Node that receives routed ClusterIP/externalIP traffic from the router (default: the first node).
    public var entryNode: String?
    /// Path of the srcip executable used to start the lab's daemons.
    public var srcipExecutable: String

    public init(naming: LabNaming, proxyMode: ProxyMode = .iptables, loadBalancerMode: LoadBalancerMode = .passthrough,
                manifest: String? = nil, objects: ManifestObjects? = nil, entryNode: String? = nil,
                srcipExecutable: String = Command.selfExecutable()) {
        self.naming = naming
        self.objects = objects
        self.proxyMode = proxyMode
        self.loadBalancerMode = loadBalancerMode
        self.manifest = manifest
        self.entryNode = entryNode
        self.srcipExecutable = srcipExecutable
    }
}

/// What `lab down` removed.
public struct LabTeardownReport: Sendable {
    public var namespaces: [String]
    public var killedProcesses: Int
    public var stateFileRemoved: Bool
}

/// Brings a lab up and down: namespaces and links, sysctls, kube-proxy rules, echo pods, health checks, load balancer.
public enum LabController {
    /// Root and the needed tools, or a typed error naming what to install.
    public static func preflight(proxyMode: ProxyMode) throws {
        guard geteuid() == 0 else { throw LabError.notRoot }
        _ = try Command.require("ip")
        _ = try Command.require("iptables-restore")
        _ = try Command.require("ip6tables-restore")
        if proxyMode == .nftables { _ = try Command.require("nft") }
    }

    /// Creates the lab described by `state`. On any failure everything created so far is removed again.
    @discardableResult
    public static func up(state: ClusterState, options: LabUpOptions) throws -> LabRecord {
        let naming = options.naming
        try preflight(proxyMode: options.proxyMode)
        if FileManager.default.fileExists(atPath: naming.stateFile) || !NamespaceProcesses.namespaces(withPrefix: naming.prefix).isEmpty {
            throw LabError.labExists(name: naming.lab, stateFile: naming.stateFile)
        }
        let topology = try LabTopology(state: state, naming: naming, entryNode: options.entryNode)
        var record = LabRecord(lab: naming.lab, proxyMode: options.proxyMode, loadBalancerMode: options.loadBalancerMode,
                               manifest: options.manifest, objects: options.objects, state: state,
                               entryNode: try LabTopology.entryNode(options.entryNode, in: state).name,
                               namespaces: topology.namespaces, daemons: [], complete: false, createdAt: Date())
        try record.save(naming)
        let timing = LabTiming()
        do {
            try build(topology, timing: timing)
            try KubeProxyLoader.load(record, naming: naming)
            timing.mark("kube-proxy rules")
            record.daemons = try LabDaemons.startCluster(record, naming: naming, srcip: options.srcipExecutable)
            try record.save(naming)
            try LabDaemons.waitReady(naming: naming, daemons: record.daemons)
            timing.mark("daemons ready")
            record.daemons += try LoadBalancer.configure(record, naming: naming, srcip: options.srcipExecutable)
            timing.mark("load balancer")
            record.complete = true
            try record.save(naming)
            return record
        } catch {
            _ = try? down(naming: naming)
            throw error
        }
    }

    /// Phase timings on stderr when SRCIP_LAB_TIMING is set.
    final class LabTiming {
        private var last = Date()
        private let enabled = ProcessInfo.processInfo.environment["SRCIP_LAB_TIMING"] != nil
        func mark(_ phase: String) {
            guard enabled else { return }
            let now = Date()
            FileHandle.standardError.write(Data("lab up: \(phase) \(Int(now.timeIntervalSince(last) * 1000)) ms\n".utf8))
            last = now
        }
    }

    /// Creates the topology's namespaces (with `LabTopology.namespaceDefaults`), runs its `ip` batches and sysctls.
    static func build(_ topology: LabTopology, timing: LabTiming) throws {
        try createNamespaces(topology.namespaces, ipv6: topology.ipv6)
        try Command.check("ip", ["-batch", "-"], input: topology.rootBatch.joined(separator: "\n") + "\n")
        timing.mark("namespaces+veths")
        let batches = topology.namespaceBatches
        let errors = ErrorCollector()
        DispatchQueue.concurrentPerform(iterations: batches.count) { i in
            do {
                try Command.check("ip", ["-n", batches[i].namespace, "-batch", "-"],
                                        input: batches[i].lines.joined(separator: "\n") + "\n")
            } catch {
                errors.append(error)
            }
        }
        if let first = errors.first { throw first }
        for (ns, lines) in topology.bridgeBatches {
            try Command.check("bridge", ["-n", ns, "-batch", "-"], input: lines.joined(separator: "\n") + "\n")
        }
        timing.mark("addresses+bridges+routes")
        for (ns, settings) in topology.sysctls {
            try NetworkNamespace.sysctl(in: ns, settings)
        }
        timing.mark("sysctls")
    }

    /// `ip netns add` for each of `names`, then (for a lab with IPv6) `LabTopology.namespaceDefaults` in each, before
    /// any interface is made.
    static func createNamespaces(_ names: [String], ipv6: Bool) throws {
        try Command.check("ip", ["-batch", "-"], input: names.map { "netns add \($0)\n" }.joined())
        guard ipv6 else { return }
        for ns in names { try NetworkNamespace.sysctl(in: ns, LabTopology.namespaceDefaults) }
    }

    /// Removes everything of lab `naming`: processes in its namespaces, the namespaces (recorded or found by prefix), state and logs.
    @discardableResult
    public static func down(naming: LabNaming) throws -> LabTeardownReport {
        guard geteuid() == 0 else { throw LabError.notRoot }
        let record = try? LabRecord.load(naming)
        let existing = NamespaceProcesses.namespaces(withPrefix: naming.prefix)
        let stateExists = FileManager.default.fileExists(atPath: naming.stateFile)
        guard stateExists || !existing.isEmpty else { throw LabError.labNotFound(name: naming.lab) }
        var pids = Set(NamespaceProcesses.pids(in: existing))
        for daemon in record?.daemons ?? [] where NamespaceProcesses.isAlive(daemon.pid) && NamespaceProcesses.isLabDaemon(daemon.pid) {
            pids.insert(daemon.pid)
        }
        NamespaceProcesses.stop(Array(pids))
        let all = Set(existing).union((record?.namespaces ?? []).filter { existing.contains($0) })
        if !all.isEmpty {
            _ = try Command.run("ip", ["-force", "-batch", "-"], input: all.sorted().map { "netns del \($0)" }.joined(separator: "\n") + "\n")
        }
        let left = NamespaceProcesses.namespaces(withPrefix: naming.prefix)
        guard left.isEmpty else {
            throw LabError.unsupported("could not delete namespaces \(left.joined(separator: ", ")); check `ip netns pids` for them")
        }
        try? FileManager.default.removeItem(atPath: naming.runDirectory)
        try? FileManager.default.removeItem(atPath: naming.stateFile)
        try? FileManager.default.removeItem(atPath: naming.lockFile)
        return LabTeardownReport(namespaces: all.sorted(), killedProcesses: pids.count, stateFileRemoved: stateExists)
    }

    /// The namespace for `lab exec` targets: a node name, a pod name, `client` or `router`.
    public static func namespace(for target: String, record: LabRecord, naming: LabNaming) throws -> String {
        switch target {
        case "client", "ext": return naming.clientNamespace
        case "router", "lb": return naming.routerNamespace
        case "net": return naming.netNamespace
        default: break
        }
        if record.state.nodes.contains(where: { $0.name == target }) { return naming.nodeNamespace(target) }
        if let pod = record.state.pods.first(where: { $0.name == target }) { return naming.podNamespace(pod) }
        throw LabError.unknownTarget(name: target, known: ["client", "router"] + record.state.nodes.map(\.name) + record.state.pods.map(\.name))
    }
}
