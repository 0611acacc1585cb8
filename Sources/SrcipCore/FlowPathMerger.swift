/// Where a translation was written: node, interface and hook, and which device of that node owns the address written.
public struct TranslationPoint: Hashable, Sendable, CustomStringConvertible {
    public var node: String
    public var interface: String?
    public var hook: Hook?
    /// The node's device whose address replaced the source (eth0: the node IP, cni0, flannel.1: the overlay address); nil when unknown.
    public var addressInterface: String? = nil
    public var description: String { [node + (interface.map { "/" + $0 } ?? ""), hook?.description].compactMap { $0 }.joined(separator: " ") }
}

/// How a path ended.
public enum PathOutcome: String, Hashable, Sendable, CaseIterable {
    /// The request left its last node toward a backend (a pod, or the next hop when that node was not traced).
    case delivered
    /// The request ended on its last node without an observed egress: a socket of the node itself (health checks,
    /// host services), or an egress srcip did not trace.
    case local
    /// The last node discarded the request (no egress, no reply).
    case dropped
    /// The last node answered in place of the Service (ICMP error or RST).
    case rejected
}

/// Where a path that never reached a backend stopped: the node and the interface it entered there.
public struct StopPoint: Hashable, Sendable, CustomStringConvertible {
    public var node: String
    public var interface: String?
    public var description: String { node + (interface.map { " (entered \($0), never left)" } ?? " (never left)") }
}

/// One connection across nodes: every hop's record in path order and the end-to-end verdict.
public struct FlowPath: Hashable, Sendable {
    public var hops: [FlowRecord]
    /// The Service the client addressed (first hop resolved from a VIP), else whatever a hop resolved.
    public var service: ServiceRef?
    /// The request's last tuple: as it left the last hop toward the backend, or as it entered the last hop when it
    /// never left. Only a backend's tuple when `outcome` is `.delivered`.
    public var delivered: FiveTuple
    /// The source address the last hop passed on (what the backend saw when `outcome` is `.delivered`).
    public var backendSawSource: IPAddress { delivered.src }
    /// Where the source the backend saw was written; nil when no hop rewrote it.
    public var snatWrittenAt: TranslationPoint?
    public var verdict: Verdict
    public var expected: Verdict?
    public var expectationMet: Bool?
    public var outcome: PathOutcome
    /// Set when `outcome` is `.dropped` or `.rejected`.
    public var stoppedAt: StopPoint?
    /// The node that hosts the serving endpoint, when a hop's catalog knew it (kubectl dumps and the lab name nodes;
    /// kube-proxy's rules alone do not).
    public var endpointNode: String?
    /// Whether a hop was recorded on `endpointNode`; nil when that node is unknown or the path stopped before it.
    public var reachedEndpointNode: Bool?
    /// Reply-direction records of other nodes folded into this path (e.g. a UDP reply recorded where its request
    /// was not); their packets are added to the reply counters.
    public var foldedReplies: [FlowRecord] = []

    /// Whether the path reached the node that hosts the endpoint (nil when the endpoint's node is unknown).
    public var complete: Bool? { reachedEndpointNode }
    /// The backend's address and port, nil when the request never reached one.
    public var backend: (ip: IPAddress, port: UInt16)? { outcome == .delivered ? (delivered.dst, delivered.dstPort) : nil }
}

/// A record that could not be placed in a complete path, and why.
public struct UnmatchedRecord: Hashable, Sendable {
    public var record: FlowRecord
    public var reason: String
}

/// Paths built from the flow records of several nodes, plus what did not fit.
public struct MergeResult: Sendable {
    public var paths: [FlowPath]
    public var unmatched: [UnmatchedRecord]
}

/// Stitches per-node flow records into paths: a hop's translated tuple equals the next node's original tuple.
public enum FlowPathMerger {
    /// Joins records of different nodes; a successor must start within `windowNs` of its predecessor.
    /// Reply-direction records (their tuple reverses a request's) fold into the request's path; records that saw
    /// neither an ingress nor an egress of a request (no interface at all) are unmatched, never paths of their own.
    public static func merge(_ records: [FlowRecord], windowNs: Int64 = 5_000_000_000) -> MergeResult {
        let replyOf = replies(records, windowNs: windowNs)
        var byOriginal: [FiveTuple: [Int]] = [:]
        for (i, r) in records.enumerated() where replyOf[i] == nil { byOriginal[r.original, default: []].append(i) }
        var next = [Int?](repeating: nil, count: records.count)
        var hasPredecessor = [Bool](repeating: false, count: records.count)
        for (i, r) in records.enumerated() where replyOf[i] == nil {
            guard let t = r.translated, let candidates = byOriginal[t] else { continue }
            let best = candidates
                .filter { records[$0].node != r.node && !hasPredecessor[$0] && abs(records[$0].startNs - r.startNs) <= windowNs }
                .min { abs(records[$0].startNs - r.startNs) < abs(records[$1].startNs - r.startNs) }
            if let b = best {
                next[i] = b
                hasPredecessor[b] = true
            }
        }
        var paths: [FlowPath] = []
        var pathOf: [Int: Int] = [:]
        var unmatched: [UnmatchedRecord] = []
        let order = records.indices.sorted { (records[$0].startNs, $0) < (records[$1].startNs, $1) }
        for start in order where !hasPredecessor[start] && replyOf[start] == nil {
            var members: [Int] = []
            var cur: Int? = start
            while let c = cur, !members.contains(c) {
                members.append(c)
                cur = next[c]
            }
            let hops = members.map { records[$0] }
            let first = hops[0]
            if hops.count == 1, first.inInterface == nil, first.outInterface == nil {
                unmatched.append(UnmatchedRecord(record: first, reason: "no request seen at any interface of \(first.node) "
                                                 + "(only replies or a conntrack entry); not a path"))
                continue
            }
            let path = makePath(hops)
            for m in members { pathOf[m] = paths.count }
            paths.append(path)
            if hops.count == 1, arrivedTranslated(first), first.clientKind == .node, first.inInterface != nil {
                unmatched.append(UnmatchedRecord(record: first, reason: "arrived already translated from \(first.original.src); no upstream hop record found"))
            } else if path.reachedEndpointNode == false, let last = hops.last, let target = path.endpointNode {
                unmatched.append(UnmatchedRecord(record: last, reason: "left \(last.node) toward \(Endpoint.format(path.delivered.dst, path.delivered.dstPort)) "
                                                 + "on \(target); no record from that node matched"))
            }
        }
        for i in order {
            guard let request = replyOf[i] else { continue }
            if let p = pathOf[request] {
                paths[p].foldedReplies.append(records[i])
            } else {
                unmatched.append(UnmatchedRecord(record: records[i], reason: "reply to a request that is in no path"))
            }
        }
        return MergeResult(paths: paths, unmatched: unmatched)
    }

    /// For each record that is the reply direction of another record's request (its original tuple reverses that
    /// record's original or translated tuple, it started no earlier, within the window, and it addressed no
    /// Service itself), the index of that request.
    static func replies(_ records: [FlowRecord], windowNs: Int64) -> [Int?] {
        var byTuple: [FiveTuple: [Int]] = [:]
        for (i, r) in records.enumerated() {
            byTuple[r.original, default: []].append(i)
            if let t = r.translated, t != r.original { byTuple[t, default: []].append(i) }
        }
        var out = [Int?](repeating: nil, count: records.count)
        for (i, r) in records.enumerated() where r.service?.resolvedFrom != .vip {
            let candidates = (byTuple[r.original.reversed] ?? []).filter { j in
                j != i && (records[j].startNs, j) < (r.startNs, i) && r.startNs - records[j].startNs <= windowNs
            }
            out[i] = candidates.max { records[$0].startNs < records[$1].startNs }
        }
        // A request is never itself a reply: keep only edges into records that are not replies.
        for i in out.indices { if let j = out[i], out[j] != nil { out[i] = out[j] } }
        return out
    }

    /// The record reached a backend without addressing a Service here: resolved from the endpoint, or the backend
    /// serves several Service ports (then `service` is null and the reason says so).
    static func arrivedTranslated(_ r: FlowRecord) -> Bool {
        r.service?.resolvedFrom == .endpoint || (r.service == nil && r.reason?.contains("already translated upstream") == true)
    }

    static func makePath(_ hops: [FlowRecord]) -> FlowPath {
        let first = hops[0], last = hops[hops.count - 1]
        let delivered = last.translated ?? last.original
        var written: TranslationPoint?
        for h in hops.reversed() where h.snat && h.translated?.src == delivered.src {
            written = TranslationPoint(node: h.node, interface: h.snatInterface, hook: h.snatHook, addressInterface: h.snatAddressInterface)
            break
        }
        let vipHop = hops.first { $0.service?.resolvedFrom == .vip }
        let service = vipHop?.service ?? hops.lazy.compactMap(\.service).first
        var verdict: Verdict
        let bad = hops.first { $0.verdict == .dropped || $0.verdict == .rejected }
        if let bad {
            verdict = bad.verdict
        } else if hops.contains(where: { $0.verdict == .unknown }) && written == nil && delivered.src == first.original.src {
            verdict = .unknown
        } else {
            verdict = delivered.src != first.original.src || written != nil ? .snat : .preserved
        }
        let outcome: PathOutcome
        if let bad { outcome = bad.verdict == .dropped ? .dropped : .rejected }
        else if last.outInterface == nil { outcome = .local }
        else { outcome = .delivered }
        let stop = bad.map { StopPoint(node: $0.node, interface: $0.inInterface) }
        let expected = vipHop?.expected
        let met: Bool? = verdict == .unknown || vipHop.flatMap(VerificationFlow.notCheckable) != nil ? nil : expected.map { $0 == verdict }
        let endpointNode = (vipHop ?? first).endpointNode ?? hops.lazy.compactMap(\.endpointNode).first
        let reached: Bool? = bad != nil ? nil : endpointNode.map { n in hops.contains { $0.node == n } }
        return FlowPath(hops: hops, service: service, delivered: delivered, snatWrittenAt: written, verdict: verdict,
                        expected: expected, expectationMet: met, outcome: outcome, stoppedAt: stop, endpointNode: endpointNode,
                        reachedEndpointNode: reached)
    }
}
