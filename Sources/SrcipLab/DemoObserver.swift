import SrcipCore

/// One request of the demo, with everything a tracer needs to find it (namespace, 5-tuple before NAT).
public struct DemoCase: Sendable {
    public var service: Service
    public var frontend: Frontend
    public var client: ScenarioClient
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
    /// The lab is about to be torn down.
    func labWillStop()
}
