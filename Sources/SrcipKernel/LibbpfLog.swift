import CSrcipSkeleton
import Foundation

/// Captures libbpf's log (including verifier logs) while loading, instead of printing to stderr.
enum LibbpfLog {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var lines: [String] = []
    nonisolated(unsafe) private static var echo = false

    /// Starts capturing; with `echo` the lines also go to stderr.
    static func begin(echo: Bool) {
        lock.lock()
        lines.removeAll()
        Self.echo = echo
        lock.unlock()
        srcip_set_libbpf_logger { level, message in
            guard let message else { return }
            let text = String(cString: message)
            LibbpfLog.append(level: level, text)
        }
    }

    /// Stops capturing and returns what was logged.
    @discardableResult
    static func end() -> String {
        srcip_set_libbpf_logger(nil)
        lock.lock()
        defer { lock.unlock() }
        return lines.joined()
    }

    private static func append(level: Int32, _ text: String) {
        lock.lock()
        let shouldEcho = echo
        // LIBBPF_DEBUG (2) is very chatty; keep it only when echoing (verbose).
        if level < 2 || shouldEcho { lines.append(text) }
        lock.unlock()
        if shouldEcho { FileHandle.standardError.write(Data(text.utf8)) }
    }
}
