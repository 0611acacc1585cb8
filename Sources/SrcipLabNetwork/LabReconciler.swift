import Foundation
import SrcipCore
import SrcipLabCluster
import SrcipLabKubeProxy
import SrcipLabWorkloads
import SrcipSystem
#if canImport(Glibc)
import Glibc
#endif

/// What one `lab apply` / `delete` / `scale` changed.
public struct LabChangeReport: Sendable {
    public var addedPods: [String]
    public var removedPods: [String]
    /// Services whose rules or allocations changed (added, removed or edited, endpoints included), `namespace/name`.
    public var changedServices: [String]
    public var record: LabRecord
}

/// Changes a running lab's objects the way a cluster's controllers would: pods are created and deleted (netns, veth, echo
/// server), then every node's kube-proxy rules get a full resync, then the health-check servers, the LB and the router's
/// externalIP routes follow. The state file is rewritten atomically before anything is created (so `lab down` always
/// finds what exists) and again at the end. Changes of one lab are serialised with a lock file.
public enum LabReconciler {
    /// `lab apply`: `objects` are created or replace the objects of the same kind, namespace and name.
    public static func apply(_ objects: ManifestObjects, naming: LabNaming, srcip: String = Command.selfExecutable()) throws -> LabChangeReport {
        try reconcile(naming: naming, srcip: srcip) { $0.applying(objects) }
    }

    /// `lab delete KIND/NAME`.
    public static func delete(_ kind: ManifestKind, namespace: String = "default", name: String, naming: LabNaming,
                              srcip: String = Command.selfExecutable()) throws -> LabChangeReport {
        try reconcile(naming: naming, srcip: srcip) { try $0.removing(kind, namespace: namespace, name: name) }
    }

    /// `lab scale DEPLOYMENT N`.
    public static func scale(deployment: String, namespace: String = "default", replicas: Int, naming: LabNaming,
                             srcip: String = Command.selfExecutable()) throws -> LabChangeReport {
        try reconcile(naming: naming, srcip: srcip) { try $0.scaling(deployment: deployment, namespace: namespace, to: replicas) }
    }

    static func reconcile(naming: LabNaming, srcip: String, edit: (ManifestObjects) throws -> ManifestObjects) throws -> LabChangeReport {
        guard geteuid() == 0 else { throw LabError.notRoot }
        let lock = try LabLock(naming)
        defer { lock.release() }
        guard let old = try LabRecord.load(naming) else { throw LabError.labNotFound(name: naming.lab) }
        guard old.complete else {
            throw LabError.unsupported("lab '\(naming.lab)' did not finish `up`; remove it with `srcip lab down --name \(naming.lab)`")
        }
        let objects = try old.objects ?? old.manifest.map { try LabManifest.parse($0, source: "\(naming.stateFile) manifest").objects }
        guard let objects else {
            throw LabError.unsupported("lab '\(naming.lab)' was built without a manifest; apply needs one (`lab up --manifest`)")
        }
        let newObjects = try edit(objects)
        let newState = try old.state.rebuilt(from: newObjects)

        let key = { (p: LabPod) in "\(p.namespace)/\(p.name)" }
        let oldPods = Dictionary(old.state.pods.map { (key($0), $0) }, uniquingKeysWith: { a, _ in a })
        let newPods = Dictionary(newState.pods.map { (key($0), $0) }, uniquingKeysWith: { a, _ in a })
        let removed = old.state.pods.filter { newPods[key($0)] != $0 }
        let added = newState.pods.filter { oldPods[key($0)] != $0 }
        let recreated = Set(removed.map(key)).intersection(added.map(key))

        var record = old
        record.namespaces = Array(Set(old.namespaces).union(added.map(naming.podNamespace))).sorted()
        try record.save(naming)

        // A changed pod is a new pod with the old name: the old one goes first.
        try removePods(removed.filter { recreated.contains(key($0)) }, record: &record, naming: naming)
        try addPods(added, state: newState, record: &record, naming: naming, srcip: srcip)
        record.state = newState
        record.objects = newObjects
        try record.save(naming)
        try KubeProxyLoader.resync(record, naming: naming)
        try removePods(removed.filter { !recreated.contains(key($0)) }, record: &record, naming: naming)
        try updateRouter(old: old.state, record: record, naming: naming)
        try restartHealthChecks(old: old.state, record: &record, naming: naming, srcip: srcip)
        if LoadBalancerPlan.frontends(old.state) != LoadBalancerPlan.frontends(newState) || !LoadBalancerPlan.frontends(newState).isEmpty {
            try LoadBalancer.unconfigure(old, naming: naming)
            record.daemons.removeAll { $0.role == "lb-proxy" }
            record.daemons += try LoadBalancer.configure(record, naming: naming, srcip: srcip)
        }
        try record.save(naming)
        let oldServices = Set(old.state.services), newServices = Set(newState.services)
        let changed = oldServices.symmetricDifference(newServices).map { "\($0.namespace)/\($0.name)" }
        return LabChangeReport(addedPods: added.map(key), removedPods: removed.map(key),
                               changedServices: Array(Set(changed)).sorted(), record: record)
    }

    /// Creates `pods`' namespaces and veths as their CNI wires them and starts their echo servers.
    static func addPods(_ pods: [LabPod], state: ClusterState, record: inout LabRecord, naming: LabNaming, srcip: String) throws {
        guard !pods.isEmpty else { return }
        try LabController.createNamespaces(pods.map(naming.podNamespace), ipv6: state.ipFamily.hasIPv6)
        var root: [String] = []
        var nodeLines: [String: [String]] = [:]
        var nodeSysctls: [String: [String]] = [:]
        var podBatches: [(String, [String])] = []
        var nextIndex: [String: Int] = [:]
        for pod in pods {
            guard let node = state.node(named: pod.node) else { continue }
            let wiring = PodWiring(pod: pod, node: node, cni: state.cni, naming: naming)
            let index = try nextIndex[node.name] ?? freeIndex(in: wiring.nodeNamespace)
            nextIndex[node.name] = index + 2
            root.append(wiring.vethLine(index: index))
            nodeLines[wiring.nodeNamespace, default: []] += wiring.nodeLines
            nodeSysctls[wiring.nodeNamespace, default: []] += wiring.nodeSysctls
            podBatches.append((wiring.podNamespace, wiring.podLines))
        }
        try Command.check("ip", ["-batch", "-"], input: root.joined(separator: "\n") + "\n")
        for (ns, lines) in podBatches + nodeLines.sorted(by: { $0.key < $1.key }).map({ ($0.key, $0.value) }) {
            try Command.check("ip", ["-n", ns, "-batch", "-"], input: lines.joined(separator: "\n") + "\n")
        }
        for (ns, settings) in nodeSysctls where !settings.isEmpty { try NetworkNamespace.sysctl(in: ns, settings) }
        let daemons = try pods.map { try LabDaemons.startEcho($0, naming: naming, srcip: srcip) }
        record.daemons += daemons
        try record.save(naming)
        try LabDaemons.waitReady(naming: naming, daemons: daemons)
    }

    /// Stops `pods`' echo servers, deletes their veth pairs (a routed pod's /32 route goes with its veth) and namespaces.
    static func removePods(_ pods: [LabPod], record: inout LabRecord, naming: LabNaming) throws {
        guard !pods.isEmpty else { return }
        let namespaces = Set(pods.map(naming.podNamespace))
        let roles = Set(pods.map { "echo-\($0.name)" })
        let daemons = record.daemons.filter { roles.contains($0.role) && namespaces.contains($0.namespace) }
        var pids = Set(NamespaceProcesses.pids(in: Array(namespaces)))
        pids.formUnion(daemons.map(\.pid).filter { NamespaceProcesses.isAlive($0) && NamespaceProcesses.isLabDaemon($0) })
        NamespaceProcesses.stop(Array(pids))
        // The veth goes first, synchronously: a deleted namespace is dismantled asynchronously by the kernel, and a pod
        // recreated at once would find its node-side veth name still taken.
        for (node, onNode) in Dictionary(grouping: pods, by: \.node) {
            let lines = onNode.map { "link del \(LabNaming.podVeth($0, cni: record.state.cni))" }
            _ = try Command.run("ip", ["-force", "-n", naming.nodeNamespace(node), "-batch", "-"], input: lines.joined(separator: "\n") + "\n")
        }
        _ = try Command.run("ip", ["-force", "-batch", "-"], input: namespaces.sorted().map { "netns del \($0)" }.joined(separator: "\n") + "\n")
        let left = NamespaceProcesses.namespaces(withPrefix: naming.prefix).filter(namespaces.contains)
        guard left.isEmpty else { throw LabError.unsupported("could not delete pod namespaces \(left.joined(separator: ", "))") }
        record.daemons.removeAll { roles.contains($0.role) && namespaces.contains($0.namespace) }
        record.namespaces.removeAll(where: namespaces.contains)
        try record.save(naming)
    }

    /// Routes for new externalIPs toward the entry node; removed ones are deleted.
    static func updateRouter(old: ClusterState, record: LabRecord, naming: LabNaming) throws {
        let before = Set(old.services.flatMap(\.externalIPs)), after = Set(record.state.services.flatMap(\.externalIPs))
        guard before != after else { return }
        let entry = try LabTopology.entryNode(record.entryNode, in: record.state)
        let len = { (ip: IPAddress) in ip.isIPv4 ? 32 : 128 }
        let lines = before.subtracting(after).sorted().map { "route del \($0)/\(len($0))" }
            + after.subtracting(before).sorted().compactMap { ip in
                entry.ip(IPFamily.of(ip)).map { "route replace \(ip)/\(len(ip)) via \($0)" }
            }
        try Command.check("ip", ["-force", "-n", naming.routerNamespace, "-batch", "-"], input: lines.joined(separator: "\n") + "\n")
    }

    /// The per-node health-check servers read the state at start: restarted when a Service with a healthCheckNodePort
    /// (or its endpoints) changed, started when the first one appears, stopped when the last one goes.
    static func restartHealthChecks(old: ClusterState, record: inout LabRecord, naming: LabNaming, srcip: String) throws {
        guard HealthCheckServer.services(old) != HealthCheckServer.services(record.state) else { return }
        let running = record.daemons.filter { $0.role.hasPrefix("healthcheck-") }
        NamespaceProcesses.stop(running.map(\.pid).filter { NamespaceProcesses.isAlive($0) && NamespaceProcesses.isLabDaemon($0) })
        record.daemons.removeAll { $0.role.hasPrefix("healthcheck-") }
        let started = try LabDaemons.startHealthChecks(record, naming: naming, srcip: srcip)
        record.daemons += started
        try record.save(naming)
        try LabDaemons.waitReady(naming: naming, daemons: started)
    }

    /// An interface index free in `namespace` for a veth pair (this and the next one), ≥ 1000 and even.
    static func freeIndex(in namespace: String) throws -> Int {
        let out = try Command.check("ip", ["-n", namespace, "-o", "link", "show"])
        let used = out.split(separator: "\n").compactMap { Int($0.prefix { $0 != ":" }) }
        let next = max(1000, (used.max() ?? 0) + 1)
        return next + next % 2
    }
}

/// An exclusive `flock` on /run/srcip/labs/<lab>.lock for the duration of one change.
struct LabLock {
    let fd: Int32

    init(_ naming: LabNaming) throws {
        try? FileManager.default.createDirectory(atPath: LabNaming.runRoot, withIntermediateDirectories: true)
        let path = naming.lockFile
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LabError.stateFile(path: path, reason: "cannot open the lock file (errno \(errno))") }
        guard flock(fd, LOCK_EX) == 0 else {
            close(fd)
            throw LabError.stateFile(path: path, reason: "cannot lock (errno \(errno))")
        }
    }

    func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
