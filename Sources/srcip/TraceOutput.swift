import Glibc
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
        case (.raw(let r), .observations(let batch)): for o in batch { try r.add(o) }
        case (.raw(let r), .sweep(let expired, _, _)): for o in expired { try r.add(o) }
        case (.flows(let f), .observations(let batch)): try f.add(batch)
        case (.flows(let f), .sweep(let expired, let active, let now)):
            f.noteActivity(active)
            try f.add(expired: expired)
            try f.tick(nowNs: now)
        case (.flows(let f), .catalog(let change)): try f.update(change)
        case (.raw, .catalog): break
        }
    }

    /// Writes what is buffered (every second, so records reach the file within a second).
    func flush() throws {
        switch self {
        case .raw(let r): try r.sink.flush()
        case .flows(let f): try f.writer.flush()
        }
    }

    /// Continues in a new file at the same path (SIGHUP).
    func reopen() throws {
        switch self {
        case .raw(let r): try r.sink.reopen()
        case .flows(let f): try f.writer.reopen()
        }
    }

    /// The first JSON line (`"kind":"run"`) of JSON Lines output, flows or `--raw` alike; other formats ignore it.
    func writeRun(_ run: TraceRunRecord) throws {
        switch self {
        case .raw(let r): try r.writeRun(run)
        case .flows(let f): try f.writer.writeRun(run)
        }
    }

    /// Writes what is still open and the summary `summary` builds (from the correlator's counters; nil with `--raw`),
    /// and closes the output.
    func finish(summary: (CorrelatorStats?) -> TraceSummaryRecord) throws {
        switch self {
        case .raw(let r): try r.finish(summary: summary(nil))
        case .flows(let f): try f.finish(summary: summary(f.correlatorStats))
        }
    }
}

/// `--raw`: one line per BPF record, text or JSON.
final class RawRecordOutput {
    private let format: TraceFormat.RawFormat
    let sink: FileSink
    private let context: NodeContext
    private let filter: FlowFilter
    private let limit: Int
    private(set) var written = 0

    init(format: TraceFormat.RawFormat, path: String, mode: FileOpenMode, context: NodeContext, filter: FlowFilter,
         limit: Int) throws {
        self.format = format
        self.context = context
        self.filter = filter
        self.limit = limit
        sink = try FileSink(path: path, mode: mode)
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

    /// JSON Lines: the `run` line before the first record.
    func writeRun(_ run: TraceRunRecord) throws {
        if case .jsonl = format { try sink.write(run.jsonLine() + "\n") }
    }

    /// JSON Lines: the `summary` line (`records` = BPF records written; no flows), then closes the file.
    func finish(summary: TraceSummaryRecord) throws {
        if case .jsonl = format {
            var s = summary
            s.records = written
            try sink.write(s.jsonLine() + "\n")
        }
        try sink.close()
    }
}

/// Flow records: observations through the correlator, out through a flow-record writer.
final class FlowOutput {
    let writer: any FlowRecordWriter
    private var correlator: FlowCorrelator
    private let filter: FlowFilter
    private let limit: Int
    private(set) var written = 0
    /// Called with every flow written (`--metrics`).
    var onWrite: ((FlowRecord) -> Void)?
    /// Interim records written (`--active-timeout`); they count neither toward `--count` nor `--check`.
    private(set) var interimWritten = 0
    private let activeTimeoutNs: UInt64
    /// Every flow written, grouped per Service port and entry path for `--check`.
    private(set) var verification = VerificationBuilder(clusterWide: false)

    /// `liveCounts` reads and removes a view's BPF counters when its flow is written (`FlowCorrelator.liveCounts`).
    /// `peekCounts` reads them without removing (interim records every `activeTimeoutNs`, 0: none); `collectors` get
    /// every record too.
    init(format: FlowRecordFormat, path: String, mode: FileOpenMode = .truncate, context: NodeContext, filter: FlowFilter,
         idleTimeoutNs: UInt64, limit: Int, liveCounts: ((FlowView) -> FlowCounts?)? = nil,
         peekCounts: ((FlowView) -> FlowCounts?)? = nil, activeTimeoutNs: UInt64 = 0, observationDomainID: UInt32 = 0,
         collectors: [any FlowRecordWriter] = [], maxNewFlowsPerSecond: Int = 0) throws {
        let file = try format.writer(path: path, mode: mode, observationDomainID: observationDomainID,
                                     observationDomainName: context.node)
        writer = collectors.isEmpty ? file : FanOutWriter([file] + collectors)
        self.activeTimeoutNs = activeTimeoutNs
        // With live counters, idle flows end by the BPF sweep's `.expired` records (final counts); the correlator's own
        // idle timeout, 2 s later, only catches views the sweep cannot report (e.g. evicted from the BPF map).
        var config = CorrelatorConfig(idleTimeoutNs: idleTimeoutNs &+ (liveCounts == nil ? 0 : 2_000_000_000))
        config.closeLingerNs = Self.closeLingerNs
        config.maxNewFlowsPerSecond = maxNewFlowsPerSecond
        correlator = FlowCorrelator(context: context, config: config)
        correlator.liveCounts = liveCounts
        correlator.peekCounts = peekCounts
        self.filter = filter
        self.limit = limit
    }

    /// How long a TCP flow stays open after its last view ended (FIN/RST) without packets: its final ACKs count.
    static let closeLingerNs: UInt64 = 1_000_000_000

    var correlatorStats: CorrelatorStats { correlator.stats }

    /// BPF records in ring order; the flows they finish are written after the batch, in the order they finished.
    func add(_ batch: [Observation]) throws {
        for o in batch { correlator.add(o) }
        try emit(correlator.drainFinished())
    }

    /// The flows a sweep of the BPF flow map ended, with their final counters.
    func add(expired batch: [Observation]) throws {
        correlator.add(expired: batch)
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
            correlator.update(catalog: r.services.catalog(), validFromNs: r.validFromNs, nodeAddresses: Set(r.services.nodeAddresses),
                              readAtNs: KernelClock.nowNs())
        case .unchanged, .failed: correlator.catalogChangeSettled()
        }
        try emit(correlator.drainFinished())
    }

    func tick(nowNs: UInt64) throws {
        if let suppressed = icmpRateLimit.sample(atNs: nowNs) {
            correlator.noteICMPRateLimited(count: suppressed.count, fromNs: suppressed.fromNs, toNs: nowNs)
        }
        correlator.advance(toNs: nowNs)
        try emit(correlator.drainFinished())
        if activeTimeoutNs > 0 {
            for r in correlator.interimRecords(activeTimeoutNs: activeTimeoutNs) where filter.matches(r) && written < limit {
                try writer.write(r)
                interimWritten += 1
            }
        }
        if correlator.stats.storageCompactions != compactions {
            // The correlator shrank its storage after a flood; glibc keeps freed heap unless asked (its mmap
            // threshold grows with the large blocks freed). What the flood left elsewhere (record batches still
            // queued from the ring, the writer's buffers) is freed over the next seconds: trimmed on those ticks too.
            compactions = correlator.stats.storageCompactions
            trimsPending = Self.trimTicksAfterCompaction
        }
        if trimsPending > 0 {
            trimsPending -= 1
            HeapTrim.trim()
        }
    }

    /// Ticks (seconds) on which the heap is trimmed after a compaction, that one included.
    private static let trimTicksAfterCompaction = 10
    private var trimsPending = 0

    /// The node's ICMP rate-limit counters, sampled every tick: a REJECT whose ICMP they suppressed is not a DROP.
    private var icmpRateLimit = ICMPRateLimitCounter()

    /// The correlator's storage compactions when the heap was last trimmed.
    private var compactions: UInt64 = 0

    /// Writes the flows still open, the summary, and closes the output.
    func finish(summary: TraceSummaryRecord) throws {
        try emit(correlator.flush())
        var s = summary
        s.flows = written
        s.interim = interimWritten
        try writer.writeSummary(s)
        try writer.close()
    }

    private func emit(_ records: [FlowRecord]) throws {
        for r in records where filter.matches(r) && written < limit {
            try writer.write(r)
            written += 1
            verification.add(record: r)
            onWrite?(r)
        }
    }
}

/// `--host`, `--port`, `--protocol`: match before or after NAT.
struct FlowFilter {
    var hosts: Set<IPAddress>
    var ports: Set<UInt16>
    var protocols: Set<L4Protocol>
    /// `--service`, `--namespace`, `--verdict`, `--from-ip`, `--to-ip` (flow records only).
    var records = FlowRecordFilter()

    func matches(_ o: Observation) -> Bool {
        var tuples = [o.tuple]
        if let ct = o.conntrack { tuples += [ct.original, ct.reply] }
        return matches(proto: o.tuple.proto, tuples.flatMap { [($0.src, $0.srcPort), ($0.dst, $0.dstPort)] })
    }

    func matches(_ r: FlowRecord) -> Bool {
        var ends: [(IPAddress, UInt16)] = [(r.original.src, r.original.srcPort), (r.original.dst, r.original.dstPort)]
        if let x = r.translated { ends += [(x.src, x.srcPort), (x.dst, x.dstPort)] }
        return records.matches(r) && matches(proto: r.original.proto, ends)
    }

    private func matches(proto: L4Protocol, _ ends: [(IPAddress, UInt16)]) -> Bool {
        if !protocols.isEmpty && !protocols.contains(proto) { return false }
        if !hosts.isEmpty && !ends.contains(where: { hosts.contains($0.0) }) { return false }
        if !ports.isEmpty && !ends.contains(where: { ports.contains($0.1) }) { return false }
        return true
    }
}

/// glibc's `malloc_trim` (not exported by the Glibc module): returns free heap pages to the system.
enum HeapTrim {
    private typealias Function = @convention(c) (Int) -> Int32
    private static let function: Function? = dlsym(nil, "malloc_trim").map { unsafeBitCast($0, to: Function.self) }

    static func trim() { _ = function?(0) }
}
