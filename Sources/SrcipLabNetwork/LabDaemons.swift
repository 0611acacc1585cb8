import Foundation
import SrcipCore
import SrcipLabCluster
import SrcipLabWorkloads
import SrcipSystem

/// Starts the lab's background processes (`srcip lab echo`, `srcip lab healthcheck`, `srcip lab lb-proxy`) inside their
/// namespaces with `ip netns exec`, logging to /run/srcip/labs/<lab>/<role>.log.
public enum LabDaemons {
    /// The ports an echo pod listens on: its container ports, or 8080.
    public static func echoPorts(_ pod: LabPod) -> [UInt16] {
        let ports = Set(pod.ports.values).sorted()
        return ports.isEmpty ? [8080] : ports
    }

    static func readyFile(_ naming: LabNaming, _ role: String) -> String { "\(naming.runDirectory)/\(role).ready" }

    static func start(_ role: String, namespace: String, args: [String], naming: LabNaming, srcip: String) throws -> LabDaemon {
        let ip = try Command.require("ip")
        try? FileManager.default.removeItem(atPath: readyFile(naming, role))
        let pid = try Command.spawnDetached(ip, ["netns", "exec", namespace, srcip, "lab"] + args + ["--ready-file", readyFile(naming, role)],
                                                  log: "\(naming.runDirectory)/\(role).log")
        return LabDaemon(pid: pid, namespace: namespace, role: role)
    }

    /// One echo server per pod, one health-check server per node when some Service has a healthCheckNodePort.
    static func startCluster(_ record: LabRecord, naming: LabNaming, srcip: String) throws -> [LabDaemon] {
        try record.state.pods.map { try startEcho($0, naming: naming, srcip: srcip) }
            + startHealthChecks(record, naming: naming, srcip: srcip)
    }

    /// The echo server of `pod`, on its container ports.
    static func startEcho(_ pod: LabPod, naming: LabNaming, srcip: String) throws -> LabDaemon {
        let ports = echoPorts(pod).flatMap { ["--port", String($0)] }
        return try start("echo-\(pod.name)", namespace: naming.podNamespace(pod),
                         args: ["echo"] + ports + ["--hostname", pod.name], naming: naming, srcip: srcip)
    }

    /// kube-proxy's health-check server on every node, when some Service of the record has a healthCheckNodePort.
    static func startHealthChecks(_ record: LabRecord, naming: LabNaming, srcip: String) throws -> [LabDaemon] {
        guard !HealthCheckServer.services(record.state).isEmpty else { return [] }
        return try record.state.nodes.map { node in
            try start("healthcheck-\(node.name)", namespace: naming.nodeNamespace(node.name),
                      args: ["healthcheck", "--name", naming.lab, "--node", node.name], naming: naming, srcip: srcip)
        }
    }

    /// Waits until every daemon created its ready file (they do so after binding their sockets); fails early when one exits.
    static func waitReady(naming: LabNaming, daemons: [LabDaemon], timeout: Double = 10) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var pending = daemons
        while !pending.isEmpty {
            pending = pending.filter { !FileManager.default.fileExists(atPath: readyFile(naming, $0.role)) }
            if pending.isEmpty { break }
            if let dead = pending.first(where: { !NamespaceProcesses.isAlive($0.pid) }) {
                let log = (try? String(contentsOfFile: "\(naming.runDirectory)/\(dead.role).log", encoding: .utf8)) ?? ""
                throw LabError.unsupported("lab daemon \(dead.role) exited during start-up: \(log.suffix(400).trimmingCharacters(in: .whitespacesAndNewlines))")
            }
            guard Date() < deadline else {
                throw LabError.unsupported("lab daemons did not start: \(pending.map(\.role).joined(separator: ", ")); see their logs in \(naming.runDirectory)")
            }
            usleep(5_000)
        }
    }
}
