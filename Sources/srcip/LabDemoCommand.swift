import ArgumentParser
import Foundation
import SrcipLabCluster
import SrcipLabKubeProxy
import SrcipLabWorkloads
import SrcipLabNetwork
import SrcipLabDemo
import SrcipCore
import SrcipExport
#if canImport(Glibc)
import Glibc
#endif

struct LabDemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Reproduce the 'source IP of Services' experiment on a fresh lab and print what each pod saw.",
        discussion: """
        Brings up the seed manifest (echo pod on node1, ClusterIP/NodePort/LoadBalancer Services and their \
        externalTrafficPolicy: Local twins) plus client pods on node1 and node2, sends one request per path, compares the \
        client_address the echo pod reports with what Kubernetes documents, and tears the lab down (also on Ctrl-C). \
        Meanwhile `srcip trace` runs in every node (records in /run/srcip/labs/<name>/trace-<node>.jsonl, kept with --keep); \
        the SRCIP SAW column is srcip's end-to-end account of each request, and the verification table after it is what \
        `srcip merge --check` reports over those records. Exits 1 if any observation differs: the \
        pod's from the documentation, or srcip's from the pod's or the documentation.
        """)

    @Option(name: .long, help: "kube-proxy mode: iptables or nftables.")
    var proxyMode: ProxyMode = .iptables
    @Option(name: .long, help: "Pod networking: bridge (cni0, host-gw), routed (Calico-style /32 veths, proxy ARP) or vxlan (flannel-style overlay).")
    var cni: LabCNI = .bridge
    @Option(name: .long, help: "IP families: ipv4, ipv6 or dual (IPv4-primary dual-stack; addressing in docs/lab.md).")
    var ipFamily: LabIPFamily = .ipv4
    @Option(name: .long, help: "Lab name.")
    var name: String = "demo"
    @Flag(name: .long, help: "Keep the lab running afterwards (remove it with `srcip lab down --name <name>`).")
    var keep = false
    @Flag(name: .long, help: "Do not run `srcip trace` in the nodes (no SRCIP SAW column).")
    var noTrace = false

    func run() throws {
        let naming = try LabNaming(lab: name)
        let demo = LabDemo(naming: naming, proxyMode: proxyMode, cni: cni, ipFamily: ipFamily)
        let observer = noTrace ? nil : DemoTraceObserver(srcip: demo.srcip)
        demo.observer = observer
        let keep = self.keep
        // Ctrl-C / SIGTERM: tear down, then exit (the same signal waiter `srcip trace` uses).
        TerminationSignal.install()
        let traces = observer?.tracePIDs
        let interruptWatch = Task.detached {
            guard await TerminationSignal.next() != nil else { return }
            FileHandle.standardError.write(Data((keep ? "\ninterrupted\n" : "\ninterrupted: removing lab '\(naming.lab)'…\n").utf8))
            traces?.interrupt()
            if !keep { _ = try? LabController.down(naming: naming) }
            Glibc.exit(130)
        }
        defer { interruptWatch.cancel() }
        print("Bringing up lab '\(name)' (kube-proxy \(proxyMode.rawValue), \(cni.rawValue) CNI, \(ipFamily.rawValue))…")
        var rows: [DemoRow] = []
        do {
            let record: LabRecord
            do { record = try demo.up() } catch {
                // Up failed part-way (e.g. a trace did not start): remove what was built, unless the lab was someone else's.
                if case LabError.labExists = error { throw error }
                observer?.labWillStop()
                if !keep { _ = try? LabController.down(naming: naming) }
                throw error
            }
            defer {
                demo.observer?.labWillStop()
                if !keep { _ = try? LabController.down(naming: naming) }
            }
            rows = try demo.run(record)
        }
        print(DemoReport.render(rows, proxyMode: proxyMode, cni: cni, ipFamily: ipFamily))
        if let observer {
            // The same verification `srcip merge --check` prints, over every node's records of the demo.
            print("\n" + VerificationText.render(VerificationReport.build(paths: observer.paths)))
        }
        if keep { print("\nThe lab keeps running: srcip lab status --name \(name); remove it with srcip lab down --name \(name)") }
        if rows.contains(where: { !$0.matches }) { throw ExitCode(1) }
    }
}
