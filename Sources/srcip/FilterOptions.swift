import ArgumentParser
import SrcipCore

extension Verdict: ExpressibleByArgument {}

/// `--service`, `--namespace`, `--verdict`, `--from-ip`, `--to-ip`: shared by `trace` and `merge`.
struct FilterOptions: ParsableArguments {
    @Option(name: .customLong("service"), help: ArgumentHelp("Only flows of this Service, as NAMESPACE/NAME (repeatable).",
                                                             valueName: "namespace/name"))
    var services: [String] = []

    @Option(name: .customLong("namespace"), help: ArgumentHelp("Only flows of Services in this namespace (repeatable).", valueName: "namespace"))
    var namespaces: [String] = []

    @Option(name: .customLong("verdict"), help: "Only flows with this verdict (repeatable).")
    var verdicts: [Verdict] = []

    @Option(name: .customLong("from-ip"),
            help: ArgumentHelp("Only flows from this address: the client's, or the source SNAT wrote (before or after NAT; repeatable).", valueName: "ip"))
    var fromIPs: [String] = []

    @Option(name: .customLong("to-ip"),
            help: ArgumentHelp("Only flows to this address: the Service address, or the backend DNAT chose (before or after NAT; repeatable).", valueName: "ip"))
    var toIPs: [String] = []

    func validate() throws {
        for s in services {
            let parts = s.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ValidationError("--service \(s): name a Service as NAMESPACE/NAME, e.g. default/\(s.split(separator: "/").last ?? "web")"
                                      + " (the catalog source is --services)")
            }
        }
        for (opt, ips) in [("--from-ip", fromIPs), ("--to-ip", toIPs)] {
            for ip in ips where IPAddress(ip) == nil { throw ValidationError("\(opt) \(ip) is not an IPv4 or IPv6 address") }
        }
    }

    var filter: FlowRecordFilter {
        FlowRecordFilter(services: Set(services), namespaces: Set(namespaces), verdicts: Set(verdicts),
                         fromIPs: Set(fromIPs.compactMap { IPAddress($0) }), toIPs: Set(toIPs.compactMap { IPAddress($0) }))
    }
}

/// Refuses `-o json` and the like: an output path spelled like a format name is almost always a forgotten `--format`.
enum OutputPathCheck {
    static let formatNames: Set<String> = ["text", "json", "jsonl", "json-lines", "csv", "ipfix", "compact", "table", "html", "svg"]

    static func validate(_ output: String?) throws {
        guard let output, formatNames.contains(output.lowercased()) else { return }
        throw ValidationError("--output \(output) is a format name: did you mean --format \(output.lowercased())? "
                              + "To write a file of that name, give a path: --output ./\(output)")
    }
}
