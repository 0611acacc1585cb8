import SrcipCore

/// Rebuilds Services from kube-proxy's iptables rules: `iptables-save` output (real save format with re-ordered
/// matches, `/32`, quoted comments) or the restore format kube-proxy writes; `nat` and `filter` tables.
/// Also accepts the pre-1.24 `KUBE-XLB-` layout and large-cluster mode (no comments on endpoint rules).
public enum IPTablesRulesParser {
    /// Parses the whole text. Throws `ServiceSourceError` for text that is not iptables-save output or is cut off;
    /// returns warnings for inconsistencies that leave the rest usable (e.g. a jump to a missing KUBE-SEP chain).
    public static func parse(_ text: String, file: String = "iptables-save") throws -> DiscoveredServices {
        try interpret(IPTablesSaveReader.read(text, file: file), file: file)
    }

    /// Services of rule sets already split into tables (one set per family).
    static func interpret(_ sets: [[String: IPTablesTable]], file: String) throws -> DiscoveredServices {
        try interpretIndexed(sets, file: file).services
    }

    /// `interpret`, with the index that lets a change re-assemble only the Services it touches (one rule set only,
    /// and only when its interpretation has no warnings besides the cluster-CIDR ones).
    static func interpretIndexed(_ sets: [[String: IPTablesTable]], file: String) throws
        -> (services: DiscoveredServices, index: IPTablesServiceIndex?) {
        var result = DiscoveredServices(services: [], source: "iptables")
        if sets.isEmpty {
            result.warnings.append("\(file): no nat or filter table found")
        }
        var index: IPTablesServiceIndex?
        for tables in sets {
            var interpreter = IPTablesInterpreter(nat: tables["nat"], filter: tables["filter"], file: file)
            try interpreter.run()
            var warnings = interpreter.warnings
            let services = interpreter.assembler.services(warnings: &warnings)
            if sets.count == 1 { index = IPTablesServiceIndex(interpreter, services: services, warnings: warnings) }
            result.merge(DiscoveredServices(services: services, clusterCIDRs: interpreter.clusterCIDRs,
                                            source: "iptables", warnings: warnings,
                                            structures: interpreter.structures))
        }
        return (result, index)
    }
}
