import Foundation
import SrcipCore
import SrcipLabCluster
import SrcipLabKubeProxy
import SrcipLabWorkloads
import SrcipSystem

/// Finds which node the lab's load balancer sent a client connection to, from the router's conntrack table
/// (passthrough mode) or the proxy's connection log (proxy mode).
public enum LabEntryTrace {
    public static func loadBalancerNode(record: LabRecord, naming: LabNaming, clientPort: UInt16) -> LabNode? {
        switch record.loadBalancerMode {
        case .passthrough:
            for f in record.state.families {
                guard let out = try? Command.run("ip", ["netns", "exec", naming.routerNamespace, "conntrack", "-L", "-f", f == .ipv4 ? "ipv4" : "ipv6",
                                                        "-p", "tcp", "--orig-port-src", String(clientPort)]) else { continue }
                // reply tuple: "src=<node ip> dst=<client> sport=<nodePort> …" is the second src= on the line.
                for line in out.stdout.split(separator: "\n") {
                    let srcs = line.split(separator: " ").filter { $0.hasPrefix("src=") }.compactMap { IPAddress($0.dropFirst(4)) }
                    if srcs.count >= 2, let node = record.state.nodes.first(where: { $0.ip(f) == srcs[1] }) { return node }
                }
            }
            return nil
        case .proxy:
            let log = (try? String(contentsOfFile: "\(naming.runDirectory)/lb-proxy.log", encoding: .utf8)) ?? ""
            let needle = ":\(clientPort) -> "
            for line in log.split(separator: "\n").reversed() where line.contains(needle) {
                let fields = line.split(separator: " ")
                if fields.count >= 5, let node = record.state.nodes.first(where: { $0.name == fields[4] }) { return node }
            }
            return nil
        }
    }
}
