import ArgumentParser
import SrcipExport

/// `srcip trace` options for long flows and IPFIX export.
struct TraceExportOptions: ParsableArguments {
    @Option(name: .customLong("active-timeout"), parsing: .unconditional,
            help: "Write an interim record (final: false; IPFIX flowEndReason active timeout) every this many seconds for each flow still open, counting since the flow started; 0 turns it off.")
    var activeTimeout: Double = 60

    @Option(name: .customLong("ipfix-collector"),
            help: "Also send flow records as IPFIX to this collector: udp://HOST:PORT or tcp://HOST:PORT (repeatable).")
    var collectors: [IPFIXCollectorAddress] = []

    @Option(name: .customLong("template-refresh"), parsing: .unconditional,
            help: "Send the IPFIX templates to UDP collectors again every this many seconds (RFC 7011 §8.4), 1 to 86400.")
    var templateRefresh: Int = 60

    @Option(name: .customLong("observation-domain"), parsing: .unconditional,
            help: "IPFIX observation domain id (1 to 4294967295). Default: derived from the node name, so every node is its own domain.")
    var observationDomain: UInt32?

    func validate() throws {
        if activeTimeout != 0 { try OptionValidation.seconds(activeTimeout, option: "--active-timeout", min: 1) }
        try OptionValidation.integer(templateRefresh, option: "--template-refresh", in: 1...86_400)
        if observationDomain == 0 { throw ValidationError("--observation-domain 0 means no domain: give 1 to 4294967295") }
    }

    /// The observation domain id for `node`.
    func domain(node: String) -> UInt32 { observationDomain ?? IPFIXEncoder.observationDomain(forNode: node) }

    /// One IPFIX writer per collector.
    func collectorWriters(node: String) throws -> [any FlowRecordWriter] {
        try collectors.map { c in
            IPFIXWriter(transport: try IPFIXSocketTransport(c), observationDomainID: domain(node: node), observationDomainName: node,
                        templateRefreshSeconds: UInt32(templateRefresh))
        }
    }
}

extension IPFIXCollectorAddress: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}
