import Foundation
import SrcipLabCluster
import SrcipLabNetwork
import SrcipSystem

/// `lab up` and `lab down` of 3 nodes × 3 pods, both proxy modes.
enum LabBench {
    static let manifest = """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: bench}
    spec:
      replicas: 9
      selector: {matchLabels: {app: bench}}
      template:
        metadata: {labels: {app: bench}}
        spec:
          containers:
            - name: echo
              ports: [{name: http, containerPort: 8080}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: bench}
    spec:
      type: LoadBalancer
      externalTrafficPolicy: Local
      selector: {app: bench}
      ports: [{port: 80, targetPort: 8080}]
    """

    struct Result {
        var mode: ProxyMode
        var cni: LabCNI = .bridge
        var ipFamily: LabIPFamily = .ipv4
        var up: [Double] = []
        var down: [Double] = []
    }

    /// Both proxy modes on the bridge CNI with IPv4 (`rounds` each), or with `datapaths` every CNI × IP family in
    /// iptables mode (the Service is dual-stack where the lab is).
    static func run(rounds: Int, datapaths: Bool = false) throws -> [Result] {
        var (objects, _) = try LabManifest.parse(manifest, source: "bench")
        objects.services[0].ipFamilyPolicy = .preferDualStack
        let srcip = URL(fileURLWithPath: Command.selfExecutable()).deletingLastPathComponent().appendingPathComponent("srcip").path
        let combos: [(ProxyMode, LabCNI, LabIPFamily)] = datapaths
            ? LabCNI.allCases.flatMap { c in LabIPFamily.allCases.map { (.iptables, c, $0) } }
            : ProxyMode.allCases.map { ($0, .bridge, .ipv4) }
        var results: [Result] = []
        for (mode, cni, family) in combos {
            let state = try ClusterState.build(from: objects, nodeCount: 3, cni: cni, ipFamily: family)
            precondition(state.nodes.count == 3 && state.pods.count == 9)
            var r = Result(mode: mode, cni: cni, ipFamily: family)
            for _ in 0..<rounds {
                let naming = try LabNaming(lab: "bench\(getpid() % 10_000)")
                let t0 = DispatchTime.now().uptimeNanoseconds
                do {
                    _ = try LabController.up(state: state, options: LabUpOptions(naming: naming, proxyMode: mode, srcipExecutable: srcip))
                } catch {
                    _ = try? LabController.down(naming: naming)
                    throw error
                }
                let t1 = DispatchTime.now().uptimeNanoseconds
                _ = try LabController.down(naming: naming)
                let t2 = DispatchTime.now().uptimeNanoseconds
                r.up.append(Double(t1 - t0) / 1e9)
                r.down.append(Double(t2 - t1) / 1e9)
            }
            results.append(r)
        }
        return results
    }
}
