import SrcipCore
import SrcipLabCluster
import SrcipLabKubeProxy
import SrcipLabWorkloads
import SrcipLabNetwork
import SrcipSystem
import SrcipExport

/// One request of the demo, with everything a tracer needs to find it (namespace, 5-tuple before NAT).
public struct DemoCase: Sendable {
    public var service: Service
    public var frontend: Frontend
    public var client: LabClient
    /// Namespace the request is sent from.
    public var clientNamespace: String
    public var sourcePort: UInt16
    public var destination: IPAddress
    public var destinationPort: UInt16
    public var loadBalancerMode: LoadBalancerMode?
    /// Node the request was aimed at (NodePort target, LB steering); the real entry node is found after the request.
    public var intendedEntry: LabNode
}

/// Hook for srcip's own observation of each demo request (the BPF tracer plugs in here); the demo prints "-" without one.
public protocol DemoObserver: AnyObject {
    /// The lab is up: attach to its namespaces.
    func labDidStart(record: LabRecord, naming: LabNaming) throws
    /// Right before the request of `demoCase` is sent.
    func willSend(_ demoCase: DemoCase)
    /// After the request: a short text for the "srcip saw" column (e.g. "SNAT →192.168.10.12 @node2"), or nil.
    func didSend(_ demoCase: DemoCase, outcome: ProbeOutcome) -> String?
    /// Every request was sent: srcip's account of each row (same order; nil where it has none). Observers that
    /// only know the answer after their traces have stopped (flows are written when they end) give it here.
    func review(_ rows: [DemoRow]) -> [DemoObservation?]
    /// The lab is about to be torn down.
    func labWillStop()
}

extension DemoObserver {
    public func review(_ rows: [DemoRow]) -> [DemoObservation?] { [] }
}

/// srcip's end-to-end account of one demo request and whether it agrees with the echo pod and the documentation.
public struct DemoObservation: Sendable {
    /// For the "srcip saw" column: `SNAT@node2/eth0 → 192.168.10.12`, `preserved`, `dropped@node2`.
    public var text: String
    /// The source address srcip says the backend saw (nil when the request never reached one).
    public var backendSaw: IPAddress?
    public var verdict: Verdict
    /// Disagreements with the echo pod, the documented expectation or srcip's own expectation; empty when it agrees.
    public var problems: [String]
    public var agrees: Bool { problems.isEmpty }

    public init(text: String, backendSaw: IPAddress?, verdict: Verdict, problems: [String]) {
        self.text = text
        self.backendSaw = backendSaw
        self.verdict = verdict
        self.problems = problems
    }
}
