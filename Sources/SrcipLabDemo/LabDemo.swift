import Foundation
import SrcipCore
import SrcipLabCluster
import SrcipLabKubeProxy
import SrcipLabWorkloads
import SrcipLabNetwork
import SrcipSystem
import SrcipExport

/// One line of the demo table.
public struct DemoRow: Sendable {
    public var demoCase: DemoCase
    public var path: String
    public var outcome: ProbeOutcome
    public var expected: ExpectedSource
    public var observed: String?
    /// srcip's own observation, when the demo ran with traces.
    public var srcip: DemoObservation?
    /// The echo pod saw what is documented, and srcip (if it traced) agrees with both.
    public var matches: Bool { expected.matches(outcome) && srcip?.agrees != false }
}

/// `srcip lab demo`: the seed experiment ("Using Source IP") on the lab — ClusterIP from pods, NodePort on every node,
/// LoadBalancer through a passthrough and a proxy LB, and the externalTrafficPolicy: Local twins.
public final class LabDemo {
    public let naming: LabNaming
    public let proxyMode: ProxyMode
    public let cni: LabCNI
    public let ipFamily: LabIPFamily
    public let srcip: String
    public var observer: DemoObserver?
    private var nextPort: [Int: UInt16] = [:]

    public init(naming: LabNaming, proxyMode: ProxyMode, cni: LabCNI = .bridge, ipFamily: LabIPFamily = .ipv4,
                srcip: String = Command.selfExecutable(), observer: DemoObserver? = nil) {
        self.naming = naming
        self.ipFamily = ipFamily
        self.proxyMode = proxyMode
        self.cni = cni
        self.srcip = srcip
        self.observer = observer
    }

    /// The seed manifest plus two client pods (on node1, next to the echo pod, and on node2).
    public static func manifest() throws -> String {
        var text = try LabManifest.loadDefaultManifest()
        for node in ["node1", "node2"] {
            text += """

            ---
            apiVersion: v1
            kind: Pod
            metadata:
              name: client-\(node)
              labels:
                app: client
            spec:
              nodeName: \(node)
              containers:
                - name: shell
                  image: busybox

            """
        }
        return text
    }

    /// Brings the lab up (not torn down here; the caller owns `down`).
    public func up() throws -> LabRecord {
        _ = try Command.require("conntrack")   // finds the node the passthrough LB picked
        let text = try Self.manifest()
        var (objects, _) = try LabManifest.parse(text, source: "demo")
        // Dual-stack: every Service gets both families (as `ipFamilyPolicy: PreferDualStack` would), so each row runs on each.
        if ipFamily == .dual {
            for i in objects.services.indices { objects.services[i].ipFamilyPolicy = .preferDualStack }
        }
        let state = try ClusterState.build(from: objects, cni: cni, ipFamily: ipFamily)
        let record = try LabController.up(state: state, options: LabUpOptions(
            naming: naming, proxyMode: proxyMode, loadBalancerMode: .passthrough, manifest: text, objects: objects, srcipExecutable: srcip))
        try observer?.labDidStart(record: record, naming: naming)
        return record
    }

    /// A fresh client source port; LB requests use the steering range of `node` (1-based index) so the LB aims there.
    private func sourcePort(steer nodeIndex: Int) -> UInt16 {
        let range = LoadBalancerPlan.steeringPorts(nodeIndex: nodeIndex)
        let n = nextPort[nodeIndex, default: 0]
        nextPort[nodeIndex] = (n + 1) % UInt16(range.count)
        return range.lowerBound + n
    }

    /// Runs every case against the running lab on each of its families, switching the LB to proxy mode for the second
    /// LB round of each.
    public func run(_ initial: LabRecord) throws -> [DemoRow] {
        var record = initial
        var rows: [DemoRow] = []
        for family in record.state.families {
            rows += try run(&record, family: family)
        }
        if let observations = observer?.review(rows) {
            for (i, o) in observations.enumerated() where i < rows.count {
                rows[i].srcip = o
                if rows[i].observed == nil { rows[i].observed = o?.text }
            }
        }
        return rows
    }

    private func run(_ record: inout LabRecord, family: IPFamily) throws -> [DemoRow] {
        let state = record.state
        let client = LabAddressing.externalClient(family)
        let svc = { (name: String) in state.services.first { $0.name == name }! }
        let backend = state.pods.first { $0.name.hasPrefix("source-ip-app") }!
        var rows: [DemoRow] = []
        let clients = state.pods.filter { $0.name.hasPrefix("client-") }.sorted { $0.node > $1.node }
        let of = { (ips: [IPAddress]) in ips.first { IPFamily.of($0) == family }! }

        // ClusterIP from a pod on another node and on the same node.
        for pod in clients {
            let s = svc("clusterip")
            let node = state.nodes.first { $0.name == pod.node }!
            rows.append(probe(record, s, .clusterIP, .pod(pod), naming.podNamespace(pod), of(s.clusterIPs), s.ports[0].port,
                              entry: node, steer: 1, path: "pod on \(pod.node) → \(pod.node) → \(backend.node)"))
        }
        // NodePort on every node from outside, Cluster and Local.
        for name in ["nodeport", "nodeport-local"] {
            let s = svc(name)
            for (i, node) in state.nodes.enumerated() {
                rows.append(probe(record, s, .nodePort, .external(client), naming.clientNamespace, node.ip(family)!, s.ports[0].nodePort!,
                                  entry: node, steer: i + 1, path: "client → \(node.name) → \(backend.node)"))
            }
        }
        // LoadBalancer in both LB modes, aimed at every node.
        for mode in [LoadBalancerMode.passthrough, .proxy] {
            if record.loadBalancerMode != mode { record = try LoadBalancer.switchMode(to: mode, naming: naming, srcip: srcip) }
            for name in ["loadbalancer", "loadbalancer-local"] {
                let s = svc(name)
                for (i, node) in state.nodes.enumerated() {
                    rows.append(probe(record, s, .loadBalancer, .external(client), naming.clientNamespace,
                                      of(s.loadBalancerIPs), s.ports[0].port, entry: node, steer: i + 1, path: ""))
                }
            }
        }
        return rows
    }

    private func probe(_ record: LabRecord, _ service: Service, _ frontend: Frontend, _ client: LabClient, _ ns: String,
                       _ dst: IPAddress, _ port: UInt16, entry: LabNode, steer: Int, path: String) -> DemoRow {
        let lbMode: LoadBalancerMode? = frontend == .loadBalancer ? record.loadBalancerMode : nil
        let family = IPFamily.of(dst)
        let demoCase = DemoCase(service: service, frontend: frontend, client: client, clientNamespace: ns,
                                sourcePort: sourcePort(steer: steer), destination: dst, destinationPort: port,
                                loadBalancerMode: lbMode, intendedEntry: entry)
        observer?.willSend(demoCase)
        let outcome = HTTPProbe.get(in: ns, ip: dst.description, port: port, sourcePort: demoCase.sourcePort, timeout: 1.5)
        let observed = observer?.didSend(demoCase, outcome: outcome)
        let backend = record.state.pods.first { $0.name == EchoResponse.hostname(in: outcome.body ?? "") }
            ?? record.state.pods.first { p in service.ports.flatMap(\.endpoints).contains { $0.ip == p.ip(family) } }
        var expected: ExpectedSource
        var shownPath = path
        if let lbMode {
            // The LB's client is the client (passthrough) or the LB itself (proxy); the node it picked is the entry node.
            let lbNode = LabEntryTrace.loadBalancerNode(record: record, naming: naming, clientPort: demoCase.sourcePort)
            let lbClient: LabClient = lbMode == .passthrough ? client : .external(LoadBalancerPlan.proxySourceIP(family))
            if let lbNode {
                expected = ScenarioExpectation.expect(service: service, frontend: .nodePort, client: lbClient, entry: lbNode,
                                                      backend: backend, state: record.state, family: family)
            } else {
                expected = .dropped(row: 17)
            }
            shownPath = "client → \(lbMode == .passthrough ? "NLB" : "proxy LB")→\(entry.name)? → \(lbNode?.name ?? "none") → \(backend?.node ?? "-")"
        } else {
            expected = ScenarioExpectation.expect(service: service, frontend: frontend, client: client, entry: entry,
                                                  backend: backend, state: record.state, family: family)
        }
        return DemoRow(demoCase: demoCase, path: shownPath, outcome: outcome, expected: expected, observed: observed, srcip: nil)
    }
}

extension ProbeOutcome {
    /// The answer's body, if any.
    public var body: String? {
        if case let .response(_, body) = self { return body }
        return nil
    }
}
