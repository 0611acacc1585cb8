import Foundation
import SrcipSystem

/// A cheap "did the iptables-legacy rules change?" check: legacy tables send no netlink notifications, so the
/// `nat` and `filter` tables are dumped with `iptables-legacy-save` / `ip6tables-legacy-save` and compared by a
/// digest that ignores comments and packet counters. Runs only when legacy tables exist in this namespace
/// (`/proc/net/ip_tables_names`), so nft-only nodes pay nothing.
struct LegacyRulesDigest {
    private struct Family {
        var names: String
        var save: String
    }
    private static let families = [Family(names: "/proc/net/ip_tables_names", save: "iptables-legacy-save"),
                                   Family(names: "/proc/net/ip6_tables_names", save: "ip6tables-legacy-save")]

    /// The digest of the legacy `nat`/`filter` tables now; nil when there are none (or the tool is missing).
    static func current() -> Int? {
        var hasher = Hasher()
        var any = false
        for f in families {
            guard let names = FileText.string(atPath: f.names) else { continue }
            let tables = names.split(separator: "\n").filter { $0 == "nat" || $0 == "filter" }.sorted()
            guard !tables.isEmpty, Command.locate(f.save) != nil else { continue }
            for t in tables {
                guard let text = try? Command.check(f.save, ["-t", String(t)]) else { continue }
                any = true
                hasher.combine(f.save)
                combine(text, into: &hasher)
            }
        }
        return any ? hasher.finalize() : nil
    }

    /// Feeds the rule lines of an iptables-save dump, without `#` comments and chain counters (`[0:0]`).
    static func combine(_ text: String, into hasher: inout Hasher) {
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("#") { continue }
            if line.hasPrefix(":"), let open = line.lastIndex(of: "[") {
                hasher.combine(line[..<open])
            } else {
                hasher.combine(line)
            }
        }
    }
}

/// What identifies a version of a dump file: device, inode, size and modification time.
struct FileStamp: Equatable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modifiedSec: Int
    var modifiedNsec: Int

    /// nil when the file does not exist (e.g. between unlink and rename of an editor's save).
    init?(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        size = Int64(st.st_size)
        modifiedSec = st.st_mtim.tv_sec
        modifiedNsec = st.st_mtim.tv_nsec
    }
}

/// CLOCK_MONOTONIC nanoseconds (the BPF timestamps' clock).
func monotonicNs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
