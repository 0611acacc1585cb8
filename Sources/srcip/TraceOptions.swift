import ArgumentParser
import SrcipCore
import SrcipExport
import SrcipServices

/// `trace --format`: how flow records (or, with `--raw`, BPF records) are written.
enum TraceFormat: String, CaseIterable, Sendable, ExpressibleByArgument {
    case text, compact, table, jsonl, csv, ipfix

    /// Accepts the format names of `FlowRecordFormat` too (`json`, `json-lines`, any case).
    init?(argument: String) {
        switch FlowRecordFormat(name: argument) {
        case .text?: self = .text
        case .json?: self = .jsonl
        case .csv?: self = .csv
        case .ipfix?: self = .ipfix
        case .compact?: self = .compact
        case .table?: self = .table
        case nil: return nil
        }
    }

    /// The flow-record writer format.
    var flowFormat: FlowRecordFormat {
        switch self {
        case .text: return .text
        case .jsonl: return .json
        case .csv: return .csv
        case .ipfix: return .ipfix
        case .compact: return .compact
        case .table: return .table
        }
    }

    /// The format of `--raw` output, nil for formats that only exist for flow records.
    var rawFormat: RawFormat? {
        switch self {
        case .text: return .text
        case .jsonl: return .jsonl
        case .csv, .ipfix, .compact, .table: return nil
        }
    }

    /// `--raw` output: one line per BPF record.
    enum RawFormat: Sendable { case text, jsonl }
}

/// `trace --protocol`.
enum ProtocolOption: String, CaseIterable, Sendable, ExpressibleByArgument {
    case tcp, udp, icmp, icmpv6

    init?(argument: String) {
        switch L4Protocol(name: argument) {
        case .tcp?: self = .tcp
        case .udp?: self = .udp
        case .icmp?: self = .icmp
        case .icmpv6?: self = .icmpv6
        case nil: return nil
        }
    }

    var l4: L4Protocol {
        switch self {
        case .tcp: return .tcp
        case .udp: return .udp
        case .icmp: return .icmp
        case .icmpv6: return .icmpv6
        }
    }
}

/// `trace --services`: auto | iptables | nftables | none | FILE (SrcipServices' own type).
extension ServiceSource: ExpressibleByArgument {
    public var defaultValueDescription: String { description }
    /// The keywords; a file path is accepted too.
    public static var defaultCompletionKind: CompletionKind { .list(["auto", "iptables", "nftables", "none"]) }
}

/// `merge --format`.
enum MergeFormat: String, CaseIterable, Sendable, ExpressibleByArgument {
    case text, compact, table, jsonl, html, svg
}
