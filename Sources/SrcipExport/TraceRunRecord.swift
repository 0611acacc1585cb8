import SrcipCore
import SrcipJSON

/// The first line of a JSON Lines trace (`"kind":"run"`): what produced the records that follow.
public struct TraceRunRecord: Sendable, Hashable {
    /// srcip's version (`SrcipVersion.current`).
    public var srcipVersion: String
    public var node: String
    /// `uname -r` of the traced kernel.
    public var kernel: String
    /// `tcx` or `clsact` (`-` when nothing was attached at start).
    public var attach: String
    /// `conntrack` or `fingerprint`.
    public var join: String
    /// Where Services came from (the catalog's source line).
    public var services: String
    public var catalogWarnings: [String]
    /// Interfaces traced at start.
    public var interfaces: [String]
    /// The command line, one element per argument.
    public var commandLine: [String]
    /// `--active-timeout` in seconds (0: no interim records).
    public var activeTimeout: Double
    public var startNs: Int64

    public init(srcipVersion: String, node: String, kernel: String, attach: String, join: String, services: String,
                catalogWarnings: [String], interfaces: [String], commandLine: [String], activeTimeout: Double, startNs: Int64) {
        self.srcipVersion = srcipVersion
        self.node = node
        self.kernel = kernel
        self.attach = attach
        self.join = join
        self.services = services
        self.catalogWarnings = catalogWarnings
        self.interfaces = interfaces
        self.commandLine = commandLine
        self.activeTimeout = activeTimeout
        self.startNs = startNs
    }

    /// One JSON line (no newline).
    public func jsonLine() -> String {
        var w = JSONObjectWriter()
        w.string("kind", "run")
        w.int("version", FlowRecord.currentVersion)
        w.string("srcip_version", srcipVersion)
        w.string("node", node)
        w.string("kernel", kernel)
        w.string("attach", attach)
        w.string("join", join)
        w.string("services", services)
        w.strings("catalog_warnings", catalogWarnings)
        w.strings("interfaces", interfaces)
        w.strings("command_line", commandLine)
        w.raw("active_timeout", activeTimeout == activeTimeout.rounded() ? String(Int(activeTimeout)) : String(activeTimeout))
        w.string("start", RFC3339.format(unixNs: startNs))
        return w.finish()
    }

    static func decode(_ c: JSONObjectReader) throws(JSONShapeError) -> TraceRunRecord {
        let start = try c.string("start")
        guard let startNs = RFC3339.parse(start) else { throw c.invalid("start", "not an RFC 3339 timestamp: \"\(start)\"") }
        return TraceRunRecord(srcipVersion: try c.string("srcip_version"), node: try c.string("node"), kernel: try c.string("kernel"),
                              attach: try c.string("attach"), join: try c.string("join"), services: try c.string("services"),
                              catalogWarnings: try c.strings("catalog_warnings"), interfaces: try c.strings("interfaces"),
                              commandLine: try c.strings("command_line"), activeTimeout: try c.double("active_timeout"), startNs: startNs)
    }
}

/// The last line of a JSON Lines trace (`"kind":"summary"`): what was written and what was lost.
public struct TraceSummaryRecord: Sendable, Hashable {
    public var node: String
    public var endNs: Int64
    /// Final flow records written.
    public var flows: Int
    /// Interim records written (`--active-timeout`).
    public var interim: Int
    /// BPF records written (`--raw`, where `flows` and `interim` are 0); nil for flow output.
    public var records: Int?
    /// Named counters (BPF, ring buffer, consumer, correlator), in a stable order.
    public var counters: [(name: String, value: UInt64)]
    public var interfacesAtStart: Int
    public var interfacesAttachedLater: Int
    public var interfacesRemoved: Int

    public init(node: String, endNs: Int64, flows: Int, interim: Int, counters: [(name: String, value: UInt64)],
                interfacesAtStart: Int, interfacesAttachedLater: Int, interfacesRemoved: Int) {
        self.node = node
        self.endNs = endNs
        self.flows = flows
        self.interim = interim
        self.counters = counters.sorted { $0.name < $1.name }
        self.interfacesAtStart = interfacesAtStart
        self.interfacesAttachedLater = interfacesAttachedLater
        self.interfacesRemoved = interfacesRemoved
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.node == b.node && a.endNs == b.endNs && a.flows == b.flows && a.interim == b.interim && a.records == b.records
            && a.counters.map(\.name) == b.counters.map(\.name) && a.counters.map(\.value) == b.counters.map(\.value)
            && a.interfacesAtStart == b.interfacesAtStart && a.interfacesAttachedLater == b.interfacesAttachedLater
            && a.interfacesRemoved == b.interfacesRemoved
    }

    public func hash(into h: inout Hasher) {
        h.combine(node)
        h.combine(endNs)
        h.combine(flows)
    }

    /// One JSON line (no newline).
    public func jsonLine() -> String {
        var w = JSONObjectWriter()
        w.string("kind", "summary")
        w.int("version", FlowRecord.currentVersion)
        w.string("node", node)
        w.string("end", RFC3339.format(unixNs: endNs))
        w.int("flows", flows)
        w.int("interim", interim)
        if let records { w.int("records", records) }
        var c = JSONObjectWriter()
        for (k, v) in counters { c.uint(k, v) }
        w.raw("counters", c.finish())
        var i = JSONObjectWriter()
        i.int("at_start", interfacesAtStart)
        i.int("attached_later", interfacesAttachedLater)
        i.int("removed", interfacesRemoved)
        w.raw("interfaces", i.finish())
        return w.finish()
    }

    static func decode(_ c: JSONObjectReader) throws(JSONShapeError) -> TraceSummaryRecord {
        let end = try c.string("end")
        guard let endNs = RFC3339.parse(end) else { throw c.invalid("end", "not an RFC 3339 timestamp: \"\(end)\"") }
        let i = try c.object("interfaces")
        let counters = try c.object("counters")
        var pairs: [(name: String, value: UInt64)] = []
        for k in counters.members.keys.sorted() { pairs.append((k, try counters.integer(k))) }
        var s = TraceSummaryRecord(node: try c.string("node"), endNs: endNs, flows: try c.integer("flows"), interim: try c.integer("interim"),
                                   counters: pairs, interfacesAtStart: try i.integer("at_start"),
                                   interfacesAttachedLater: try i.integer("attached_later"), interfacesRemoved: try i.integer("removed"))
        if c.members["records"] != nil { s.records = try c.integer("records", as: Int.self) }
        return s
    }
}
