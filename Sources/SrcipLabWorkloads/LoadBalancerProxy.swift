import Foundation
import SrcipCore
import SrcipLabCluster
import SrcipLabKubeProxy
import SrcipSystem
#if canImport(Glibc)
import Glibc
import SrcipHTTP
#endif

/// The proxy-mode load balancer (runs in the router namespace): listens on every LB IP:port, picks a node
/// (health-checked for externalTrafficPolicy Local, steerable by client source port), and reconnects from
/// 192.168.10.2 (fd00:192:168:10::2 for IPv6 VIPs) to nodeIP:nodePort — so nodes see the LB's address, never the client's.
///
/// `@unchecked Sendable` is safe: `state` is immutable and the only mutable state, `counter`, is read and written under `lock`.
public final class LoadBalancerProxy: @unchecked Sendable {
    private let state: ClusterState
    private let lock = NSLock()
    private var counter = 0

    public init(state: ClusterState) {
        self.state = state
    }

    /// Binds all frontends, writes `readyFile`, serves forever.
    public func run(readyFile: String?) throws -> Never {
        HTTPServer.exitCleanlyOnSignals()
        var listeners: [(Int32, LoadBalancerFrontend)] = []
        for fe in LoadBalancerPlan.frontends(state) {
            listeners.append((try Sockets.listen(fe.vip.description, fe.port), fe))
        }
        for (fd, fe) in listeners {
            try DedicatedThread.detached { [self] in accept(fd, fe) }
        }
        HTTPServer.announceReady(readyFile)
        while true { pause() }
    }

    private func accept(_ fd: Int32, _ fe: LoadBalancerFrontend) {
        while true {
            guard let (client, peer) = Sockets.accept(fd) else { usleep(1000); continue }
            do { try DedicatedThread.detached { [self] in relay(client, peer: Sockets.describe(peer), fe) } } catch { close(client) }
        }
    }

    /// Nodes whose health-check port answers 200 (every node when the frontend has no health check).
    func healthyNodes(_ fe: LoadBalancerFrontend) -> Set<String> {
        guard let hc = fe.healthCheckNodePort else { return Set(state.nodes.map(\.name)) }
        return Set(state.nodes.filter {
            if case .response(200, _) = HTTPProbe.get(ip: $0.ip.description, port: hc, path: "/healthz", timeout: 1) { return true }
            return false
        }.map(\.name))
    }

    private func relay(_ client: Int32, peer: (ip: String, port: UInt16), _ fe: LoadBalancerFrontend) {
        let n: Int = lock.withLock { counter += 1; return counter }
        let family = IPFamily.of(fe.vip)
        guard let node = LoadBalancerPlan.pick(nodes: state.nodes, healthy: healthyNodes(fe), sourcePort: peer.port, counter: n),
              let nodeIP = node.ip(family),
              let upstream = try? Sockets.tcpSocket(for: nodeIP.description) else {
            close(client)
            return
        }
        guard (try? Sockets.bind(upstream, LoadBalancerPlan.proxySourceIP(family).description, 0)) != nil,
              case .connected? = try? Sockets.connect(upstream, nodeIP.description, fe.nodePort, timeout: 3) else {
            close(upstream)
            close(client)
            return
        }
        // One unbuffered write per connection: the log is read while the proxy runs (LabEntryTrace).
        let line = Array("\(peer.ip):\(peer.port) -> \(fe.vip):\(fe.port) -> \(node.name) \(nodeIP):\(fe.nodePort)\n".utf8)
        _ = write(STDOUT_FILENO, line, line.count)
        let back = try? DedicatedThread { Self.pump(from: upstream, to: client) }
        Self.pump(from: client, to: upstream)
        back?.join()
        close(upstream)
        close(client)
    }

    private static func pump(from src: Int32, to dst: Int32) {
        var buf = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = recv(src, &buf, buf.count, 0)
            if n <= 0 { break }
            if !Sockets.sendAll(dst, Array(buf[0..<n])) { break }
        }
        shutdown(dst, Int32(SHUT_WR))
        shutdown(src, Int32(SHUT_RD))
    }
}
