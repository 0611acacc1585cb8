import SrcipCore
import SrcipJSON
import SrcipLabCluster

/// kube-proxy's per-service health check (`healthCheckNodePort`) response, as pkg/proxy/healthcheck/service_health.go
/// writes it: 200 with local endpoints, 503 without; JSON body; endpoint count in `X-Load-Balancing-Endpoint-Weight`.
public enum KubeProxyHealthCheck {
    /// Ready endpoints of `service` on `node`, counted once per IP across all ports (`EndpointsMap.LocalReadyEndpoints`).
    public static func localEndpointCount(service: Service, node: LabNode) -> Int {
        var ips: Set<IPAddress> = []
        for port in service.ports {
            for ep in port.endpoints where ep.ready && ep.nodeName == node.name { ips.insert(ep.ip) }
        }
        return ips.count
    }

    /// The HTTP response for a request to `service`'s health check port on `node`.
    /// `state` is accepted for symmetry with the renderers; the service carries its resolved endpoints.
    public static func response(service: Service, node: LabNode, state: ClusterState) -> (status: Int, headers: [(String, String)], body: String) {
        response(service: service, node: node, proxyHealthy: true)
    }

    public static func response(service: Service, node: LabNode, proxyHealthy: Bool) -> (status: Int, headers: [(String, String)], body: String) {
        let count = localEndpointCount(service: service, node: node)
        let headers = [
            ("Content-Type", "application/json"),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Load-Balancing-Endpoint-Weight", String(count)),
        ]
        let body = """
        {
        \t"service": {
        \t\t"namespace": \(jsonString(service.namespace)),
        \t\t"name": \(jsonString(service.name))
        \t},
        \t"localEndpoints": \(count),
        \t"serviceProxyHealthy": \(proxyHealthy)
        }
        """
        return (count != 0 && proxyHealthy ? 200 : 503, headers, body)
    }

    /// A JSON string literal (Go's `%q` gives the same for Kubernetes names).
    static func jsonString(_ s: String) -> String { JSONObjectWriter.quoted(s) }
}
