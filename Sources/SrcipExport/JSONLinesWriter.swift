import SrcipCore

/// Writes flow records as JSON Lines: one v1 record object per line, between a `run` and a `summary` line when the
/// caller writes them.
public final class JSONLinesWriter: FlowRecordWriter {
    private let sink: FileSink

    public func writeRun(_ run: TraceRunRecord) throws(ExportError) { try sink.write(run.jsonLine() + "\n") }
    public func writeSummary(_ summary: TraceSummaryRecord) throws(ExportError) { try sink.write(summary.jsonLine() + "\n") }

    public init(sink: FileSink) { self.sink = sink }
    public convenience init(path: String, mode: FileOpenMode = .truncate) throws(ExportError) {
        self.init(sink: try FileSink(path: path, mode: mode))
    }
    public func flush() throws(ExportError) { try sink.flush() }
    public func reopen() throws(ExportError) { try sink.reopen() }

    public func write(_ record: FlowRecord) throws(ExportError) {
        try sink.write(record.jsonLine() + "\n")
    }

    public func close() throws(ExportError) { try sink.close() }
}

/// Writes flow records as human-readable text, one line per flow.
public final class TextWriter: FlowRecordWriter {
    private let sink: FileSink

    public init(sink: FileSink) { self.sink = sink }
    public convenience init(path: String, mode: FileOpenMode = .truncate) throws(ExportError) {
        self.init(sink: try FileSink(path: path, mode: mode))
    }
    public func flush() throws(ExportError) { try sink.flush() }
    public func reopen() throws(ExportError) { try sink.reopen() }

    public func write(_ record: FlowRecord) throws(ExportError) {
        try sink.write(RFC3339.format(unixNs: record.startNs) + " " + record.textLine + "\n")
    }

    public func close() throws(ExportError) { try sink.close() }
}
