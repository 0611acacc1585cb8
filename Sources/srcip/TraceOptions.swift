import ArgumentParser
import SrcipCore
import SrcipExport
import SrcipServices

/// `trace --format`: how flow records (or, with `--raw`, BPF records) are written.
enum TraceFormat: String, CaseIterable, Sendable, ExpressibleByArgument {
    case text, jsonl, csv, ipfix

    /// Accepts the format names of `FlowRecordFormat` too (`json`, `json-lines`, any case).
    init?(argument: String) {
        switch FlowRecordFormat(name: argument) {
        case .text?: self = .text
        case .json?: self = .jsonl
        case .csv?: self = .csv
        case .ipfix?: self = .ipfix
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
        }
    }

    /// The format of `--raw` output, nil for formats that only exist for flow records.
    var rawFormat: RawFormat? {
        switch self {
        case .text: return .text
        case .jsonl: return .jsonl
        case .csv, .ipfix: return nil
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

/// `trace --services`: where the Service catalog comes from.
enum ServicesOption: Equatable, Sendable, ExpressibleByArgument, CustomStringConvertible {
    /// kube-proxy's rules in this network namespace, nftables or iptables, whichever it programmed.
    case auto
    case iptables
    case nftables
    /// No catalog: flows are written without Services or expectations.
    case none
    /// A dump: iptables-save output, `nft -j list ruleset`, or `kubectl get svc,endpointslices,nodes -A -o json`.
    case file(String)

    /// `auto`, `iptables`, `nftables`, `none`; anything else is a file path.
    init(argument: String) {
        switch argument {
        case "auto": self = .auto
        case "iptables": self = .iptables
        case "nftables": self = .nftables
        case "none": self = .none
        default: self = .file(argument)
        }
    }

    var description: String {
        switch self {
        case .auto: return "auto"
        case .iptables: return "iptables"
        case .nftables: return "nftables"
        case .none: return "none"
        case .file(let path): return path
        }
    }

    var defaultValueDescription: String { description }

    /// What to ask `ServiceDiscovery` for; nil for `none`.
    var discovery: (mode: ServiceSourceMode, file: String?)? {
        switch self {
        case .auto: return (.auto, nil)
        case .iptables: return (.iptables, nil)
        case .nftables: return (.nftables, nil)
        case .none: return nil
        case .file(let path): return (.file, path)
        }
    }
}

/// `merge --format`.
enum MergeFormat: String, CaseIterable, Sendable, ExpressibleByArgument {
    case text, jsonl
}
