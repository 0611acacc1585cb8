import SrcipCore

/// Output formats for flow records (`--format`).
public enum FlowRecordFormat: String, CaseIterable, Sendable {
    case text
    case json
    case csv
    case ipfix

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
    public func writer(path: String, observationDomainID: UInt32 = 0) throws(ExportError) -> any FlowRecordWriter {
        switch self {
        case .text: return try TextWriter(path: path)
        case .json: return try JSONLinesWriter(path: path)
        case .csv: return try CSVWriter(path: path)
        case .ipfix: return try IPFIXWriter(path: path, observationDomainID: observationDomainID)
        }
    }
}
