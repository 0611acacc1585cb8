import SrcipCore
import SrcipExport
import SrcipKernel
import SrcipServices

/// Where a trace's observations go: straight out as BPF records (`--raw`), or through the flow correlator.
enum TraceOutput {
    case raw(RawRecordOutput)
    case flows(FlowOutput)

    /// Records written so far (BPF records or flows).
    var written: Int {
        switch self {
        case .raw(let r): return r.written
        case .flows(let f): return f.written
        }
    }

    /// What the summary counts.
    var unit: String {
        switch self {
        case .raw: return "records"
        case .flows: return "flows"
        }
    }

    func handle(_ event: TraceEvent) throws {
        switch (self, event) {
        case (.raw(let r), .observation(let o)): try r.add(o)
        case (.raw(let r), .sweep(let expired, _, _)): for o in expired { try r.add(o) }
        case (.flows(let f), .observation(let o)): try f.add(o)
        case (.flows(let f), .sweep(let expired, let active, let now)):
            f.noteActivity(active)
            for o in expired { try f.add(o) }
            try f.tick(nowNs: now)
        case (.flows(let f), .catalog(let change)): try f.update(change)
        case (.raw, .catalog): break
        }
    }

    /// Writes what is still open and closes the output.
    func finish() throws {
        switch self {
        case .raw(let r): try r.finish()
        case .flows(let f): try f.finish()
        }
    }
}

/// `--raw`: one line per BPF record, text or JSON.
final class RawRecordOutput {
    private let format: TraceFormat.RawFormat
    private let sink: FileSink
    private let context: NodeContext
    private let filter: FlowFilter
    private let limit: Int
    private(set) var written = 0

    init(format: TraceFormat.RawFormat, path: String, context: NodeContext, filter: FlowFilter, limit: Int) throws {
        self.format = format
        self.context = context
        self.filter = filter
        self.limit = limit
        sink = try FileSink(path: path)
    }

    func add(_ o: Observation) throws {
        guard filter.matches(o), written < limit else { return }
        let ifname = context.interfaceName(o.ifindex)
        let unix = UInt64(max(0, context.unixNs(o.timestampNs)))
        let line: String
        switch format {
        case .text: line = ObservationFormat.text(o, interface: ifname, unixNs: unix)
        case .jsonl: line = ObservationFormat.json(o, node: context.node, interface: ifname, unixNs: unix)
        }
        try sink.write(line + "\n")
        written += 1
    }

    func finish() throws { try sink.close() }
}

/// Flow records: observations through the correlator, out through a flow-record writer.
final class FlowOutput {
    private let writer: any FlowRecordWriter
    private var correlator: FlowCorrelator
    private let filter: FlowFilter
    private let limit: Int
    private(set) var written = 0
    /// Flows written whose observation met / did not meet what Kubernetes documents (`--check`).
    private(set) var expectationsMet = 0
    private(set) var expectationsMissed: [FlowRecord] = []

    init(format: FlowRecordFormat, path: String, context: NodeContext, filter: FlowFilter, idleTimeoutNs: UInt64,
         limit: Int) throws {
        writer = try format.writer(path: path)
        correlator = FlowCorrelator(context: context, config: CorrelatorConfig(idleTimeoutNs: idleTimeoutNs))
        self.filter = filter
        self.limit = limit
    }

    var correlatorStats: CorrelatorStats { correlator.stats }

    func add(_ o: Observation) throws {
        correlator.add(o)
        try emit(correlator.drainFinished())
    }

    /// Packets seen by the BPF side without a record: the flows stay live.
    func noteActivity(_ active: [ActiveFlow]) {
        for a in active { correlator.noteActivity(tuple: a.tuple, atNs: a.lastNs) }
    }

    /// A Service change: hold flows while it is read, then install the new catalog for flows started since.
    func update(_ event: CatalogWatchEvent) throws {
        switch event {
        case .changing(let since): correlator.catalogChangePending(sinceNs: since)
        case .refreshed(let r):
            correlator.update(catalog: r.services.catalog(), validFromNs: r.validFromNs, nodeAddresses: Set(r.services.nodeAddresses))
        case .unchanged, .failed: correlator.catalogChangeSettled()
        }
        try emit(correlator.drainFinished())
    }

    func tick(nowNs: UInt64) throws {
        correlator.advance(toNs: nowNs)
        try emit(correlator.drainFinished())
    }

    /// Writes the flows still open and closes the output.
    func finish() throws {
        try emit(correlator.flush())
        try writer.close()
    }

    private func emit(_ records: [FlowRecord]) throws {
        for r in records where filter.matches(r) && written < limit {
            try writer.write(r)
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
