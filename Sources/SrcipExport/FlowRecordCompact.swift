import SrcipCore

extension FlowRecord {
    /// One short line: `default/nodeport 203.0.113.10:40001 → 192.168.10.12:30080 ⇒ 10.244.1.2:8080 saw 192.168.10.12 snat@node2/eth0 ✓`.
    public var compactLine: String {
        var s = "\(service?.id ?? "-") \(Endpoint.format(original.src, original.srcPort)) → \(Endpoint.format(original.dst, original.dstPort))"
        if let t = translated, outInterface != nil { s += " ⇒ \(Endpoint.format(t.dst, t.dstPort)) saw \(t.src)" } else { s += " ⇒ ✗" }
        s += " " + verdict.rawValue
        if snat { s += "@\(node)/\(snatInterface ?? "?")" }
        if expected != nil { s += " " + ExpectationMark.of(expectationMet) }
        return s
    }

    /// Fixed-width columns of `--format table` (a stream: widths cannot adapt to records not yet seen).
    static let tableColumns: [(title: String, width: Int)] = [("TIME", 15), ("SERVICE", 24), ("CLIENT", 22), ("ADDRESSED", 22),
                                                              ("BACKEND", 22), ("SAW", 16), ("SNAT AT", 16), ("VERDICT", 9), ("EXPECTED", 0)]

    static func tableLine(_ cells: [String]) -> String {
        zip(cells, tableColumns).map { c, col in col.width == 0 ? c : c.padding(toLength: max(col.width, c.count), withPad: " ", startingAt: 0) }
            .joined(separator: " ")
    }

    /// The header row of `--format table`.
    public static var tableHeader: String { tableLine(tableColumns.map(\.title)) }

    /// One row of `--format table`.
    public var tableRow: String {
        let time = String(RFC3339.format(unixNs: startNs).dropFirst(11).prefix(15))
        let left = translated != nil && outInterface != nil
        return FlowRecord.tableLine([
            time, service?.id ?? "-", Endpoint.format(original.src, original.srcPort), Endpoint.format(original.dst, original.dstPort),
            left ? translated.map { Endpoint.format($0.dst, $0.dstPort) } ?? "-" : "-", left ? translated?.src.description ?? "-" : "-",
            snat ? "\(node)/\(snatInterface ?? "?")" : "-", verdict.rawValue,
            expected.map { $0.rawValue + " " + ExpectationMark.of(expectationMet) } ?? "-",
        ])
    }
}

/// `--format compact`: one short line per flow.
public final class CompactWriter: FlowRecordWriter {
    private let sink: FileSink

    public init(path: String, mode: FileOpenMode = .truncate) throws(ExportError) { sink = try FileSink(path: path, mode: mode) }
    public func flush() throws(ExportError) { try sink.flush() }
    public func reopen() throws(ExportError) { try sink.reopen() }
    public func write(_ record: FlowRecord) throws(ExportError) { try sink.write(record.compactLine + "\n") }
    public func close() throws(ExportError) { try sink.close() }
}

/// `--format table`: a header row, then one fixed-width row per flow.
public final class TableWriter: FlowRecordWriter {
    private let sink: HeaderedSink

    public init(path: String, mode: FileOpenMode = .truncate) throws(ExportError) {
        sink = try HeaderedSink(path: path, mode: mode, header: FlowRecord.tableHeader + "\n", headerWithoutLines: false)
    }
    /// Writes through an already open sink, starting with the header.
    public init(sink: FileSink) { self.sink = HeaderedSink(sink: sink, header: FlowRecord.tableHeader + "\n", headerWithoutLines: false) }
    public func flush() throws(ExportError) { try sink.flush() }
    public func reopen() throws(ExportError) { try sink.reopen() }
    public func write(_ record: FlowRecord) throws(ExportError) { try sink.write(record.tableRow + "\n") }
    public func close() throws(ExportError) { try sink.close() }
}
