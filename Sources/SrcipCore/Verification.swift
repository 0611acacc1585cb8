/// One flow or stitched path reduced to what the verification report needs: which Service port and entry path it
/// exercised, what the backend saw, and how that compares with §4 of docs/kube-proxy-nat.md.
public struct VerificationFlow: Hashable, Sendable {
    /// A single node's flow record, or a path stitched across nodes by `FlowPathMerger`.
    public enum Source: Hashable, Sendable {
        case record(FlowRecord)
        case path(FlowPath)
    }

    public var service: ServiceRef
    public var clientKind: ClientKind
    /// The node where the client addressed the Service (the record's node, or the path's VIP hop).
    public var entryNode: String
    public var clientAddress: IPAddress
    /// The source the backend saw; nil when the request never left toward a backend.
    public var backendSaw: IPAddress?
    /// Where that source was written; nil when nothing rewrote it.
    public var writtenAt: TranslationPoint?
    public var verdict: Verdict
    public var expected: Verdict?
    public var expectedRow: Int?
    /// Node where the flow was dropped or rejected.
    public var stoppedAt: String?
    /// Why the verdict or expectation is what it is, when the record says (drop reason, missing evidence).
    public var reason: String?
    public var source: Source
    /// Why the record itself says its flow cannot be checked though verdict and expectation are known (it started
    /// while the Service rules changed, or a REJECT's ICMP was rate-limited); nil when it can.
    public var notCheckable: String?

    /// `true`/`false` when both the verdict and the expectation are known, else nil (counted as undecided).
    public var met: Bool? {
        guard let expected, verdict != .unknown, notCheckable == nil else { return nil }
        return verdict == expected
    }

    /// A flow record addressed to a Service on this node; nil for flows without a Service, and for flows that reached
    /// a backend here after entering elsewhere (resolved from the endpoint: judged where they entered).
    public init?(record r: FlowRecord) {
        guard let s = r.service, s.resolvedFrom == .vip else { return nil }
        service = s
        clientKind = r.clientKind
        entryNode = r.node
        clientAddress = r.original.src
        backendSaw = (r.verdict == .dropped || r.verdict == .rejected) ? nil : r.translated?.src
        writtenAt = r.snat ? TranslationPoint(node: r.node, interface: r.snatInterface, hook: r.snatHook, addressInterface: r.snatAddressInterface) : nil
        verdict = r.verdict
        expected = r.expected
        expectedRow = r.expectedRow
        stoppedAt = (r.verdict == .dropped || r.verdict == .rejected) ? r.node : nil
        reason = r.reason
        source = .record(r)
        notCheckable = Self.notCheckable(r)
    }

    /// Why a record with a known verdict and expectation says it cannot be checked (`expectationMet` nil), else nil.
    static func notCheckable(_ r: FlowRecord) -> String? {
        guard r.expectationMet == nil, r.expected != nil, r.verdict != .unknown else { return nil }
        let notes = [FlowCorrelator.catalogChangingNote, FlowCorrelator.rejectSuppressedNote, FlowCorrelator.catalogLostNote]
        return notes.first { r.reason?.contains($0) == true } ?? "not checkable: \(r.reason ?? "the record says so")"
    }

    /// A stitched path whose client addressed a Service on one of its hops; nil otherwise.
    public init?(path p: FlowPath) {
        guard let vipHop = p.hops.first(where: { $0.service?.resolvedFrom == .vip }), let s = vipHop.service else { return nil }
        service = s
        clientKind = vipHop.clientKind
        entryNode = vipHop.node
        clientAddress = p.hops[0].original.src
        let stop = p.hops.first { $0.verdict == .dropped || $0.verdict == .rejected }
        backendSaw = stop == nil ? p.backendSawSource : nil
        writtenAt = p.snatWrittenAt
        verdict = p.verdict
        expected = p.expected
        expectedRow = vipHop.expectedRow
        stoppedAt = stop?.node
        reason = p.hops.compactMap(\.reason).first
        source = .path(p)
        notCheckable = Self.notCheckable(vipHop)
    }
}

/// One row of the report: a Service port reached through one frontend by one kind of client under one §4 row.
public struct VerificationKey: Hashable, Sendable, Comparable {
    public var service: String
    public var portName: String?
    public var port: UInt16
    public var frontend: Frontend
    public var clientKind: ClientKind
    /// §4 row the expectation came from; nil when there is none.
    public var expectedRow: Int?

    public static func < (a: Self, b: Self) -> Bool {
        (a.service, a.port, a.portName ?? "", a.frontend.rawValue, a.clientKind.rawValue, a.expectedRow ?? 0)
            < (b.service, b.port, b.portName ?? "", b.frontend.rawValue, b.clientKind.rawValue, b.expectedRow ?? 0)
    }
}

/// What one row concluded.
public enum VerificationStatus: String, Hashable, Sendable, CaseIterable, Comparable {
    /// At least one flow broke the documented behaviour.
    case failed
    /// Flows were seen, none could be decided (verdict `unknown` or no documented expectation).
    case undecided
    /// A Service selected with `--check-service` saw no traffic.
    case notExercised = "not_exercised"
    /// Every decided flow behaved as documented.
    case passed

    /// Failures first, then what needs a look, then what is fine.
    public static func < (a: Self, b: Self) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// What the backends saw for a row: the client's address (preserved), or a replacing address and where it was written.
public struct BackendSaw: Hashable, Sendable, Comparable {
    /// The client's own address reached the backend.
    public var preserved: Bool
    public var address: IPAddress
    /// Where the replacing address was written (nil when preserved, or when no hop recorded the rewrite).
    public var writtenAt: TranslationPoint?

    public static func < (a: Self, b: Self) -> Bool {
        (a.preserved ? 0 : 1, a.address.description, a.writtenAt?.description ?? "")
            < (b.preserved ? 0 : 1, b.address.description, b.writtenAt?.description ?? "")
    }
}

/// Counts per value, in a stable order.
public struct Tally<Value: Hashable & Comparable & Sendable>: Hashable, Sendable {
    public private(set) var counts: [Value: Int] = [:]

    public init() {}

    public mutating func add(_ v: Value) { counts[v, default: 0] += 1 }

    /// Largest count first, then by value.
    public var sorted: [(value: Value, count: Int)] {
        counts.map { (value: $0.key, count: $0.value) }.sorted { ($1.count, $0.value) < ($0.count, $1.value) }
    }

    public var total: Int { counts.values.reduce(0, +) }
}

/// One row of the verification report.
public struct VerificationRow: Hashable, Sendable {
    public var key: VerificationKey
    public var type: ServiceType?
    public var externalTrafficPolicy: TrafficPolicy?
    public var internalTrafficPolicy: TrafficPolicy?
    /// What §4 documents for the row (nil: no expectation, e.g. an LB IP in `ipMode: Proxy`).
    public var expected: Verdict?
    /// Flows per entry node.
    public var entryNodes = Tally<String>()
    public var flows = 0
    public var met = 0
    public var missed = 0
    /// Flows that could not be decided, and why (reason → count).
    public var undecided = Tally<String>()
    public var saw = Tally<BackendSaw>()
    /// `dropped@node` / `rejected@node` → count.
    public var stopped = Tally<String>()
    /// The flows that broke the documented behaviour (at most `VerificationReport.evidenceLimit`).
    public var evidence: [VerificationFlow] = []

    public var status: VerificationStatus {
        if missed > 0 { return .failed }
        if flows == 0 { return .notExercised }
        return met > 0 ? .passed : .undecided
    }

    /// A Service selected with `--check-service` that no flow reached.
    public static func notExercised(_ service: String) -> VerificationRow {
        VerificationRow(key: VerificationKey(service: service, portName: nil, port: 0, frontend: .clusterIP, clientKind: .pod,
                                             expectedRow: nil))
    }
}

/// The §4 verification of a trace or a merge: rows per Service port and entry path, and the exit status of `--check`.
public struct VerificationReport: Hashable, Sendable {
    public static let evidenceLimit = 5

    /// Failed rows first, then undecided, not exercised, passed; each group by Service, port, frontend, client, row.
    public var rows: [VerificationRow]
    /// Flows or paths not verified: addressed to no known Service (on this node: also flows judged on the node where
    /// they entered), or to a Service not selected with `--check-service`.
    public var notServiceTraffic: Int
    /// Whether the rows come from paths stitched across nodes.
    public var clusterWide: Bool

    /// From one node's flow records.
    public static func build(records: [FlowRecord], services selected: [String] = []) -> VerificationReport {
        var b = VerificationBuilder(clusterWide: false)
        for r in records { b.add(record: r) }
        return b.report(services: selected)
    }

    /// From paths stitched across nodes (`FlowPathMerger.merge`).
    public static func build(paths: [FlowPath], services selected: [String] = []) -> VerificationReport {
        var b = VerificationBuilder(clusterWide: true)
        for p in paths { b.add(path: p) }
        return b.report(services: selected)
    }

    public var failed: Int { rows.filter { $0.status == .failed }.count }
    public var passed: Int { rows.filter { $0.status == .passed }.count }
    public var flowsMet: Int { rows.reduce(0) { $0 + $1.met } }
    public var flowsMissed: Int { rows.reduce(0) { $0 + $1.missed } }
    public var flowsUndecided: Int { rows.reduce(0) { $0 + $1.undecided.total } }

    /// `--check`'s contract: 0 every decided flow as documented, 1 a mismatch, 2 nothing verifiable.
    public var exitStatus: Int32 {
        if failed > 0 { return 1 }
        return passed > 0 ? 0 : 2
    }
}

/// Accumulates flows into rows as they are written (memory grows with the rows, not the flows).
public struct VerificationBuilder: Sendable {
    public let clusterWide: Bool
    private var rows: [VerificationKey: VerificationRow] = [:]
    private var notService = 0

    public init(clusterWide: Bool) { self.clusterWide = clusterWide }

    /// Rows kept, and the distinct values counted across their tallies and evidence (memory grows with these).
    public var size: (rows: Int, entries: Int) {
        (rows.count, rows.values.reduce(0) {
            $0 + $1.entryNodes.counts.count + $1.undecided.counts.count + $1.saw.counts.count + $1.stopped.counts.count + $1.evidence.count
        })
    }

    /// A node's flow record; flows without a Service here, or judged where they entered, count as not verifiable.
    public mutating func add(record: FlowRecord) {
        if let f = VerificationFlow(record: record) { add(f) } else { notService += 1 }
    }

    /// A stitched path; one whose client addressed no known Service counts as not verifiable.
    public mutating func add(path: FlowPath) {
        if let f = VerificationFlow(path: path) { add(f) } else { notService += 1 }
    }

    public mutating func add(_ f: VerificationFlow) {
        let key = VerificationKey(service: f.service.id, portName: f.service.portName, port: f.service.port,
                                  frontend: f.service.frontend, clientKind: f.clientKind, expectedRow: f.expectedRow)
        var row = rows[key] ?? VerificationRow(key: key, type: f.service.type,
                                               externalTrafficPolicy: f.service.externalTrafficPolicy,
                                               internalTrafficPolicy: f.service.internalTrafficPolicy, expected: f.expected)
        row.add(f)
        rows[key] = row
    }

    /// The sorted report; with `selected` (`namespace/name`), only those Services, each at least as "not exercised".
    public func report(services selected: [String] = []) -> VerificationReport {
        let wanted = Set(selected)
        var all = rows.values.filter { wanted.isEmpty || wanted.contains($0.key.service) }
        let exercised = Set(all.map(\.key.service))
        all += wanted.subtracting(exercised).map(VerificationRow.notExercised)
        all.sort { ($0.status, $0.key) < ($1.status, $1.key) }
        let skipped = wanted.isEmpty ? 0 : rows.values.filter { !wanted.contains($0.key.service) }.reduce(0) { $0 + $1.flows }
        return VerificationReport(rows: all, notServiceTraffic: notService + skipped, clusterWide: clusterWide)
    }
}

extension VerificationRow {
    mutating func add(_ f: VerificationFlow) {
        flows += 1
        entryNodes.add(f.entryNode)
        if let at = f.stoppedAt {
            stopped.add("\(f.verdict.rawValue)@\(at)")
        } else if let saw = f.backendSaw {
            let preserved = saw == f.clientAddress && f.writtenAt == nil
            self.saw.add(BackendSaw(preserved: preserved, address: saw, writtenAt: preserved ? nil : f.writtenAt))
        }
        switch f.met {
        case true?: met += 1
        case false?:
            missed += 1
            if evidence.count < VerificationReport.evidenceLimit { evidence.append(f) }
        case nil: undecided.add(Self.undecidedReason(f))
        }
    }

    /// Why a flow could not be decided, in words a user can act on.
    static func undecidedReason(_ f: VerificationFlow) -> String {
        if let why = f.notCheckable { return why }
        if f.expected == nil {
            return f.service.frontend == .loadBalancer
                ? "no documented expectation: LB ipMode Proxy (§4 row 22), the load balancer decides"
                : "no documented expectation for this flow"
        }
        if let r = f.reason { return "verdict unknown: \(r)" }
        return "verdict unknown: not enough was observed (no egress view of the request, or no reply)"
    }
}
