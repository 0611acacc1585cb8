import Foundation
import SrcipCore
import Testing
@testable import SrcipLabCluster
@testable import SrcipLabKubeProxy

/// Loads rendered rules into a throw-away netns with the real iptables-restore / nft.
@Suite(.serialized, .privileged)
struct RuleLoadTests {
    func seedState() throws -> ClusterState {
        try ClusterState.build(from: LabManifest.parse(LabManifest.defaultManifest, source: "seed").objects, nodeCount: 3)
    }

    @Test func iptablesSeedLoadsOnEveryNode() throws {
        let state = try seedState()
        let ns = try NetnsSandbox.create()
        defer { ns.remove() }
        for node in state.nodes {
            let r = try ns.exec(["iptables-restore", "--noflush"], stdin: KubeProxyIPTables.render(state, node: node))
            #expect(r.status == 0, "\(node.name): \(r.stderr)")
        }
        for args in KubeProxyIPTables.baseChainJumps() {
            let r = try ns.exec(["iptables"] + args)
            #expect(r.status == 0, "iptables \(args): \(r.stderr)")
        }
        // Reload node1's rules last, as a resync would.
        let node1 = state.nodes[0]
        let again = try ns.exec(["iptables-restore", "--noflush"], stdin: KubeProxyIPTables.render(state, node: node1))
        #expect(again.status == 0, "\(again.stderr)")
        let nat = try ns.exec(["iptables-save", "-t", "nat"]).stdout
        let h = KubeProxyNames.iptablesServiceHash(servicePortName: "default/clusterip", proto: .tcp)
        #expect(nat.contains(":KUBE-SVC-\(h) "))
        #expect(nat.contains("-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment \"default/clusterip cluster IP\" -m tcp --dport 80 -j KUBE-SVC-\(h)"))
        #expect(nat.contains("-j MASQUERADE --random-fully"))
        let hl = KubeProxyNames.iptablesServiceHash(servicePortName: "default/loadbalancer-local", proto: .tcp)
        #expect(nat.contains(":KUBE-SVL-\(hl) "), "node1 has the local endpoint")
        #expect(nat.contains("-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"))
        let filter = try ns.exec(["iptables-save", "-t", "filter"]).stdout
        #expect(filter.contains("-A INPUT -j KUBE-FIREWALL\n-A INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL"))
    }

    @Test func iptablesJumpSnippetLoadsAndMatchesPrependOrder() throws {
        let state = try seedState()
        let ns = try NetnsSandbox.create()
        defer { ns.remove() }
        let r = try ns.exec(["iptables-restore", "--noflush"], stdin: KubeProxyIPTables.render(state, node: state.nodes[0]))
        #expect(r.status == 0, "\(r.stderr)")
        let j = try ns.exec(["iptables-restore", "--noflush"], stdin: KubeProxyIPTables.baseChainJumpsRestore())
        #expect(j.status == 0, "\(j.stderr)")
        let viaSnippet = try ns.exec(["iptables-save"]).stdout.split(separator: "\n").filter { $0.hasPrefix("-A INPUT") || $0.hasPrefix("-A FORWARD") || $0.hasPrefix("-A OUTPUT") || $0.hasPrefix("-A PREROUTING") || $0.hasPrefix("-A POSTROUTING") }

        let ns2 = try NetnsSandbox.create()
        defer { ns2.remove() }
        _ = try ns2.exec(["iptables-restore", "--noflush"], stdin: KubeProxyIPTables.render(state, node: state.nodes[0]))
        for args in KubeProxyIPTables.baseChainJumps() { try ns2.exec(["iptables"] + args) }
        let viaInsert = try ns2.exec(["iptables-save"]).stdout.split(separator: "\n").filter { $0.hasPrefix("-A INPUT") || $0.hasPrefix("-A FORWARD") || $0.hasPrefix("-A OUTPUT") || $0.hasPrefix("-A PREROUTING") || $0.hasPrefix("-A POSTROUTING") }
        #expect(viaSnippet.count == 14)
        #expect(viaSnippet == viaInsert)
    }

    @Test func iptablesUpstreamServicesLoad() throws {
        // Affinity (recent), probabilities (statistic), source ranges and no-endpoint REJECTs, without nfacct.
        let ns = try NetnsSandbox.create()
        defer { ns.remove() }
        let r = try ns.exec(["iptables-restore", "--noflush"],
                            stdin: KubeProxyIPTables.render(UpstreamFixtures.overallState, node: UpstreamFixtures.testNode))
        #expect(r.status == 0, "\(r.stderr)")
        let nat = try ns.exec(["iptables-save", "-t", "nat"]).stdout
        #expect(nat.contains("--rcheck --seconds 10800 --reap"))
        #expect(nat.contains("--probability 0.50000000000"))
    }

    @Test func nftablesSeedLoadsAndReloads() throws {
        let state = try seedState()
        let ns = try NetnsSandbox.create()
        defer { ns.remove() }
        for node in state.nodes + [state.nodes[0]] {
            let r = try ns.exec(["nft", "-f", "-"], stdin: KubeProxyNFTables.render(state, node: node))
            #expect(r.status == 0, "\(node.name): \(r.stderr)")
        }
        let listing = try ns.exec(["nft", "list", "table", "ip", "kube-proxy"])
        #expect(listing.status == 0, "\(listing.stderr)")
        let base = KubeProxyNames.nftablesServiceBase(namespace: "default", name: "clusterip", portName: nil, proto: .tcp)
        #expect(listing.stdout.contains("chain service-\(base) {"))
        #expect(listing.stdout.contains("10.96.0.10 . tcp . 80 : goto service-\(base)"))
        #expect(listing.stdout.contains("local-"), "node1 has the local endpoint")
        #expect(listing.stdout.contains("elements = { 192.168.10.11 }"))
    }

    @Test func nftablesUpstreamServicesLoad() throws {
        let ns = try NetnsSandbox.create()
        defer { ns.remove() }
        let r = try ns.exec(["nft", "-f", "-"], stdin: KubeProxyNFTables.render(UpstreamFixtures.overallState, node: UpstreamFixtures.testNode))
        #expect(r.status == 0, "\(r.stderr)")
        let listing = try ns.exec(["nft", "list", "table", "ip", "kube-proxy"]).stdout
        #expect(listing.contains("affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80"))
        #expect(listing.contains("numgen random mod 2 vmap"))
    }
}
