import Foundation
import SrcipCore
@testable import SrcipLabCluster
@testable import SrcipLabKubeProxy
@testable import SrcipLabWorkloads
@testable import SrcipLabNetwork
@testable import SrcipLabDemo
import SrcipSystem
import Testing

/// Privileged: `lab apply`, `lab scale` and `lab delete` on a running lab, in both proxy modes.
@Suite("Lab apply/scale/delete (privileged)", .serialized, .privileged)
struct LabApplyTests {
    /// A bare lab: one client pod on node2.
    static let base = """
        apiVersion: v1
        kind: Pod
        metadata: {name: client-a, labels: {app: client}}
        spec: {nodeName: node2, containers: [{name: c, image: busybox}]}
        """

    /// A Deployment on node1 and a NodePort Service in front of it; plus a bare pod to delete later.
    static let added = ScenarioManifest.webDeployment + """
        apiVersion: v1
        kind: Service
        metadata: {name: web}
        spec:
          type: NodePort
          selector: {app: web}
          ports: [{port: 80, targetPort: 8080}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: extra, labels: {app: extra}}
        spec: {nodeName: node1, containers: [{name: c, image: busybox}]}
        """

    @Test("apply adds a Service and a Deployment, scale 0 rejects and scale 1 answers, delete removes netns and veth",
          arguments: ProxyMode.allCases)
    func applyScaleDelete(mode: ProxyMode) throws {
        let naming = try LabNaming(lab: LabTestSupport.uniqueLabName(mode == .iptables ? "ai" : "an"))
        let srcip = try LabTestSupport.srcipExecutable()
        let objects = try LabManifest.parse(Self.base, source: "base").objects
        let state = try ClusterState.build(from: objects, nodeCount: 2)
        try LabController.up(state: state, options: LabUpOptions(naming: naming, proxyMode: mode, objects: objects, srcipExecutable: srcip))
        defer { _ = try? LabController.down(naming: naming) }
        let clientPod = naming.podNamespace(state.pods[0])

        let report = try LabReconciler.apply(try LabManifest.parse(Self.added, source: "added").objects, naming: naming, srcip: srcip)
        #expect(Set(report.addedPods) == ["default/web-0", "default/extra"])
        #expect(report.changedServices == ["default/web"])
        var record = report.record
        let web = try #require(record.state.service(name: "web"))
        let webPod = try #require(record.state.pods.first { $0.name == "web-0" })
        #expect(record.state.pods.first { $0.name == "client-a" }?.ip == state.pods[0].ip)   // untouched pod keeps its IP
        #expect(try nodeLinks(naming, "node1").contains(LabNaming.podVeth(webPod, cni: .bridge)))

        // The new Service answers with the documented source (§4 row 8 via node2: node2's address; row 1: the pod's own).
        let nodePort = try #require(web.ports.first?.nodePort)
        let node2 = try #require(record.state.node(named: "node2"))
        let documented = ScenarioExpectation.expect(service: web, frontend: .nodePort, client: .external(LabNaming.clientIP),
                                                    entry: node2, backend: webPod, state: record.state)
        #expect(documented.description == "192.168.10.12")
        let viaNodePort = HTTPProbe.get(in: naming.clientNamespace, ip: node2.ip.description, port: nodePort, timeout: 3)
        #expect(viaNodePort.clientAddress == documented.description, "\(viaNodePort)")
        let clusterIP = try #require(web.clusterIP).description
        #expect(HTTPProbe.get(in: clientPod, ip: clusterIP, port: 80, timeout: 3).clientAddress == state.pods[0].ip.description)

        // Scale to 0: no endpoints, kube-proxy rejects; back to 1: answers again, same ClusterIP and NodePort.
        record = try LabReconciler.scale(deployment: "web", replicas: 0, naming: naming, srcip: srcip).record
        #expect(!FileManager.default.fileExists(atPath: "/run/netns/\(naming.podNamespace(webPod))"))
        #expect(HTTPProbe.get(in: naming.clientNamespace, ip: node2.ip.description, port: nodePort, timeout: 2) == .refused)
        #expect(HTTPProbe.get(in: clientPod, ip: clusterIP, port: 80, timeout: 2) == .refused)
        record = try LabReconciler.scale(deployment: "web", replicas: 1, naming: naming, srcip: srcip).record
        #expect(record.state.service(name: "web")?.clusterIP == web.clusterIP)
        #expect(record.state.service(name: "web")?.ports.first?.nodePort == nodePort)
        let again = HTTPProbe.get(in: naming.clientNamespace, ip: node2.ip.description, port: nodePort, timeout: 3)
        #expect(again.clientAddress == "192.168.10.12", "\(again)")

        // Deleting a pod removes its namespace, its veth on the node and its echo server.
        let extra = try #require(record.state.pods.first { $0.name == "extra" })
        let extraPid = try #require(record.daemons.first { $0.role == "echo-extra" }?.pid)
        record = try LabReconciler.delete(.pod, name: "extra", naming: naming, srcip: srcip).record
        #expect(!FileManager.default.fileExists(atPath: "/run/netns/\(naming.podNamespace(extra))"))
        #expect(!(try nodeLinks(naming, "node1")).contains(LabNaming.podVeth(extra, cni: .bridge)))
        #expect(!NamespaceProcesses.isAlive(extraPid))
        #expect(!record.namespaces.contains(naming.podNamespace(extra)))
        #expect(throws: ManifestEditError.self) { try LabReconciler.delete(.pod, name: "web-0", naming: naming, srcip: srcip) }

        // Deleting the Service leaves no per-service rules behind; the saved record matches.
        record = try LabReconciler.delete(.service, name: "web", naming: naming, srcip: srcip).record
        #expect(try kubeProxyMentions(naming, mode: mode, of: web) == 0)
        #expect(try LabRecord.load(naming)?.state.services.isEmpty == true)
        #expect(record.objects?.services.isEmpty == true)
    }

    func nodeLinks(_ naming: LabNaming, _ node: String) throws -> String {
        try Command.check("ip", ["-n", naming.nodeNamespace(node), "-o", "link", "show"])
    }

    /// Lines of the node1 ruleset that still mention `service`'s ClusterIP.
    func kubeProxyMentions(_ naming: LabNaming, mode: ProxyMode, of service: Service) throws -> Int {
        let ns = naming.nodeNamespace("node1")
        let dump = mode == .iptables ? try Command.check("ip", ["netns", "exec", ns, "iptables-save"])
            : try Command.check("ip", ["netns", "exec", ns, "nft", "list", "table", "ip", "kube-proxy"])
        let chains = mode == .iptables ? dump.split(separator: "\n").filter { $0.hasPrefix(":KUBE-SEP-") || $0.hasPrefix(":KUBE-SVC-") }.count : 0
        return dump.split(separator: "\n").filter { $0.contains(service.clusterIP!.description) }.count + chains
    }
}
