import Foundation
import SrcipCore
import SrcipSystem

/// Discovers Services on this node: runs `iptables-save` / `ip6tables-save` / `nft -j list ruleset` in the current
/// network namespace, or reads a dump file. The only part of SrcipServices that does I/O.
public enum ServiceDiscovery {
    /// - Parameters:
    ///   - source: what to read.
    ///   - localNodeName: for kubectl dumps, the node srcip runs on (fills `isLocal`).
    ///   - netns: read the rules of this named network namespace (`ip netns exec`) instead of the current one (the lab uses it).
    public static func discover(_ source: ServiceSource, localNodeName: String? = nil, netns: String? = nil) throws -> DiscoveredServices {
        let tools = Tools(netns: netns)
        switch source {
        case .file(let path): return try read(file: path, localNodeName: localNodeName)
        case .iptables: return try fromIPTables(tools)
        case .nftables: return try fromNFTables(tools)
        case .auto: return try auto(tools)
        case .none: return DiscoveredServices(services: [], source: "none")
        }
    }

    /// Runs the rule-dumping tools, optionally inside a named netns.
    struct Tools {
        var netns: String?

        /// Standard output of `tool args…`; a missing tool names `aptPackage`, a failure carries its stderr.
        func run(_ tool: String, _ args: [String], aptPackage: String) throws(ServiceSourceError) -> Data {
            guard Command.locate(tool) != nil else { throw .toolMissing(tool: tool, aptPackage: aptPackage) }
            do {
                if let netns { return Data(try Command.check("ip", ["netns", "exec", netns, tool] + args).utf8) }
                return Data(try Command.check(tool, args).utf8)
            } catch {
                throw ServiceSourceError(error)
            }
        }
    }

    /// Reads a dump file, detecting its format.
    public static func read(file: String, localNodeName: String? = nil) throws -> DiscoveredServices {
        let data = try InputLimits.readFile(file)
        var d: DiscoveredServices
        switch try ServiceInputFormat.detect(data, file: file) {
        case .iptablesSave:
            guard let text = String(data: data, encoding: .utf8) else {
                throw ServiceSourceError.unrecognizedFormat(file: file, problem: "not UTF-8 text")
            }
            d = try IPTablesRulesParser.parse(text, file: file)
        case .nftablesJSON:
            d = try NFTablesRulesParser.parse(data, file: file)
        case .kubectlJSON:
            d = try KubernetesDumpParser.parse(data, file: file, localNodeName: localNodeName)
        }
        d.source += " (\(file))"
        return d
    }

    /// One address family's iptables tools.
    struct IPTablesFamily {
        var save: String
        var legacySave: String
        var nftSave: String
        /// Lists the legacy tables in use; present only when the legacy backend is loaded.
        var legacyNames: String

        static let ipv4 = IPTablesFamily(save: "iptables-save", legacySave: "iptables-legacy-save", nftSave: "iptables-nft-save",
                                         legacyNames: "/proc/net/ip_tables_names")
        static let ipv6 = IPTablesFamily(save: "ip6tables-save", legacySave: "ip6tables-legacy-save", nftSave: "ip6tables-nft-save",
                                         legacyNames: "/proc/net/ip6_tables_names")
    }

    /// nat and filter tables of IPv4 (`iptables-save`) and IPv6 (`ip6tables-save`); see `IPTablesModel.services()`.
    static func fromIPTables(_ tools: Tools) throws -> DiscoveredServices {
        try readIPTables(tools).services()
    }

    /// Reads both families' tables. IPv6 tool failures only warn.
    static func readIPTables(_ tools: Tools) throws -> IPTablesModel {
        var model = IPTablesModel(v4: try family(.ipv4, tools))
        do {
            model.v6 = try family(.ipv6, tools)
        } catch ServiceSourceError.toolMissing {
            model.v6Problem = "ip6tables-save not found; IPv6 Services not read"
        } catch {
            model.v6Problem = "IPv6 Services not read: \(error)"
        }
        return model
    }

    /// One family's rules; when its default backend shows no kube-proxy chains, the other backend
    /// (`*-legacy-save` / `*-nft-save`) is tried.
    private static func family(_ f: IPTablesFamily, _ tools: Tools) throws -> IPTablesModel.Family {
        var d = try IPTablesModel.Family(save: f.save, text: save(f.save, tools))
        if !d.hasKubeProxyRules, let other = otherBackend(f, tools), Command.locate(other) != nil,
           var alt = try? IPTablesModel.Family(save: other, text: save(other, tools)), alt.hasKubeProxyRules {
            alt.notes.append("\(f.save) shows no kube-proxy rules; read them with \(other)")
            d = alt
        }
        if d.listTool != nil, let version = try? tools.run(d.listTool!, ["--version"], aptPackage: "iptables"),
           !String(decoding: version, as: UTF8.self).contains("nf_tables") {
            d.listTool = nil   // legacy tables send no notifications: no chain-by-chain updates
        }
        return d
    }

    static func fromNFTables(_ tools: Tools) throws -> DiscoveredServices {
        try NFTablesRulesParser.parse(tools.run("nft", ["-j", "list", "ruleset"], aptPackage: "nftables"), file: "nft -j list ruleset")
    }

    /// Uses what the namespace has: kube-proxy's nft table, else its iptables chains, else nothing (with a warning).
    static func auto(_ tools: Tools) throws -> DiscoveredServices {
        var notes: [String] = []
        var nft: DiscoveredServices?
        var ipt: DiscoveredServices?
        do {
            let n = try fromNFTables(tools)
            if n.hasKubeProxyRules { nft = n }
        } catch let e as ServiceSourceError {
            notes.append("nftables not read: \(e)")
        }
        do {
            let i = try fromIPTables(tools)
            if i.hasKubeProxyRules { ipt = i }
        } catch let e as ServiceSourceError {
            notes.append("iptables not read: \(e)")
        }
        switch (nft, ipt) {
        case (let n?, let i?):
            // kube-proxy removes the other mode's rules when it starts; both present means one set is stale.
            var pick = n.services.count >= i.services.count ? n : i
            pick.warnings.append("both nftables (\(n.services.count) Services) and iptables (\(i.services.count) Services) kube-proxy rules "
                                 + "exist; using \(pick.source); pass --services iptables|nftables to choose")
            pick.source += " (auto)"
            return pick
        case (var n?, nil):
            n.source += " (auto)"
            return n
        case (nil, var i?):
            i.source += " (auto)"
            return i
        case (nil, nil):
            return DiscoveredServices(services: [], source: "none (auto)",
                                      warnings: notes + ["no kube-proxy rules in this network namespace; flows will not be attributed to Services "
                                                         + "(pass --services FILE with a kubectl or rules dump)"])
        }
    }

    /// The backend that is not the default, when it is worth a look: the nft one when the default is legacy; the
    /// legacy one only when legacy tables exist in this namespace (listing them could otherwise load legacy kernel
    /// modules as a side effect).
    static func otherBackend(_ f: IPTablesFamily, _ tools: Tools) -> String? {
        guard let version = try? tools.run(f.save, ["--version"], aptPackage: "iptables") else { return nil }
        if String(decoding: version, as: UTF8.self).contains("legacy") { return f.nftSave }
        guard tools.netns == nil, let names = FileText.bytes(atPath: f.legacyNames), !names.isEmpty else {
            return nil
        }
        return f.legacySave
    }

    /// `tool -t nat` + `tool -t filter`, concatenated.
    static func save(_ tool: String, _ tools: Tools) throws(ServiceSourceError) -> String {
        let nat = try tools.run(tool, ["-t", "nat"], aptPackage: "iptables")
        let filter = try tools.run(tool, ["-t", "filter"], aptPackage: "iptables")
        return String(decoding: nat, as: UTF8.self) + String(decoding: filter, as: UTF8.self)
    }
}
