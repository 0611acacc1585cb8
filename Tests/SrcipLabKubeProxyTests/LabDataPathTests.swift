import Foundation
import SrcipCore
import Testing
@testable import SrcipLabCluster
@testable import SrcipLabKubeProxy

/// A one-node data-path check: the seed lab's node1 rules, loaded into a node namespace with a bridged echo pod and an
/// external client, must deliver exactly the source addresses `RulePlanExpectation` predicts (both proxy modes).
@Suite(.serialized, .privileged)
struct LabDataPathTests {
    /// Python echo server: replies with the peer address and closes.
    static let echoServer = """
    import socket
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 8080)); s.listen(16)
    while True:
        c, a = s.accept(); c.sendall((a[0] + "\\n").encode()); c.close()
    """

    static func connect(_ ns: NetnsSandbox, _ ip: IPAddress, _ port: UInt16) throws -> String {
        let code = "import socket; s = socket.create_connection((\"\(ip)\", \(port)), timeout=2); print(s.recv(64).decode().strip())"
        let r = try ns.exec(["python3", "-c", code])
        return r.status == 0 ? r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : "error: \(r.stderr.split(separator: "\n").last ?? "")"
    }

    struct Topology {
        let node: NetnsSandbox, pod: NetnsSandbox, ext: NetnsSandbox
        let server: Process

        func remove() {
            // SIGKILL: the child may inherit a mask that blocks SIGTERM from the test runner's thread.
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
            ext.remove(); pod.remove(); node.remove()
        }
    }

    /// node: cni0 10.244.1.1/24 + 192.168.10.11 on ext0 with 203.0.113.1/24; pod 10.244.1.2; ext 203.0.113.10.
    static func buildTopology(state: ClusterState) throws -> Topology {
        let node = try NetnsSandbox.create(), pod = try NetnsSandbox.create(), ext = try NetnsSandbox.create()
        let n1 = state.nodes[0]
        let podIP = state.pods[0].ip
        let steps: [(NetnsSandbox, [String])] = [
            (node, ["ip", "link", "add", "cni0", "type", "bridge"]),
            (node, ["ip", "addr", "add", "\(n1.bridgeIP)/24", "dev", "cni0"]),
            (node, ["ip", "link", "set", "cni0", "up"]),
            (node, ["ip", "link", "add", "vpod", "type", "veth", "peer", "name", "eth0", "netns", pod.name]),
            (node, ["ip", "link", "set", "vpod", "master", "cni0", "up"]),
            (pod, ["ip", "addr", "add", "\(podIP)/24", "dev", "eth0"]),
            (pod, ["ip", "link", "set", "eth0", "up"]),
            (pod, ["ip", "link", "set", "lo", "up"]),
            (pod, ["ip", "route", "add", "default", "via", "\(n1.bridgeIP)"]),
            (node, ["ip", "link", "add", "ext0", "type", "veth", "peer", "name", "eth0", "netns", ext.name]),
            (node, ["ip", "addr", "add", "203.0.113.1/24", "dev", "ext0"]),
            (node, ["ip", "addr", "add", "\(n1.ip)/32", "dev", "ext0"]),
            (node, ["ip", "link", "set", "ext0", "up"]),
            (node, ["ip", "link", "set", "lo", "up"]),
            (node, ["ip", "route", "add", "default", "via", "203.0.113.10"]),
            (node, ["sysctl", "-qw", "net.ipv4.ip_forward=1"]),
            (ext, ["ip", "addr", "add", "\(LabAddressing.externalClient)/24", "dev", "eth0"]),
            (ext, ["ip", "link", "set", "eth0", "up"]),
            (ext, ["ip", "link", "set", "lo", "up"]),
            (ext, ["ip", "route", "add", "192.168.10.0/24", "via", "203.0.113.1"]),
            (ext, ["ip", "route", "add", "10.96.0.0/16", "via", "203.0.113.1"]),
            (ext, ["ip", "route", "add", "198.51.100.0/24", "via", "203.0.113.1"]),
        ]
        for (ns, args) in steps {
            let r = try ns.exec(args)
            if r.status != 0 {
                ext.remove(); pod.remove(); node.remove()
                throw TopologyError(message: "\(args.joined(separator: " ")): \(r.stderr)")
            }
        }
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["ip", "netns", "exec", pod.name, "python3", "-c", echoServer]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        let topo = Topology(node: node, pod: pod, ext: ext, server: server)
        for _ in 0..<50 {
            if try !connect(node, podIP, 8080).hasPrefix("error") { break }
            usleep(100_000)
        }
        return topo
    }

    struct TopologyError: Error, CustomStringConvertible { var message: String; var description: String { "topology setup failed: \(message)" } }

    func check(mode: ProxyMode) throws {
        let state = try ClusterState.build(from: LabManifest.parse(LabManifest.defaultManifest, source: "seed").objects, nodeCount: 1)
        let topo = try Self.buildTopology(state: state)
        defer { topo.remove() }
        let node1 = state.nodes[0]
        switch mode {
        case .iptables:
            let r = try topo.node.exec(["iptables-restore", "--noflush"], stdin: KubeProxyIPTables.render(state, node: node1))
            try #require(r.status == 0, "\(r.stderr)")
            let j = try topo.node.exec(["iptables-restore", "--noflush"], stdin: KubeProxyIPTables.baseChainJumpsRestore())
            try #require(j.status == 0, "\(j.stderr)")
        case .nftables:
            let r = try topo.node.exec(["nft", "-f", "-"], stdin: KubeProxyNFTables.render(state, node: node1))
            try #require(r.status == 0, "\(r.stderr)")
        }
        let svc = { (name: String) in state.services.first { $0.name == name }! }
        let external = LabClient.external(LabAddressing.externalClient)
        let cases: [(String, Frontend, LabClient, NetnsSandbox)] = [
            ("nodeport", .nodePort, external, topo.ext),
            ("nodeport-local", .nodePort, external, topo.ext),
            ("loadbalancer", .loadBalancer, external, topo.ext),
            ("loadbalancer-local", .loadBalancer, external, topo.ext),
            ("clusterip", .clusterIP, external, topo.ext),
            ("clusterip", .clusterIP, .host(node1), topo.node),
            ("nodeport-local", .nodePort, .host(node1), topo.node),
        ]
        for (name, frontend, client, from) in cases {
            let service = svc(name)
            let expected = try RulePlanExpectation.expect(state: state, service: service, frontend: frontend, client: client, entryNode: "node1")
            let (ip, port): (IPAddress, UInt16) = switch frontend {
            case .nodePort: (node1.ip, service.ports[0].nodePort!)
            case .loadBalancer: (service.loadBalancerIPs[0], service.ports[0].port)
            case .externalIP: (service.externalIPs[0], service.ports[0].port)
            case .clusterIP: (service.clusterIP!, service.ports[0].port)
            }
            let seen = try Self.connect(from, ip, port)
            #expect(Set([seen]) == Set(expected.sourceIPs.map(\.description)), "\(mode) \(name) \(frontend) from \(client): saw \(seen), expected \(expected)")
        }
    }

    @Test func iptablesDeliversTheExpectedSources() throws { try check(mode: .iptables) }
    @Test func nftablesDeliversTheExpectedSources() throws { try check(mode: .nftables) }
}
