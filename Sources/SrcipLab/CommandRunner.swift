import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Result of one finished command.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs the lab's external tools (`ip`, `iptables-restore`, `nft`, `conntrack`) and detached daemons.
public enum CommandRunner {
    /// Debian packages that provide the tools the lab uses.
    static let packages: [String: String] = [
        "ip": "iproute2", "iptables-restore": "iptables", "iptables": "iptables",
        "nft": "nftables", "conntrack": "conntrack", "sysctl": "procps",
    ]

    /// Absolute path of `tool` in PATH (plus the sbin directories), or `LabError.toolMissing`.
    public static func locate(_ tool: String) throws -> String {
        if tool.hasPrefix("/") { return tool }
        var dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        dirs += ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        for dir in dirs where access("\(dir)/\(tool)", X_OK) == 0 { return "\(dir)/\(tool)" }
        throw LabError.toolMissing(tool: tool, package: packages[tool] ?? tool)
    }

    /// Runs `tool args…`, feeding `input` on stdin; returns its status and output without throwing on failure.
    @discardableResult
    public static func run(_ tool: String, _ args: [String], input: String? = nil) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try locate(tool))
        process.arguments = args
        let outPipe = Pipe(), errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        let inPipe = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : inPipe
        try process.run()
        // Plain threads, not GCD: callers run this from concurrentPerform, and queued GCD work could starve there.
        if let input {
            let data = Data(input.utf8)
            Thread {
                inPipe.fileHandleForWriting.write(data)
                try? inPipe.fileHandleForWriting.close()
            }.start()
        }
        // Read both pipes concurrently so a chatty command can't block on a full pipe.
        let errBox = DataBox()
        let errDone = DispatchSemaphore(value: 0)
        Thread {
            errBox.data = errPipe.fileHandleForReading.readDataToEndOfFile()
            errDone.signal()
        }.start()
        let outData = outPipe.fileHandleForReading.readDataToEndOfFile()
        errDone.wait()
        let errData = errBox.data
        process.waitUntilExit()
        return CommandResult(status: process.terminationStatus,
                             stdout: String(decoding: outData, as: UTF8.self),
                             stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Runs `tool args…` and throws `LabError.commandFailed` unless it exits 0; returns stdout.
    @discardableResult
    public static func check(_ tool: String, _ args: [String], input: String? = nil) throws -> String {
        let result = try run(tool, args, input: input)
        guard result.status == 0 else {
            throw LabError.commandFailed(command: ([tool] + args).joined(separator: " "),
                                         status: result.status, stderr: result.stderr)
        }
        return result.stdout
    }

    /// Starts `path args…` as a detached daemon (own session, stdin from /dev/null, stdout+stderr appended to `log`).
    /// Returns its pid; it keeps running after this process exits.
    public static func spawnDetached(_ path: String, _ args: [String], log: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        posix_spawnattr_setflags(&attr, Int16(posixSpawnSetsid | Int32(POSIX_SPAWN_SETSIGMASK) | Int32(POSIX_SPAWN_SETSIGDEF)))
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attr, &all)
        let argv = ([path] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attr, argv, environ)
        guard rc == 0 else {
            throw LabError.commandFailed(command: ([path] + args).joined(separator: " "), status: rc,
                                         stderr: String(cString: strerror(rc)))
        }
        return pid
    }

    /// glibc's POSIX_SPAWN_SETSID (not exported to Swift without _GNU_SOURCE).
    private static let posixSpawnSetsid: Int32 = 0x80

    /// The running srcip executable, so daemons can be started as `srcip lab echo …`.
    public static func selfExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if n > 0 { return String(cString: buffer) }
        return CommandLine.arguments[0]
    }

    private final class DataBox: @unchecked Sendable { var data = Data() }
}
