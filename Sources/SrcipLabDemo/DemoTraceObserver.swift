import Foundation
import Synchronization
import SrcipCore
import SrcipLabCluster
import SrcipLabKubeProxy
import SrcipLabWorkloads
import SrcipLabNetwork
import SrcipSystem
import SrcipExport

/// The demo's "srcip saw" column: `srcip trace` runs in every node for the whole demo; afterwards each request is
/// found in the flow records (by client address and source port, or — behind the proxy LB, which reconnects — by
/// time and NodePort), the hops are stitched with `FlowPathMerger`, and srcip's end-to-end answer (the source the
/// backend saw, or dropped/rejected) is checked against the echo pod and the documented expectation.
public final class DemoTraceObserver: DemoObserver {
    public let srcip: String
    public let options: LabTraceSession.Options
    public private(set) var session: LabTraceSession?
    private var record: LabRecord?
    private var sendTimes: [String: (start: Int64, end: Int64)] = [:]
    /// Every node's flow records stitched into paths, once `review` ran (the demo's verification table).
    public private(set) var paths: [FlowPath] = []
    /// The running traces' process ids, for a signal handler on another thread (see `TracePIDs`).
    public let tracePIDs = TracePIDs()

    public init(srcip: String, options: LabTraceSession.Options = LabTraceSession.Options()) {
        self.srcip = srcip
        self.options = options
    }

    public func labDidStart(record: LabRecord, naming: LabNaming) throws {
        self.record = record
        let session = try LabTraceSession.start(record: record, naming: naming, srcip: srcip, options: options)
        self.session = session
        tracePIDs.set(session.traces.map(\.pid))
    }

    public func willSend(_ demoCase: DemoCase) {
        sendTimes[Self.key(demoCase)] = (Self.nowNs(), 0)
    }

    public func didSend(_ demoCase: DemoCase, outcome: ProbeOutcome) -> String? {
        sendTimes[Self.key(demoCase)]?.end = Self.nowNs()
        return nil
    }

    public func review(_ rows: [DemoRow]) -> [DemoObservation?] {
        guard let session, let record else { return [] }
        let failed = session.stop().filter { $0.value != 0 }.sorted { $0.key < $1.key }
            .map { "srcip trace on \($0.key) exited with status \($0.value): \(session.log(node: $0.key).suffix(300))" }
        let all: [FlowRecord]
        do { all = try session.records().values.flatMap { $0 } } catch {
            return rows.map { _ in DemoObservation(text: "no records", backendSaw: nil, verdict: .unknown, problems: failed + ["\(error)"]) }
        }
        let paths = FlowPathMerger.merge(all).paths
        self.paths = paths
        return rows.map { row in
            guard let times = sendTimes[Self.key(row.demoCase)] else { return nil }
            var o = Self.observe(row, times: times, paths: paths, state: record.state)
            o.problems += failed
            return o
        }
    }

    public func labWillStop() {
        session?.stop()
        tracePIDs.set([])
    }

    /// srcip's account of one row from the merged paths.
    static func observe(_ row: DemoRow, times: (start: Int64, end: Int64), paths: [FlowPath], state: ClusterState) -> DemoObservation {
        let c = row.demoCase
        guard let path = DemoPathMatcher.path(for: c, sentBetween: times.start, and: times.end, in: paths, state: state) else {
            return DemoObservation(text: "not seen", backendSaw: nil, verdict: .unknown,
                                   problems: ["srcip recorded no flow for source port \(c.sourcePort)"])
        }
        let verdict = path.verdict
        var text: String
        var saw: IPAddress?
        switch verdict {
        case .dropped, .rejected:
            let hop = path.hops.first { $0.verdict == verdict } ?? path.hops[0]
            text = "\(verdict)@\(hop.node)"
        default:
            saw = path.backendSawSource
            if let w = path.snatWrittenAt {
                text = "SNAT@\(w.node)/\(w.interface ?? "?") → \(path.backendSawSource)"
                // Say whose address it is when that is not the device it was written at (routed: a pod veth writes the node IP).
                if let owner = w.addressInterface, owner != w.interface { text += " (\(owner)'s)" }
            } else {
                text = verdict == .unknown ? "unknown (backend saw \(path.backendSawSource))" : "preserved"
            }
        }
        if let met = path.expectationMet { text += met ? " ✓" : " ✗ (expected \(path.expected?.rawValue ?? "?"))" }

        var problems: [String] = []
        let asOutcome: ProbeOutcome
        switch verdict {
        case .dropped: asOutcome = .timeout
        case .rejected: asOutcome = .refused
        default: asOutcome = .response(status: 200, body: "client_address=\(path.backendSawSource)\n")
        }
        switch (row.outcome, asOutcome) {
        case (.response, .response):
            if row.outcome.clientAddress != path.backendSawSource.description {
                problems.append("echo pod saw \(row.outcome.clientAddress ?? "?"), srcip says \(path.backendSawSource)")
            }
        case (.timeout, .timeout), (.refused, .refused): break
        default: problems.append("echo pod: \(row.outcome), srcip: \(verdict)")
        }
        if !row.expected.matches(asOutcome) { problems.append("documented \(row.expected), srcip: \(text)") }
        if path.expectationMet == false { problems.append("srcip's own expectation \(path.expected?.rawValue ?? "?") differs from its verdict \(verdict)") }
        return DemoObservation(text: text, backendSaw: saw, verdict: verdict, problems: problems)
    }

    private static func key(_ c: DemoCase) -> String { "\(c.clientNamespace):\(c.sourcePort)" }

    static func nowNs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}

/// Finds the path of one lab request among merged flow paths.
public enum DemoPathMatcher {
    /// Slack around the send window for clock reading and record timestamps.
    static let slackNs: Int64 = 200_000_000

    /// The path whose first hop is the request: from the client's address and source port, started while it was sent;
    /// behind the proxy LB (which reconnects from its own address and port) the path from the LB to the NodePort.
    public static func path(for c: DemoCase, sentBetween start: Int64, and end: Int64, in paths: [FlowPath],
                            state: ClusterState) -> FlowPath? {
        // A host's socket picks its source address by route (eth0, cni0, or 127.0.0.1): match hosts by port only.
        let family = IPFamily.of(c.destination)
        let clientIP: IPAddress?
        switch c.client {
        case let .pod(p): clientIP = p.ip(family)
        case .host: clientIP = nil
        case let .external(ip): clientIP = ip
        }
        let nodePorts = Set(c.service.ports.compactMap(\.nodePort))
        let candidates = paths.filter { p in
            let first = p.hops[0].original
            guard first.proto == .tcp, p.hops[0].startNs >= start - slackNs, p.hops[0].startNs <= end + slackNs else { return false }
            if (clientIP == nil || first.src == clientIP) && first.srcPort == c.sourcePort { return true }
            // The proxy's own connection is opened while the client's request is in flight: no slack.
            return c.loadBalancerMode == .proxy && first.src == LoadBalancerPlan.proxySourceIP(family) && nodePorts.contains(first.dstPort)
                && p.hops[0].startNs >= start && p.hops[0].startNs <= end
        }
        return candidates.max { ($0.hops.count, -$0.hops[0].startNs) < ($1.hops.count, -$1.hops[0].startNs) }
    }
}

/// Process ids of a demo's running traces, safe to read from any thread: Ctrl-C asks them to stop (SIGINT: they
/// detach and write their flows) even while the demo's own thread is busy.
public final class TracePIDs: Sendable {
    private let pids = Mutex<[pid_t]>([])

    public init() {}

    func set(_ new: [pid_t]) { pids.withLock { $0 = new } }

    /// Sends SIGINT to every trace still registered and forgets them.
    public func interrupt() {
        for pid in pids.withLock({ p in defer { p = [] }; return p }) { kill(pid, SIGINT) }
    }
}
