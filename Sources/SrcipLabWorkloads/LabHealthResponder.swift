import SrcipCore
import SrcipLabCluster
import SrcipLabKubeProxy
import SrcipSystem
import SrcipHTTP

/// The HTTP answer of the lab's health-check server: kube-proxy's service health response (`KubeProxyHealthCheck`).
public enum LabHealthResponder {
    public static func reply(service: Service, node: LabNode, state: ClusterState) -> HTTPServer.Reply {
        let r = KubeProxyHealthCheck.response(service: service, node: node, state: state)
        return HTTPServer.Reply(status: r.status, headers: r.headers, body: r.body)
    }
}
