import Foundation

/// The formats `--services FILE` accepts, told apart by content.
public enum ServiceInputFormat: String, Sendable, Equatable {
    case iptablesSave = "iptables"
    case nftablesJSON = "nftables"
    case kubectlJSON = "kubectl"

    /// JSON with an `nftables` key → nft; JSON with `kind`/`items` → kubectl; text with `*nat`/`*filter`/`-A KUBE-` → iptables-save.
    /// JSON that does not parse is a `malformedJSON` error naming the file.
    public static func detect(_ data: Data, file: String) throws -> ServiceInputFormat {
        let head = data.prefix(64 * 1024)
        let text = String(decoding: head, as: UTF8.self)
        let trimmed = text.drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" || $0 == "\u{FEFF}" }
        if trimmed.hasPrefix("{") || trimmed.hasPrefix("[") {
            let root = try JSONNode.parse(data, file: file)
            if root["nftables"] != nil { return .nftablesJSON }
            if root["kind"] != nil || root["items"] != nil { return .kubectlJSON }
            throw ServiceSourceError.unrecognizedFormat(file: file, problem: "JSON without an `nftables` array or Kubernetes `kind`/`items`")
        }
        for line in text.split(separator: "\n").prefix(20_000) {
            let l = line.drop { $0 == " " || $0 == "\t" }
            if l.hasPrefix("*nat") || l.hasPrefix("*filter") || l.hasPrefix("*mangle") || l.hasPrefix("*raw") || l.hasPrefix("-A KUBE-") {
                return .iptablesSave
            }
        }
        if text.contains("table ip kube-proxy {") || text.contains("table ip6 kube-proxy {") || trimmed.hasPrefix("table ") {
            throw ServiceSourceError.unrecognizedFormat(file: file, problem: "this is `nft list` text; dump the rules as JSON with `nft -j list ruleset`")
        }
        if data.isEmpty { throw ServiceSourceError.unrecognizedFormat(file: file, problem: "the file is empty") }
        throw ServiceSourceError.unrecognizedFormat(file: file, problem: "neither JSON nor iptables-save text (no `*nat`/`*filter` table line)")
    }
}
