import ArgumentParser
import Foundation
import SrcipLabCluster
import SrcipSystem
import SrcipLabKubeProxy
import SrcipLabWorkloads
import SrcipLabNetwork
import SrcipLabDemo

struct LabDownCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down",
        abstract: "Remove a lab: stop its processes, delete its namespaces (recorded or found by prefix) and its state file.",
        discussion: "Safe after a failed or killed `lab up`: anything named srcip-<name>-* in `ip netns list` is removed too.")

    @OptionGroup var lab: LabNameOption

    func run() throws {
        let start = Date()
        let report = try LabController.down(naming: try lab.naming())
        let ms = Int(Date().timeIntervalSince(start) * 1000)
        print("lab '\(lab.name)' removed: \(report.namespaces.count) namespaces, \(report.killedProcesses) processes (\(ms) ms)")
    }
}

struct LabStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a lab's nodes, pods, Services (ClusterIP, NodePort, LB IP) and which namespaces are alive.")

    @OptionGroup var lab: LabNameOption

    func run() throws {
        let naming = try lab.naming()
        let alive = Set(NamespaceProcesses.namespaces(withPrefix: naming.prefix))
        guard let record = try LabRecord.load(naming) else {
            if alive.isEmpty { throw LabError.labNotFound(name: lab.name) }
            print("lab '\(lab.name)': no state file, but namespaces exist (\(alive.sorted().joined(separator: ", "))); run `srcip lab down --name \(lab.name)`")
            return
        }
        print(LabStatusReport.render(record, naming: naming, aliveNamespaces: alive))
    }
}

struct LabExecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command inside a lab namespace: a node (node1…), a pod, `client` (external) or `router`.",
        discussion: "Example: srcip lab exec client -- srcip lab get http://198.51.100.10/  (the exit status is passed through)")

    @OptionGroup var lab: LabNameOption

    @Argument(help: "node name, pod name, client or router")
    var target: String

    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments (after --).")
    var command: [String] = []

    func run() throws {
        let naming = try lab.naming()
        guard let record = try LabRecord.load(naming) else { throw LabError.labNotFound(name: lab.name) }
        let ns = try LabController.namespace(for: target, record: record, naming: naming)
        var cmd = command
        if cmd.first == "--" { cmd.removeFirst() }
        guard !cmd.isEmpty else { throw ValidationError("give the command to run after --") }
        let ip = try Command.require("ip")
        let argv = ([ip, "netns", "exec", ns] + cmd).map { strdup($0) } + [nil]
        execv(ip, argv)
        throw LabError.unsupported("cannot run \(ip): \(String(cString: strerror(errno)))")
    }
}
