/// Which flow records and paths to show: by Service, namespace, verdict, and source or destination address. An empty
/// criterion matches everything; criteria combine with AND, values of one criterion with OR. Addresses match the
/// tuple before or after NAT (a source is the client's or what SNAT made of it; a destination is the Service
/// address or the backend it was translated to).
public struct FlowRecordFilter: Sendable, Hashable {
    /// `namespace/name`.
    public var services: Set<String> = []
    public var namespaces: Set<String> = []
    public var verdicts: Set<Verdict> = []
    public var fromIPs: Set<IPAddress> = []
    public var toIPs: Set<IPAddress> = []

    public init(services: Set<String> = [], namespaces: Set<String> = [], verdicts: Set<Verdict> = [],
                fromIPs: Set<IPAddress> = [], toIPs: Set<IPAddress> = []) {
        self.services = services
        self.namespaces = namespaces
        self.verdicts = verdicts
        self.fromIPs = fromIPs
        self.toIPs = toIPs
    }

    public var isEmpty: Bool { services.isEmpty && namespaces.isEmpty && verdicts.isEmpty && fromIPs.isEmpty && toIPs.isEmpty }

    public func matches(_ r: FlowRecord) -> Bool {
        matches(service: r.service, verdict: r.verdict, tuples: [r.original] + (r.translated.map { [$0] } ?? []))
    }

    /// A path matches by the Service its client addressed, its end-to-end verdict, and any hop's tuples.
    public func matches(_ p: FlowPath) -> Bool {
        matches(service: p.service, verdict: p.verdict, tuples: p.hops.flatMap { [$0.original] + ($0.translated.map { [$0] } ?? []) })
    }

    private func matches(service: ServiceRef?, verdict: Verdict, tuples: [FiveTuple]) -> Bool {
        if !services.isEmpty && !(service.map { services.contains($0.id) } ?? false) { return false }
        if !namespaces.isEmpty && !(service.map { namespaces.contains($0.namespace) } ?? false) { return false }
        if !verdicts.isEmpty && !verdicts.contains(verdict) { return false }
        if !fromIPs.isEmpty && !tuples.contains(where: { fromIPs.contains($0.src) }) { return false }
        if !toIPs.isEmpty && !tuples.contains(where: { toIPs.contains($0.dst) }) { return false }
        return true
    }
}
