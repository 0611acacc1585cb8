import Foundation
import SrcipCore
import SrcipLabCluster
import SrcipSystem
import SrcipHTTP

/// kube-proxy's per-node service health-check server: one listener on nodeIP:healthCheckNodePort per Service that has one.
public enum HealthCheckServer {
    /// Computes the answer for one Service on one node.
    public typealias Responder = @Sendable (Service, LabNode, ClusterState) -> HTTPServer.Reply

    /// Services of `state` that need a health-check listener.
    public static func services(_ state: ClusterState) -> [Service] {
        state.services.filter { $0.healthCheckNodePort != nil }
    }

    public static func run(state: ClusterState, node: LabNode, readyFile: String?, responder: @escaping Responder) throws -> Never {
        HTTPServer.exitCleanlyOnSignals()
        let byPort = Dictionary(services(state).map { ($0.healthCheckNodePort!, $0) }, uniquingKeysWith: { a, _ in a })
        let server = HTTPServer { ctx in
            guard let svc = byPort[ctx.localPort] else { return HTTPServer.Reply(status: 404, body: "no service\n") }
            return responder(svc, node, state)
        }
        let ips = [node.ip, node.ip6].compactMap { $0?.description }
        try server.listen(on: byPort.keys.sorted().flatMap { port in ips.map { ($0, port) } })
        server.start()
        HTTPServer.announceReady(readyFile)
        while true { pause() }
    }
}
