import CSrcipSkeleton
import Foundation

/// Runs work inside another network namespace. Only the calling thread's namespace matters to
/// interface lookups and tc attach, so the work runs on a fresh thread that joins the namespace and
/// exits; the rest of the process stays where it is.
public enum NetworkNamespace {
    /// Runs `body` on a thread inside the namespace at `path` (e.g. `/run/netns/<name>`), waits for it,
    /// and returns its result or rethrows its error.
    public static func run<T>(path: String, _ body: @escaping @Sendable () throws -> T) throws -> T {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw KernelError.systemCall("open \(path)", errno: errno) }
        defer { close(fd) }
        return try run(fd: fd, body)
    }

    /// Same, for an open namespace file descriptor.
    public static func run<T>(fd: Int32, _ body: @escaping @Sendable () throws -> T) throws -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            if srcip_setns_net(fd) != 0 {
                box.result = .failure(KernelError.systemCall("setns(CLONE_NEWNET)", errno: errno))
            } else {
                box.result = Result { try body() }
            }
            done.signal()
        }
        thread.start()
        done.wait()
        return try box.result!.get()
    }

    /// An fd for the calling thread's current network namespace (caller closes it).
    public static func openCurrent() -> Int32 {
        open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
    }
}

/// Carries a result from a worker thread back to the waiting caller. `@unchecked Sendable` is safe: the worker
/// writes `result` once before `done.signal()`, and the caller reads it only after `done.wait()`.
private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}
