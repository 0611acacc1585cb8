/// kube-proxy's full resync on a node that already has its rules: the `KubeProxyIPTables.render` input plus, per table,
/// a flush (`:CHAIN - [0:0]`) and delete (`-X CHAIN`) of every per-service/per-endpoint chain that exists on the node
/// but is no longer rendered — what `syncProxyRules` does with the chains `iptables-save` reports. Rules outside
/// kube-proxy's chains are left alone (`iptables-restore --noflush`).
extension KubeProxyIPTables {
    /// Chain prefixes kube-proxy owns and deletes when stale (proxier.go `isServiceChainName` and KUBE-SEP-).
    public static let staleChainPrefixes = ["KUBE-SVC-", "KUBE-SVL-", "KUBE-EXT-", "KUBE-FW-", "KUBE-SEP-"]

    /// Chain names per table in `iptables-save` output.
    public static func chains(inSave save: String) -> [String: Set<String>] {
        var result: [String: Set<String>] = [:]
        var table: String?
        for line in save.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("*") { table = String(line.dropFirst()) }
            else if line.hasPrefix(":"), let table, let name = line.dropFirst().split(separator: " ").first {
                result[table, default: []].insert(String(name))
            }
        }
        return result
    }

    /// `rendered` (a full-sync restore input) extended with the deletion of stale kube-proxy chains found in `existingSave`.
    public static func resyncInput(rendered: String, existingSave: String) -> String {
        let existing = chains(inSave: existingSave)
        let declared = chains(inSave: rendered)
        var out: [String] = []
        var table: String?
        var stale: [String] = []
        for line in rendered.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("*") {
                table = String(line.dropFirst())
                let have = existing[table!] ?? [], want = declared[table!] ?? []
                stale = have.subtracting(want).filter { c in staleChainPrefixes.contains { c.hasPrefix($0) } }.sorted()
                out.append(line)
                out += stale.map { ":\($0) - [0:0]" }
            } else if line == "COMMIT", table != nil {
                out += stale.map { "-X \($0)" }
                out.append(line)
                table = nil
                stale = []
            } else {
                out.append(line)
            }
        }
        return out.joined(separator: "\n")
    }
}
