/// A `FileSink` for formats whose files open with a header line (CSV, table): the header goes before the first line
/// written into an empty file — a new one, an empty one opened to append, the new one after `reopen()` — and never
/// into a file that already holds something.
final class HeaderedSink {
    private let sink: FileSink
    private let header: String
    /// Whether `close()` leaves the header in a file no line was written to (CSV: an empty table with its columns).
    private let headerWithoutLines: Bool
    private var wroteHeader: Bool

    /// Opens `path` as `mode` says; appending to a file that holds something adds no header.
    init(path: String, mode: FileOpenMode, header: String, headerWithoutLines: Bool) throws(ExportError) {
        sink = try FileSink(path: path, mode: mode)
        self.header = header
        self.headerWithoutLines = headerWithoutLines
        wroteHeader = mode == .append && !sink.isEmptyFile
    }

    /// Writes through an already open sink, starting with the header.
    init(sink: FileSink, header: String, headerWithoutLines: Bool) {
        self.sink = sink
        self.header = header
        self.headerWithoutLines = headerWithoutLines
        wroteHeader = false
    }

    /// Appends whole lines, after the header when the file has none yet.
    func write(_ lines: String) throws(ExportError) {
        try writeHeaderIfMissing()
        try sink.write(lines)
    }

    func flush() throws(ExportError) { try sink.flush() }

    /// Continues in a new file at the same path (see `FileSink.reopen()`); a new, empty file gets the header again.
    /// Standard output is kept: its header is still owed when no line was written yet.
    func reopen() throws(ExportError) {
        try sink.reopen()
        if sink.reopensPath { wroteHeader = !sink.isEmptyFile }
    }

    func close() throws(ExportError) {
        if headerWithoutLines { try writeHeaderIfMissing() }
        try sink.close()
    }

    private func writeHeaderIfMissing() throws(ExportError) {
        guard !wroteHeader else { return }
        try sink.write(header)
        wroteHeader = true
    }
}
