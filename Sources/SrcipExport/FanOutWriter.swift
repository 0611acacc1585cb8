import SrcipCore

/// Writes every record to several writers (a file and IPFIX collectors); the first error stops the write.
public final class FanOutWriter: FlowRecordWriter {
    public let writers: [any FlowRecordWriter]

    public init(_ writers: [any FlowRecordWriter]) { self.writers = writers }

    public func write(_ record: FlowRecord) throws(ExportError) { for w in writers { try w.write(record) } }
    public func flush() throws(ExportError) { for w in writers { try w.flush() } }
    public func reopen() throws(ExportError) { for w in writers { try w.reopen() } }
    public func close() throws(ExportError) { for w in writers { try w.close() } }
    public func writeRun(_ run: TraceRunRecord) throws(ExportError) { for w in writers { try w.writeRun(run) } }
    public func writeSummary(_ summary: TraceSummaryRecord) throws(ExportError) { for w in writers { try w.writeSummary(summary) } }
}

extension IPFIXEncoder {
    /// The default observation domain of a node: FNV-1a (32 bit) of its name, never 0 (0 means "no domain").
    public static func observationDomain(forNode node: String) -> UInt32 {
        var h: UInt32 = 0x811c_9dc5
        for b in node.utf8 { h = (h ^ UInt32(b)) &* 0x0100_0193 }
        return h == 0 ? 1 : h
    }
}
