import SrcipCore

/// Writes flow records as CSV (RFC 4180): a header row of the v1 field names, `service` flattened into
/// `service_namespace`, `service_name`, …; null is an empty cell.
public final class CSVWriter: FlowRecordWriter {
    private let sink: HeaderedSink

    public static let serviceColumns = ["namespace", "name", "port_name", "port", "type", "frontend",
                                        "external_traffic_policy", "internal_traffic_policy", "resolved_from"]

    /// The header row's column names.
    public static let columns: [String] = FlowRecordField.names.flatMap { name in
        name == "service" ? serviceColumns.map { "service_" + $0 } : [name]
    }

    /// The header row as written (a file without records still gets it).
    static let headerRow = columns.map(quote).joined(separator: ",") + "\r\n"

    public init(sink: FileSink) { self.sink = HeaderedSink(sink: sink, header: Self.headerRow, headerWithoutLines: true) }
    public init(path: String, mode: FileOpenMode = .truncate) throws(ExportError) {
        sink = try HeaderedSink(path: path, mode: mode, header: Self.headerRow, headerWithoutLines: true)
    }
    public func flush() throws(ExportError) { try sink.flush() }
    /// A new file gets the header row again.
    public func reopen() throws(ExportError) { try sink.reopen() }

    public func write(_ record: FlowRecord) throws(ExportError) {
        try sink.write(CSVWriter.row(record).map { CSVWriter.quote($0 ?? "") }.joined(separator: ",") + "\r\n")
    }

    public func close() throws(ExportError) { try sink.close() }

    /// The cells of one record, in `columns` order.
    public static func row(_ r: FlowRecord) -> [String?] {
        var out: [String?] = []
        out.reserveCapacity(columns.count)
        for key in FlowRecordField.allCases {
            switch key {
            case .version: out.append(String(r.version))
            case .node: out.append(r.node)
            case .start: out.append(RFC3339.format(unixNs: r.startNs))
            case .end: out.append(RFC3339.format(unixNs: r.endNs))
            case .protocol: out.append(r.protocolName)
            case .family: out.append(r.familyName)
            case .srcIP: out.append(r.original.src.description)
            case .srcPort: out.append(String(r.original.srcPort))
            case .dstIP: out.append(r.original.dst.description)
            case .dstPort: out.append(String(r.original.dstPort))
            case .xlatSrcIP: out.append(r.translated?.src.description)
            case .xlatSrcPort: out.append(r.translated.map { String($0.srcPort) })
            case .xlatDstIP: out.append(r.translated?.dst.description)
            case .xlatDstPort: out.append(r.translated.map { String($0.dstPort) })
            case .snat: out.append(String(r.snat))
            case .dnat: out.append(String(r.dnat))
            case .snatInterface: out.append(r.snatInterface)
            case .snatHook: out.append(r.snatHook?.description)
            case .inInterface: out.append(r.inInterface)
            case .outInterface: out.append(r.outInterface)
            case .service:
                let s = r.service
                out.append(s?.namespace)
                out.append(s?.name)
                out.append(s?.portName)
                out.append(s.map { String($0.port) })
                out.append(s?.type.rawValue)
                out.append(s?.frontend.rawValue)
                out.append(s?.externalTrafficPolicy.rawValue)
                out.append(s?.internalTrafficPolicy.rawValue)
                out.append(s?.resolvedFrom.rawValue)
            case .clientKind: out.append(r.clientKind.rawValue)
            case .hairpin: out.append(String(r.hairpin))
            case .verdict: out.append(r.verdict.rawValue)
            case .expected: out.append(r.expected?.rawValue)
            case .expectationMet: out.append(r.expectationMet.map { String($0) })
            case .packets: out.append(String(r.packets))
            case .bytes: out.append(String(r.bytes))
            case .replyPackets: out.append(String(r.replyPackets))
            case .replyBytes: out.append(String(r.replyBytes))
            case .join: out.append(r.join.description)
            case .dnatInterface: out.append(r.dnatInterface)
            case .dnatHook: out.append(r.dnatHook?.description)
            case .expectedRow: out.append(r.expectedRow.map { String($0) })
            case .endpointNode: out.append(r.endpointNode)
            case .reason: out.append(r.reason)
            case .final: out.append(String(r.final))
            case .endReason: out.append(r.endReason?.rawValue)
            case .tcpFlags: out.append(String(r.tcpFlags))
            case .snatAddressInterface: out.append(r.snatAddressInterface)
            case .encap: out.append(r.encapsulation?.kind.description)
            case .encapVNI: out.append(r.encapsulation.map { String($0.vni) })
            case .encapSrcIP: out.append(r.encapsulation?.outer?.src.description)
            case .encapSrcPort: out.append(r.encapsulation?.outer.map { String($0.srcPort) })
            case .encapDstIP: out.append(r.encapsulation?.outer?.dst.description)
            case .encapDstPort: out.append(r.encapsulation?.outer.map { String($0.dstPort) })
            }
        }
        return out
    }

    /// Quotes a cell when it holds a comma, quote, CR or LF (quotes doubled).
    public static func quote(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 10 || $0 == 13 }) else { return s }
        return "\"" + s.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
    }
}
