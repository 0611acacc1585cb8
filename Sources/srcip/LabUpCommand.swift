import ArgumentParser
import Foundation
import SrcipCore
import SrcipLabCluster
import SrcipLabKubeProxy
import SrcipLabWorkloads
import SrcipLabNetwork
import SrcipLabDemo

struct LabUpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Create a lab cluster from a manifest (default: the seed experiment) and program kube-proxy's rules.",
        discussion: """
        Topology: nodes node1…nodeN (192.168.10.11…) on a bridged node network, pods in 10.244.i.0/24 on each node's cni0 \
        bridge (--cni bridge) or on routed /32 veths with proxy ARP (--cni routed, Calico-style), \
        a router (192.168.10.1 / 203.0.113.1) with the load balancer, and an external client (203.0.113.10, `client`).

        Routed ClusterIP/externalIP traffic from outside enters at --entry-node. LoadBalancer IPs (198.51.100.x) are served by \
        the LB in --lb-mode: passthrough (DNAT to the NodePorts, client IP kept, health-checked for externalTrafficPolicy Local) \
        or proxy (TCP proxy reconnecting from 192.168.10.2). Client source ports 20N00-20N99 make the LB pick nodeN when healthy.

        State: /run/srcip/labs/<name>.json; logs: /run/srcip/labs/<name>/.
        """)

    @OptionGroup var lab: LabNameOption
    @Option(name: .long, help: "Kubernetes YAML with Deployments, Pods and Services (default: the bundled seed manifest).")
    var manifest: String?
    @Option(name: .long, help: "Number of nodes.")
    var nodes: Int = LabAddressing.defaultNodeCount
    @Option(name: .long, help: "kube-proxy mode: iptables or nftables.")
    var proxyMode: ProxyMode = .iptables
    @Option(name: .long, help: "Load balancer: passthrough (network LB, keeps the client IP) or proxy (TCP proxy from 192.168.10.2).")
    var lbMode: LoadBalancerMode = .passthrough
    @Option(name: .long, help: "Pod networking: bridge (cni0, host-gw), routed (Calico-style /32 veths, proxy ARP) or vxlan (flannel-style overlay).")
    var cni: LabCNI = .bridge
    @Option(name: .long, help: "IP families: ipv4, ipv6 or dual (IPv4-primary dual-stack; addressing in docs/lab.md).")
    var ipFamily: LabIPFamily = .ipv4
    @Option(name: .long, help: "Node that receives ClusterIP/externalIP traffic routed from outside (default: node1).")
    var entryNode: String?

    func run() throws {
        let naming = try lab.naming()
        let (text, objects) = try LabManifestLoader.load(path: manifest)
        let state = try ClusterState.build(from: objects, nodeCount: nodes, cni: cni, ipFamily: ipFamily)
        let start = Date()
        let record = try LabController.up(state: state, options: LabUpOptions(
            naming: naming, proxyMode: proxyMode, loadBalancerMode: lbMode, manifest: text, objects: objects, entryNode: entryNode))
        let ms = Int(Date().timeIntervalSince(start) * 1000)
        print("lab '\(lab.name)' is up in \(ms) ms (\(record.state.nodes.count) nodes, \(record.state.pods.count) pods, "
              + "\(record.state.services.count) services)\n")
        print(LabStatusReport.render(record, naming: naming, aliveNamespaces: Set(record.namespaces)))
        print("\nTry: srcip lab exec --name \(lab.name) client -- srcip lab get http://\(record.state.nodes[0].ip):<nodePort>/")
    }
}

/// Reads a manifest file (or the bundled seed manifest) and parses its objects, printing manifest warnings.
enum LabManifestLoader {
    static func load(path: String?) throws -> (text: String, objects: ManifestObjects) {
        let text: String
        if let path {
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                let reason = FileManager.default.fileExists(atPath: path) ? "not readable UTF-8 text" : "no such file"
                throw SrcipError.cannotRead(path: path, reason: reason)
            }
        } else {
            text = try LabManifest.loadDefaultManifest()
        }
        let (objects, warnings) = try LabManifest.parse(text, source: path ?? "seed.yaml")
        for w in warnings { Diagnostics.warning("\(w)") }
        return (text, objects)
    }
}
