import CSrcipSystem
#if canImport(Glibc)
import Glibc
#endif

/// Why work could not be moved into a network namespace.
public enum NetworkNamespaceError: Error, Equatable, CustomStringConvertible {
    /// The namespace file (e.g. `/run/netns/<name>`) cannot be opened.
    case open(path: String, errno: Int32)
    /// `setns(2)` refused the namespace (not root, or not a network namespace).
    case setns(path: String, errno: Int32)
    /// No thread could be started for the work.
    case thread(errno: Int32)

    public var description: String {
        switch self {
        case let .open(path, e):
            return "network namespace \(path) cannot be opened (\(String(cString: strerror(e))))"
                + (e == ENOENT ? "; does it exist? (`ip netns list`)" : "")
        case let .setns(path, e):
            return "cannot enter network namespace \(path): setns: \(String(cString: strerror(e)))"
                + (e == EPERM ? "; run as root" : "")
        case let .thread(e):
            return "cannot start a thread for network-namespace work: \(String(cString: strerror(e)))"
        }
    }
}

/// Runs work inside another network namespace. Only the calling thread's namespace matters to sockets, interface
/// lookups, `/proc/sys/net` and tc attach, so the work runs on a fresh thread that joins the namespace and ends;
/// the rest of the process stays where it is. The one runner of srcip: the tracer, its tests and the lab use it.
public enum NetworkNamespace {
    /// The file of a named namespace (`ip netns add NAME`).
    public static func path(named name: String) -> String { "/run/netns/\(name)" }

    /// Runs `body` in the namespace named `name` (`/run/netns/NAME`) and returns its result or rethrows its error.
    public static func run<T>(named name: String, _ body: () throws -> T) throws -> T {
        try run(path: path(named: name), body)
    }

    /// Runs `body` on a thread inside the namespace at `path`, waits for it, and returns its result or rethrows its error.
    public static func run<T>(path: String, _ body: () throws -> T) throws -> T {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw NetworkNamespaceError.open(path: path, errno: errno) }
        defer { close(fd) }
        return try run(fd: fd, description: path, body)
    }

    /// Same, for an open namespace file descriptor (`description` names it in errors).
    public static func run<T>(fd: Int32, description: String = "fd", _ body: () throws -> T) throws -> T {
        try withoutActuallyEscaping(body) { body in
            let job = Job(fd: fd) { Result { try body() } }
            do throws(DedicatedThreadError) {
                try DedicatedThread { job.execute() }.join()
            } catch {
                throw NetworkNamespaceError.thread(errno: error.errno)
            }
            if let e = job.setnsErrno { throw NetworkNamespaceError.setns(path: description, errno: e) }
            return try job.result!.get()
        }
    }

    /// An fd for the calling thread's current network namespace (caller closes it); -1 on error.
    public static func openCurrent() -> Int32 {
        open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
    }

    /// Writes sysctls given as `net.ipv4.ip_forward=1` inside the namespace named `name`.
    public static func sysctl(in name: String, _ settings: [String]) throws {
        try run(named: name) {
            for setting in settings {
                let parts = setting.split(separator: "=", maxSplits: 1).map(String.init)
                let file = "/proc/sys/" + parts[0].split(separator: ".").joined(separator: "/")
                let fd = open(file, O_WRONLY | O_CLOEXEC)
                guard fd >= 0 else { throw SysctlError(setting: setting, namespace: name, errno: errno) }
                defer { close(fd) }
                let value = Array((parts.count > 1 ? parts[1] : "").utf8)
                guard write(fd, value, value.count) == value.count else {
                    throw SysctlError(setting: setting, namespace: name, errno: errno)
                }
            }
        }
    }
}

/// A sysctl could not be written.
public struct SysctlError: Error, Equatable, CustomStringConvertible {
    public var setting: String
    public var namespace: String
    public var errno: Int32

    public var description: String {
        "cannot set sysctl \(setting) in network namespace \(namespace): \(String(cString: strerror(errno)))"
    }
}

/// The work and its result, shared with the worker thread. `@unchecked Sendable` is safe: the caller blocks in
/// `join()` from the thread's start until it ends, so the two threads never touch the job at the same time, and
/// `pthread_join` orders the worker's writes before the caller's reads.
private final class Job<T>: @unchecked Sendable {
    let fd: Int32
    let work: () -> Result<T, Error>
    var result: Result<T, Error>?
    var setnsErrno: Int32?

    init(fd: Int32, work: @escaping () -> Result<T, Error>) {
        self.fd = fd
        self.work = work
    }

    func execute() {
        if csrcip_setns_net(fd) != 0 {
            setnsErrno = errno
        } else {
            result = work()
        }
    }
}
