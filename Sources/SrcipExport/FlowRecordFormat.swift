import SrcipCore

/// Output formats for flow records (`--format`).
public enum FlowRecordFormat: String, CaseIterable, Sendable {
    case text
    case json
    case csv
    case ipfix
    /// One short line per flow.
    case compact
    /// Fixed-width columns under a header row.
    case table

    /// Parses a format name; `jsonl` is accepted for `json`.
    public init?(name: String) {
        switch name.lowercased() {
        case "jsonl", "json-lines": self = .json
        default:
            guard let f = FlowRecordFormat(rawValue: name.lowercased()) else { return nil }
            self = f
        }
    }

    /// A writer for this format at `path` (`-` = standard output).
    /// `mode` says what happens to an existing file.
    public func writer(path: String, mode: FileOpenMode = .truncate,
                       observationDomainID: UInt32 = 0, observationDomainName: String = "") throws(ExportError) -> any FlowRecordWriter {
        switch self {
        case .text: return try TextWriter(path: path, mode: mode)
        case .json: return try JSONLinesWriter(path: path, mode: mode)
        case .csv: return try CSVWriter(path: path, mode: mode)
        case .ipfix: return try IPFIXWriter(path: path, mode: mode, observationDomainID: observationDomainID,
                                            observationDomainName: observationDomainName)
        case .compact: return try CompactWriter(path: path, mode: mode)
        case .table: return try TableWriter(path: path, mode: mode)
        }
    }
}
