import SrcipCore

/// The HTTP answer of the lab's health-check server for one Service on one node.
public enum LabHealthResponder {
    public static func reply(service: Service, node: LabNode, state: ClusterState) -> HTTPServer.Reply {
        let local = Set(service.ports.flatMap(\.endpoints).filter { $0.ready && $0.nodeName == node.name }.map(\.ip)).count
        let body = "{\"service\":{\"namespace\":\"\(service.namespace)\",\"name\":\"\(service.name)\"},"
            + "\"localEndpoints\":\(local),\"serviceProxyHealthy\":true}"
        return HTTPServer.Reply(status: local > 0 ? 200 : 503,
                                headers: [("Content-Type", "application/json"), ("X-Content-Type-Options", "nosniff"),
                                          ("X-Load-Balancing-Endpoint-Weight", String(local))],
                                body: body)
    }
}
