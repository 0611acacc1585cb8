import Foundation
#if canImport(Glibc)
import Glibc
#endif

import SrcipSystem

/// Runs the lab's external tools (`ip`, `iptables-restore`, `nft`, `conntrack`) and detached daemons,
/// reporting failures as `LabError`s.
public enum CommandRunner {
    /// Absolute path of `tool` in PATH (plus the sbin directories), or `LabError.toolMissing`.
    public static func locate(_ tool: String) throws -> String {
        guard let path = Command.locate(tool) else {
            throw LabError.toolMissing(tool: tool, package: Command.aptPackages[tool] ?? tool)
        }
        return path
    }

    /// Runs `tool args…`, feeding `input` on stdin; returns its status and output without throwing on failure.
    @discardableResult
    public static func run(_ tool: String, _ args: [String], input: String? = nil) throws -> CommandResult {
        do {
            return try Command.run(tool, args, input: input)
        } catch .toolMissing(let tool, let pkg) {
            throw LabError.toolMissing(tool: tool, package: pkg)
        } catch {
            throw LabError.commandFailed(command: ([tool] + args).joined(separator: " "), status: -1, stderr: error.description)
        }
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
        do {
            return try Command.spawnDetached(path, args, log: log)
        } catch {
            throw LabError.commandFailed(command: ([path] + args).joined(separator: " "), status: -1, stderr: error.description)
        }
    }

    /// The running srcip executable, so daemons can be started as `srcip lab echo …`.
    public static func selfExecutable() -> String { Command.selfExecutable() }
}
