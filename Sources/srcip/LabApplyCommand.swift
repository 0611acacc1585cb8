import ArgumentParser
import Foundation
import SrcipLabCluster
import SrcipLabNetwork

/// Prints what a lab change did.
enum LabChangePrinter {
    static func print(_ report: LabChangeReport, lab: String, since start: Date) {
        let ms = Int(Date().timeIntervalSince(start) * 1000)
        func list(_ items: [String]) -> String { items.isEmpty ? "none" : items.joined(separator: ", ") }
        Swift.print("lab '\(lab)' changed in \(ms) ms: pods added \(list(report.addedPods)); pods removed \(list(report.removedPods)); "
                    + "services changed \(list(report.changedServices)); kube-proxy rules resynced on \(report.record.state.nodes.count) nodes")
    }
}

struct LabApplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Create or replace Deployments, Pods and Services of a running lab from a manifest (like kubectl apply).",
        discussion: """
        FILE is the same YAML `lab up --manifest` takes. Each object in it is created, or replaces the object of the same \
        kind, namespace and name; objects not in FILE stay (no pruning: remove them with `srcip lab delete`). A pod whose \
        labels, ports or node are unchanged keeps its IP; a changed pod is recreated. New pods get a namespace, a veth on \
        their node and an echo server; removed pods' namespaces and veths disappear. Every node's kube-proxy rules are then \
        resynced in full, as kube-proxy does (iptables-restore --noflush with stale chains deleted, or nft -f of the \
        kube-proxy table); other rules are left alone. Allocated ClusterIPs and NodePorts of existing Services are kept.
        """)

    @OptionGroup var lab: LabNameOption
    @Argument(help: "Kubernetes YAML with Deployments, Pods and Services.")
    var file: String

    func run() throws {
        let naming = try lab.naming()
        let (_, objects) = try LabManifestLoader.load(path: file)
        let start = Date()
        let report = try LabReconciler.apply(objects, naming: naming)
        LabChangePrinter.print(report, lab: lab.name, since: start)
    }
}

struct LabDeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete Deployments, Pods or Services of a running lab (like kubectl delete KIND/NAME).",
        discussion: """
        KIND is deployment (deploy), pod (po) or service (svc). Deleting a Deployment deletes its pods; deleting a pod of \
        a Deployment is refused (scale the Deployment instead). kube-proxy's rules are resynced on every node afterwards.
        """)

    @OptionGroup var lab: LabNameOption
    @Option(name: [.short, .long], help: "Namespace of the objects.")
    var namespace: String = "default"
    @Argument(help: "Objects as KIND/NAME, e.g. svc/nodeport deploy/source-ip-app pod/client-node1.")
    var objects: [String]

    func run() throws {
        let naming = try lab.naming()
        for object in objects {
            let parts = object.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, let kind = ManifestKind(kubectlName: parts[0]) else {
                throw ValidationError("'\(object)' is not KIND/NAME with KIND deployment, pod or service")
            }
            let start = Date()
            let report = try LabReconciler.delete(kind, namespace: namespace, name: parts[1], naming: naming)
            LabChangePrinter.print(report, lab: lab.name, since: start)
        }
    }
}

struct LabScaleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: "Set the replica count of a Deployment in a running lab (like kubectl scale --replicas N).",
        discussion: """
        Pods are named <deployment>-<i>: scaling up adds the missing indexes (on the Deployment's node, or the node with \
        the fewest pods), scaling down removes the highest. Endpoints and kube-proxy's rules follow on every node; at 0 \
        replicas the Service has no endpoints and kube-proxy rejects its connections.
        """)

    @OptionGroup var lab: LabNameOption
    @Option(name: [.short, .long], help: "Namespace of the Deployment.")
    var namespace: String = "default"
    @Argument(help: "Deployment name.")
    var deployment: String
    @Argument(help: "Replica count.")
    var replicas: Int

    func run() throws {
        let naming = try lab.naming()
        let start = Date()
        let report = try LabReconciler.scale(deployment: deployment, namespace: namespace, replicas: replicas, naming: naming)
        LabChangePrinter.print(report, lab: lab.name, since: start)
    }
}
