import Foundation
import SrcipCore

/// Where `--services` reads Services from.
public enum ServiceSourceMode: String, Sendable, Equatable, CaseIterable {
    /// Whatever kube-proxy programmed in this network namespace (nftables table or iptables chains).
    case auto
    case iptables
    case nftables
    /// A dump file: iptables-save text, `nft -j list ruleset` JSON or kubectl JSON.
    case file

    /// `--services auto|iptables|nftables|FILE`: anything else is a file path.
    public static func parse(_ argument: String) -> (mode: ServiceSourceMode, file: String?) {
        if let m = ServiceSourceMode(rawValue: argument), m != .file { return (m, nil) }
        return (.file, argument)
    }
}

/// Discovers Services on this node: runs `iptables-save` / `nft -j list ruleset` in the current network namespace,
/// or reads a dump file. The only part of SrcipServices that does I/O.
public enum ServiceDiscovery {
    /// - Parameters:
    ///   - mode: what to read; `.file` needs `file`.
    ///   - file: dump file path for `.file`.
    ///   - localNodeName: for kubectl dumps, the node srcip runs on (fills `isLocal`).
    ///   - netns: read the rules of this named network namespace (`ip netns exec`) instead of the current one (the lab uses it).
    public static func discover(mode: ServiceSourceMode, file: String? = nil, localNodeName: String? = nil,
                                netns: String? = nil) throws -> DiscoveredServices {
        let tools = Tools(netns: netns)
        switch mode {
        case .file:
            guard let file else { throw ServiceSourceError.unreadable(file: "(none)", reason: "--services file mode needs a path") }
            return try read(file: file, localNodeName: localNodeName)
        case .iptables:
            return try fromIPTables(tools)
        case .nftables:
            return try fromNFTables(tools)
        case .auto:
            return try auto(tools)
        }
    }

    /// Runs the rule-dumping tools, optionally inside a named netns.
    struct Tools {
        var netns: String?

        func run(_ tool: String, _ args: [String], aptPackage: String) throws -> Data {
            guard let netns else { return try CommandRunner.run(tool, args, aptPackage: aptPackage) }
            guard CommandRunner.locate(tool) != nil else { throw ServiceSourceError.toolMissing(tool: tool, aptPackage: aptPackage) }
            return try CommandRunner.run("ip", ["netns", "exec", netns, tool] + args, aptPackage: "iproute2")
        }
    }

    /// Reads a dump file, detecting its format.
    public static func read(file: String, localNodeName: String? = nil) throws -> DiscoveredServices {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            throw ServiceSourceError.unreadable(file: file, reason: (error as NSError).localizedDescription)
        }
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

    /// `iptables-save` for nat and filter, IPv4 then IPv6 (ip6tables failures only warn). When the default
    /// iptables backend shows no kube-proxy chains, the other backend (`iptables-legacy-save` / `iptables-nft-save`) is tried.
    static func fromIPTables(_ tools: Tools) throws -> DiscoveredServices {
        var d = try IPTablesRulesParser.parse(save("iptables-save", tools), file: "iptables-save")
        if d.services.isEmpty, d.warnings.contains(where: { $0.contains("no kube-proxy chains") || $0.contains("no nat or filter") }),
           let other = otherBackend(tools), CommandRunner.locate(other) != nil,
           let alt = try? IPTablesRulesParser.parse(save(other, tools), file: other), !alt.services.isEmpty {
            d = alt
            d.warnings.append("iptables-save shows no kube-proxy rules; read them with \(other)")
        }
        do {
            d.merge(try IPTablesRulesParser.parse(save("ip6tables-save", tools), file: "ip6tables-save"))
        } catch ServiceSourceError.toolMissing {
            d.warnings.append("ip6tables-save not found; IPv6 Services not read")
        } catch let e as ServiceSourceError {
            d.warnings.append("IPv6 Services not read: \(e)")
        }
        d.warnings.removeAll { $0.hasPrefix("ip6tables-save: no kube-proxy chains") || $0.hasPrefix("ip6tables-save: no nat or filter") }
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
            if !n.warnings.contains(where: { $0.contains("no `table ip kube-proxy`") }) { nft = n }
        } catch let e as ServiceSourceError {
            notes.append("nftables not read: \(e)")
        }
        do {
            let i = try fromIPTables(tools)
            if !i.warnings.contains(where: { $0.contains("no kube-proxy chains") || $0.contains("no nat or filter table") }) { ipt = i }
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

    /// The iptables backend that is not the default, when it is worth a look: `iptables-nft-save` when the default is
    /// legacy; `iptables-legacy-save` only when legacy tables exist in this namespace (listing them could otherwise
    /// load legacy kernel modules as a side effect).
    private static func otherBackend(_ tools: Tools) -> String? {
        guard let version = try? CommandRunner.run("iptables-save", ["--version"], aptPackage: "iptables") else { return nil }
        if String(decoding: version, as: UTF8.self).contains("legacy") { return "iptables-nft-save" }
        guard tools.netns == nil, let names = FileManager.default.contents(atPath: "/proc/net/ip_tables_names"), !names.isEmpty else {
            return nil
        }
        return "iptables-legacy-save"
    }

    /// `tool -t nat` + `tool -t filter`, concatenated.
    private static func save(_ tool: String, _ tools: Tools) throws -> String {
        let nat = try tools.run(tool, ["-t", "nat"], aptPackage: "iptables")
        let filter = try tools.run(tool, ["-t", "filter"], aptPackage: "iptables")
        return String(decoding: nat, as: UTF8.self) + String(decoding: filter, as: UTF8.self)
    }
}
