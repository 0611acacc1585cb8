#if canImport(Glibc)
import Glibc
#endif

/// Waiting for child processes and decoding their exit status; the one place srcip calls `waitpid`.
public enum ChildProcess {
    /// The exit status of a raw `waitpid` status: the exit code, or 128 + N when killed by signal N (as shells report it).
    public static func exitStatus(_ raw: Int32) -> Int32 {
        let signal = raw & 0x7f
        return signal == 0 ? (raw >> 8) & 0xff : 128 + signal
    }

    /// Waits for `pid` to exit and returns its exit status; -1 if it cannot be waited for (not a child).
    public static func wait(_ pid: pid_t) -> Int32 {
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        return exitStatus(raw)
    }

    /// Polls `pid` until it exits or `timeout` seconds have passed (0: check once). Returns its exit status,
    /// -1 if it cannot be waited for, or nil when it is still running at the deadline.
    public static func wait(_ pid: pid_t, timeout: Double) -> Int32? {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(Int64(max(0, timeout) * 1000)))
        while true {
            var raw: Int32 = 0
            let r = waitpid(pid, &raw, WNOHANG)
            if r == pid { return exitStatus(raw) }
            if r < 0 && errno != EINTR { return -1 }
            if clock.now >= deadline { return nil }
            usleep(10_000)
        }
    }
}
