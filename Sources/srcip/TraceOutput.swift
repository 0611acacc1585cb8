import SrcipCore
import SrcipExport
import SrcipKernel

/// Where a trace's observations go: straight out (`--raw`), or through the flow correlator.
final class TraceOutput {
    private let raw: Bool
    private let jsonRaw: Bool
    private let sink: FileSink?
    private let writer: (any FlowRecordWriter)?
    private var correlator: FlowCorrelator
    private let context: NodeContext
    private let filter: FlowFilter
    private(set) var written = 0
    /// Stop writing after this many records (`--count`).
    var limit = Int.max
    /// Flows written whose observation met / did not meet what Kubernetes documents (`--check`).
    private(set) var expectationsMet = 0
    private(set) var expectationsMissed: [FlowRecord] = []

    init(raw: Bool, format: String, path: String, context: NodeContext, filter: FlowFilter, idleTimeoutNs: UInt64) throws {
        self.raw = raw
        self.jsonRaw = format == "jsonl"
        self.context = context
        self.filter = filter
        correlator = FlowCorrelator(context: context, config: CorrelatorConfig(idleTimeoutNs: idleTimeoutNs))
        if raw {
            sink = try FileSink(path: path)
            writer = nil
        } else {
            sink = nil
            writer = try FlowRecordFormat(name: format)!.writer(path: path)
        }
    }

    var correlatorStats: CorrelatorStats { correlator.stats }

    func add(_ o: Observation) throws {
        if raw {
            guard filter.matches(o), written < limit else { return }
            let ifname = context.interfaceName(o.ifindex)
            let unix = UInt64(max(0, context.unixNs(o.timestampNs)))
            let line = jsonRaw ? ObservationFormat.json(o, node: context.node, interface: ifname, unixNs: unix)
                               : ObservationFormat.text(o, interface: ifname, unixNs: unix)
            try sink!.write(line + "\n")
            written += 1
            return
        }
        correlator.add(o)
        try emit(correlator.drainFinished())
    }

    /// Packets seen by the BPF side without a record: the flows stay live.
    func noteActivity(_ active: [(tuple: FiveTuple, lastNs: UInt64)]) {
        guard !raw else { return }
        for a in active { correlator.noteActivity(tuple: a.tuple, atNs: a.lastNs) }
    }

    func tick(nowNs: UInt64) throws {
        guard !raw else { return }
        correlator.advance(toNs: nowNs)
        try emit(correlator.drainFinished())
    }

    /// Writes the flows still open and closes the output.
    func finish() throws {
        if raw {
            try sink!.close()
            return
        }
        try emit(correlator.flush())
        try writer!.close()
    }

    private func emit(_ records: [FlowRecord]) throws {
        for r in records where filter.matches(r) && written < limit {
            try writer!.write(r)
            written += 1
            switch r.expectationMet {
            case true?: expectationsMet += 1
            case false?: expectationsMissed.append(r)
            case nil: break
            }
        }
    }
}

/// `--host`, `--port`, `--protocol`: match before or after NAT.
struct FlowFilter {
    var hosts: Set<IPAddress>
    var ports: Set<UInt16>
    var protocols: Set<L4Protocol>

    func matches(_ o: Observation) -> Bool {
        var tuples = [o.tuple]
        if let ct = o.conntrack { tuples += [ct.original, ct.reply] }
        return matches(proto: o.tuple.proto, tuples.flatMap { [($0.src, $0.srcPort), ($0.dst, $0.dstPort)] })
    }

    func matches(_ r: FlowRecord) -> Bool {
        var ends: [(IPAddress, UInt16)] = [(r.original.src, r.original.srcPort), (r.original.dst, r.original.dstPort)]
        if let x = r.translated { ends += [(x.src, x.srcPort), (x.dst, x.dstPort)] }
        return matches(proto: r.original.proto, ends)
    }

    private func matches(proto: L4Protocol, _ ends: [(IPAddress, UInt16)]) -> Bool {
        if !protocols.isEmpty && !protocols.contains(proto) { return false }
        if !hosts.isEmpty && !ends.contains(where: { hosts.contains($0.0) }) { return false }
        if !ports.isEmpty && !ends.contains(where: { ports.contains($0.1) }) { return false }
        return true
    }
}
