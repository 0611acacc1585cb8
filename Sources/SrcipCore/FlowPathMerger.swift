/// Where a translation was written: node, interface and hook.
public struct TranslationPoint: Hashable, Sendable, CustomStringConvertible {
    public var node: String
    public var interface: String?
    public var hook: Hook?
    public var description: String { [node + (interface.map { "/" + $0 } ?? ""), hook?.description].compactMap { $0 }.joined(separator: " ") }
}

/// One connection across nodes: every hop's record in path order and the end-to-end verdict.
public struct FlowPath: Hashable, Sendable {
    public var hops: [FlowRecord]
    /// The Service the client addressed (first hop resolved from a VIP), else whatever a hop resolved.
    public var service: ServiceRef?
    /// The request as it finally reached the backend (last hop's translated tuple, or its original if it never left).
    public var delivered: FiveTuple
    /// The source address the backend saw, and where it was written (nil when no hop rewrote it).
    public var backendSawSource: IPAddress { delivered.src }
    public var snatWrittenAt: TranslationPoint?
    public var verdict: Verdict
    public var expected: Verdict?
    public var expectationMet: Bool?
    /// Whether the path reached the node that hosts the endpoint (nil when the endpoint's node is unknown).
    public var complete: Bool?
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
    public static func merge(_ records: [FlowRecord], windowNs: Int64 = 5_000_000_000) -> MergeResult {
        var byOriginal: [FiveTuple: [Int]] = [:]
        for (i, r) in records.enumerated() { byOriginal[r.original, default: []].append(i) }
        var next = [Int?](repeating: nil, count: records.count)
        var hasPredecessor = [Bool](repeating: false, count: records.count)
        for (i, r) in records.enumerated() {
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
        var unmatched: [UnmatchedRecord] = []
        let order = records.indices.sorted { (records[$0].startNs, $0) < (records[$1].startNs, $1) }
        for start in order where !hasPredecessor[start] {
            var hops: [FlowRecord] = []
            var seen: Set<Int> = []
            var cur: Int? = start
            while let c = cur, seen.insert(c).inserted {
                hops.append(records[c])
                cur = next[c]
            }
            let path = makePath(hops)
            paths.append(path)
            let first = hops[0]
            if hops.count == 1, arrivedTranslated(first), first.clientKind == .node, first.inInterface != nil {
                unmatched.append(UnmatchedRecord(record: first, reason: "arrived already translated from \(first.original.src); no upstream hop record found"))
            } else if path.complete == false, let last = hops.last {
                unmatched.append(UnmatchedRecord(record: last, reason: "left \(last.node) toward \(path.delivered.dst) on \(hops.compactMap(\.endpointNode).first ?? "?"); no record from that node matched"))
            }
        }
        return MergeResult(paths: paths, unmatched: unmatched)
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
            written = TranslationPoint(node: h.node, interface: h.snatInterface, hook: h.snatHook)
            break
        }
        let vipHop = hops.first { $0.service?.resolvedFrom == .vip }
        let service = vipHop?.service ?? hops.lazy.compactMap(\.service).first
        var verdict: Verdict
        if let bad = hops.first(where: { $0.verdict == .dropped || $0.verdict == .rejected }) {
            verdict = bad.verdict
        } else if hops.contains(where: { $0.verdict == .unknown }) && written == nil && delivered.src == first.original.src {
            verdict = .unknown
        } else {
            verdict = delivered.src != first.original.src || written != nil ? .snat : .preserved
        }
        let expected = vipHop?.expected
        let met: Bool? = verdict == .unknown ? nil : expected.map { $0 == verdict }
        let endpointNode = (vipHop ?? first).endpointNode
        let complete: Bool? = endpointNode.map { n in hops.contains { $0.node == n } }
        return FlowPath(hops: hops, service: service, delivered: delivered, snatWrittenAt: written, verdict: verdict,
                        expected: expected, expectationMet: met, complete: complete)
    }
}
