#if canImport(Glibc)
import Glibc
#endif

/// The outcome of a finished command.
public struct CommandResult: Sendable, Equatable {
    /// Exit status; 128 + N when killed by signal N.
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// Why a command could not be run.
public enum CommandError: Error, Equatable, CustomStringConvertible {
    case toolMissing(tool: String, aptPackage: String)
    case spawnFailed(command: String, errno: Int32)
    case failed(command: String, status: Int32, stderr: String)

    public var description: String {
        switch self {
        case .toolMissing(let tool, let pkg):
            return "\(tool) is not installed; install it with: apt-get install \(pkg)"
        case .spawnFailed(let cmd, let e):
            return "cannot run \(cmd): \(String(cString: strerror(e)))"
        case .failed(let cmd, let status, let stderr):
            let detail = stderr.split(separator: "\n").prefix(5).joined(separator: "; ")
            return "`\(cmd)` exited with status \(status)" + (detail.isEmpty ? "" : ": \(detail)")
        }
    }
}

/// Runs external tools (`ip`, `iptables-save`, `nft`, `conntrack`, …) with posix_spawn.
///
/// Foundation's `Process` is not used: it waits for children through a CFRunLoop source that needs a
/// working loopback interface, and hangs in a network namespace whose `lo` is down. Children start with
/// an empty signal mask and default handlers, whatever thread spawns them.
public enum Command {
    /// Debian packages that provide the tools srcip runs.
    public static let aptPackages: [String: String] = [
        "ip": "iproute2", "tc": "iproute2", "bridge": "iproute2",
        "iptables": "iptables", "iptables-save": "iptables", "iptables-restore": "iptables",
        "ip6tables-save": "iptables", "iptables-legacy-save": "iptables", "iptables-nft-save": "iptables",
        "nft": "nftables", "conntrack": "conntrack", "sysctl": "procps", "bpftool": "bpftool",
    ]

    /// Directories searched after PATH (root's usual sbin directories).
    static let fallbackPath = ["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/local/bin"]

    /// Absolute path of `tool`, or nil when it is not installed.
    public static func locate(_ tool: String) -> String? {
        if tool.contains("/") { return access(tool, X_OK) == 0 ? tool : nil }
        let env = getenv("PATH").map { String(cString: $0) } ?? ""
        for dir in env.split(separator: ":").map(String.init) + fallbackPath where access("\(dir)/\(tool)", X_OK) == 0 {
            return "\(dir)/\(tool)"
        }
        return nil
    }

    /// Absolute path of `tool`, or `.toolMissing` naming the package to install.
    public static func require(_ tool: String) throws(CommandError) -> String {
        guard let path = locate(tool) else { throw .toolMissing(tool: tool, aptPackage: aptPackages[tool] ?? tool) }
        return path
    }

    /// Runs `tool args…`, feeding `input` on standard input; returns status and output, whatever the status.
    @discardableResult
    public static func run(_ tool: String, _ args: [String], input: String? = nil) throws(CommandError) -> CommandResult {
        guard let path = locate(tool) else {
            throw .toolMissing(tool: tool, aptPackage: aptPackages[tool] ?? tool)
        }
        let command = ([tool] + args).joined(separator: " ")
        var outFDs: [Int32] = [-1, -1], errFDs: [Int32] = [-1, -1], inFDs: [Int32] = [-1, -1]
        guard cloexecPipe(&outFDs), cloexecPipe(&errFDs), input == nil || cloexecPipe(&inFDs) else {
            let e = errno
            for fd in outFDs + errFDs + inFDs where fd >= 0 { close(fd) }
            throw .spawnFailed(command: command, errno: e)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if input != nil {
            posix_spawn_file_actions_adddup2(&actions, inFDs[0], 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, outFDs[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errFDs[1], 2)
        var attr = cleanSignalAttributes(flags: 0)
        defer { posix_spawnattr_destroy(&attr) }
        let pid: pid_t
        do {
            pid = try spawn(path, args, command: command, actions: &actions, attr: &attr)
        } catch {
            for fd in outFDs + errFDs + inFDs where fd >= 0 { close(fd) }
            throw error
        }
        close(outFDs[1])
        close(errFDs[1])
        if input != nil { close(inFDs[0]) }
        let (out, err) = pump(stdout: outFDs[0], stderr: errFDs[0], stdin: input != nil ? inFDs[1] : -1,
                              input: Array((input ?? "").utf8))
        return CommandResult(status: ChildProcess.wait(pid), stdout: String(decoding: out, as: UTF8.self),
                             stderr: String(decoding: err, as: UTF8.self))
    }

    /// Runs `tool args…` and returns its standard output; throws `.failed` unless it exits 0.
    @discardableResult
    public static func check(_ tool: String, _ args: [String], input: String? = nil) throws(CommandError) -> String {
        let r = try run(tool, args, input: input)
        guard r.status == 0 else {
            throw .failed(command: ([tool] + args).joined(separator: " "), status: r.status, stderr: r.stderr)
        }
        return r.stdout
    }

    /// Starts `path args…` as a detached daemon (own session, stdin from /dev/null, stdout and stderr
    /// appended to `log`). It keeps running after this process exits.
    public static func spawnDetached(_ path: String, _ args: [String], log: String) throws(CommandError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attr = cleanSignalAttributes(flags: posixSpawnSetsid)
        defer { posix_spawnattr_destroy(&attr) }
        return try spawn(path, args, command: ([path] + args).joined(separator: " "), actions: &actions, attr: &attr)
    }

    /// The running executable, so srcip can start itself (`srcip lab echo …`) as a daemon.
    public static func selfExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if n > 0 { return String(cString: buffer) }
        return CommandLine.arguments[0]
    }

    /// glibc's POSIX_SPAWN_SETSID (not exported to Swift without _GNU_SOURCE).
    private static let posixSpawnSetsid: Int32 = 0x80

    /// pipe(2) with both ends close-on-exec (the child gets its ends through dup2 only).
    private static func cloexecPipe(_ fds: inout [Int32]) -> Bool {
        guard pipe(&fds) == 0 else { return false }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return true
    }

    private static func cleanSignalAttributes(flags: Int32) -> posix_spawnattr_t {
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        posix_spawnattr_setflags(&attr, Int16(flags | Int32(POSIX_SPAWN_SETSIGMASK) | Int32(POSIX_SPAWN_SETSIGDEF)))
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attr, &all)
        return attr
    }

    private static func spawn(_ path: String, _ args: [String], command: String,
                              actions: inout posix_spawn_file_actions_t,
                              attr: inout posix_spawnattr_t) throws(CommandError) -> pid_t {
        let argv = ([path] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attr, argv, environ)
        guard rc == 0 else { throw .spawnFailed(command: command, errno: rc) }
        return pid
    }

    /// Reads both output pipes and writes `input` until all are done, so no pipe fills up and blocks the child.
    private static func pump(stdout: Int32, stderr: Int32, stdin: Int32, input: [UInt8]) -> ([UInt8], [UInt8]) {
        var out: [UInt8] = [], err: [UInt8] = []
        var written = 0
        var inFD = stdin
        if inFD >= 0 {
            _ = fcntl(inFD, F_SETFL, fcntl(inFD, F_GETFL) | O_NONBLOCK)
            if input.isEmpty { close(inFD); inFD = -1 }
        }
        var open: [Int32] = [stdout, stderr]
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while !open.isEmpty || inFD >= 0 {
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if inFD >= 0 { fds.append(pollfd(fd: inFD, events: Int16(POLLOUT), revents: 0)) }
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            for p in fds where p.revents != 0 {
                if p.fd == inFD {
                    let n = input.withUnsafeBytes { write(inFD, $0.baseAddress! + written, input.count - written) }
                    if n > 0 { written += n }
                    if (n < 0 && errno != EAGAIN && errno != EINTR) || written == input.count {
                        close(inFD)
                        inFD = -1
                    }
                    continue
                }
                let n = read(p.fd, &chunk, chunk.count)
                if n > 0 {
                    if p.fd == stdout { out += chunk[0..<n] } else { err += chunk[0..<n] }
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    close(p.fd)
                    open.removeAll { $0 == p.fd }
                }
            }
        }
        return (out, err)
    }
}
