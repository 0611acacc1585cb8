import CSrcipSkeleton
import Foundation
import Synchronization

/// Captures libbpf's log (including verifier logs) while loading, instead of printing to stderr.
enum LibbpfLog {
    /// Captured lines and whether to echo them; libbpf calls the logger on the loading thread.
    private static let state = Mutex<(lines: [String], echo: Bool)>(([], false))

    /// Starts capturing; with `echo` the lines also go to stderr.
    static func begin(echo: Bool) {
        state.withLock { $0 = ([], echo) }
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
        return state.withLock { $0.lines.joined() }
    }

    private static func append(level: Int32, _ text: String) {
        let shouldEcho = state.withLock { s in
            // LIBBPF_DEBUG (2) is very chatty; keep it only when echoing (verbose).
            if level < 2 || s.echo { s.lines.append(text) }
            return s.echo
        }
        if shouldEcho { FileHandle.standardError.write(Data(text.utf8)) }
    }
}
