#if canImport(Glibc)
import Glibc
#endif

/// Whole-file reads with `open`/`read`, for files read again and again while tracing (procfs, sysfs).
///
/// Foundation's `String(contentsOfFile:)`, `Data(contentsOf:)` and `FileManager.contents(atPath:)` leak a 4 KiB
/// buffer on every read of a file that reports size 0 and is empty (swift-foundation's zero-size path on Linux,
/// Swift 6.3): `/proc/net/ip_tables_names` on a node without legacy iptables tables, polled every second by the
/// catalog watcher, grew `srcip trace` by 0.5 MB a minute.
public enum FileText {
    /// The file's bytes, or nil when it cannot be opened or read.
    public static func bytes(atPath path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
        }
    }

    /// The file as UTF-8 text (invalid sequences replaced), or nil when it cannot be opened or read.
    public static func string(atPath path: String) -> String? {
        bytes(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }
}
