import Foundation
import SrcipLabCluster
import SrcipLabWorkloads
import SrcipSystem
#if canImport(Glibc)
import Glibc
#endif

/// Finds and stops the processes living in network namespaces (the in-process equivalent of `ip netns pids` + kill).
public enum NamespaceProcesses {
    /// Lab namespaces with `prefix` that `ip netns list` knows (read from /run/netns).
    public static func namespaces(withPrefix prefix: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []
        return names.filter { $0.hasPrefix(prefix) }.sorted()
    }

    /// Pids whose network namespace is one of `namespaces`.
    public static func pids(in namespaces: [String]) -> [Int32] {
        var inodes = Set<UInt64>()
        for ns in namespaces {
            var st = stat()
            if stat("/run/netns/\(ns)", &st) == 0 { inodes.insert(UInt64(st.st_ino)) }
        }
        guard !inodes.isEmpty else { return [] }
        let own = getpid()
        var found: [Int32] = []
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), pid != own else { continue }
            var st = stat()
            if stat("/proc/\(entry)/ns/net", &st) == 0, inodes.contains(UInt64(st.st_ino)) { found.append(pid) }
        }
        return found
    }

    /// SIGTERM, wait up to `grace` seconds, then SIGKILL; reaps them if they are our children.
    public static func stop(_ pids: [Int32], grace: Double = 1.0) {
        guard !pids.isEmpty else { return }
        for pid in pids { kill(pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(grace)
        var alive = pids
        while !alive.isEmpty, Date() < deadline {
            alive = alive.filter { isAlive($0) }
            if !alive.isEmpty { usleep(10_000) }
        }
        for pid in alive { kill(pid, SIGKILL) }
        for pid in alive { for _ in 0..<100 where isAlive(pid) { usleep(10_000) } }
    }

    /// True when `pid` runs (zombies of our own children are reaped and count as gone).
    public static func isAlive(_ pid: Int32) -> Bool {
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { return false }
        guard kill(pid, 0) == 0 else { return false }
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
           let close = stat.lastIndex(of: ")"), stat.index(close, offsetBy: 2) < stat.endIndex,
           stat[stat.index(close, offsetBy: 2)] == "Z" {
            return false
        }
        return true
    }

    /// True when `pid` is a srcip lab daemon (guards against pid reuse before killing a recorded pid).
    static func isLabDaemon(_ pid: Int32) -> Bool {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        let args = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        return args.contains("lab") && args.contains { $0.hasSuffix("srcip") }
    }
}
