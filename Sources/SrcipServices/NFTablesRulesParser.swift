import Foundation
import SrcipCore

/// Rebuilds Services from kube-proxy's nftables rules: `nft -j list ruleset` (or `nft -j list table ip kube-proxy`)
/// JSON; reads `table ip kube-proxy` and `table ip6 kube-proxy`, ignores everything else.
///
/// nftables does not tell externalIPs from LoadBalancer IPs (both go to the `external-…` chain); addresses that are
/// not in `firewall-ips` are reported as externalIPs. Health-check node ports are not in the rules.
public enum NFTablesRulesParser {
    public static func parse(_ data: Data, file: String = "nft -j list ruleset") throws -> DiscoveredServices {
        try parse(json: JSONNode.parse(data, file: file))
    }

    public static func parse(_ text: String, file: String = "nft -j list ruleset") throws -> DiscoveredServices {
        try parse(Data(text.utf8), file: file)
    }

    static func parse(json root: JSONNode) throws -> DiscoveredServices {
        guard let list = try root.dict()["nftables"] else { throw root.fail("missing `nftables` array") }
        var tables: [String: NFTablesKubeProxyTable] = [:]
        var families: [String] = []
        for item in try list.array() {
            let obj = try item.dict()
            guard let o = obj.object, o.count == 1, let kind = o.keys.first, let body = obj[kind] else {
                throw item.fail("expected an object with one key (table, chain, rule, set, map, …)")
            }
            guard ["table", "chain", "rule", "set", "map"].contains(kind) else { continue }
            let b = try body.dict()
            let family = try b.require("family").string()
            let table = try b.require(kind == "table" ? "name" : "table").string()
            guard table == "kube-proxy", family == "ip" || family == "ip6" else { continue }
            if tables[family] == nil { families.append(family); tables[family] = NFTablesKubeProxyTable(family: family) }
            try tables[family]!.add(kind: kind, body: b)
        }
        var result = DiscoveredServices(services: [], source: "nftables")
        if families.isEmpty {
            result.warnings.append("\(root.file): no `table ip kube-proxy` / `table ip6 kube-proxy` in the ruleset")
        }
        for f in families {
            var interpreter = NFTablesInterpreter(table: tables[f]!, file: root.file)
            try interpreter.run()
            var warnings = interpreter.warnings
            let services = interpreter.assembler.services(warnings: &warnings)
            result.merge(DiscoveredServices(services: services, clusterCIDRs: interpreter.clusterCIDRs,
                                            source: "nftables", warnings: warnings,
                                            structures: f == "ip" ? .nftablesIPv4 : .nftablesIPv6))
        }
        return result
    }
}
