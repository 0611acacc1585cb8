import Foundation
import SrcipSystem

/// Why a Service source (rules dump, kubectl JSON, a tool run) could not be turned into a catalog.
public enum ServiceSourceError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A text line that does not parse; `line` is 1-based.
    case malformedLine(file: String, line: Int, problem: String)
    /// The text ends in the middle of something (a table without COMMIT, an unterminated quote).
    case truncated(file: String, line: Int, problem: String)
    /// JSON that is not valid or has the wrong shape at `path` (e.g. `items[3].spec.ports[0].port`).
    case malformedJSON(file: String, path: String, problem: String)
    /// The input is none of the formats srcip reads.
    case unrecognizedFormat(file: String, problem: String)
    /// The file could not be read.
    case unreadable(file: String, reason: String)
    /// A command-line tool is not installed.
    case toolMissing(tool: String, aptPackage: String)
    /// A command-line tool ran and failed.
    case toolFailed(tool: String, status: Int32, stderr: String)
    /// Watching for rule changes could not start (a netlink socket call failed).
    case watchFailed(what: String, errno: Int32)

    /// The error for a rule-dumping tool that could not be run or failed.
    init(_ error: CommandError) {
        switch error {
        case .toolMissing(let tool, let pkg): self = .toolMissing(tool: tool, aptPackage: pkg)
        case .spawnFailed(let command, _): self = .toolFailed(tool: command, status: -1, stderr: error.description)
        case .failed(let command, let status, let stderr): self = .toolFailed(tool: command, status: status, stderr: stderr)
        }
    }

    /// Every part that may carry input text is cut to a short excerpt, whatever the call site quoted.
    public var description: String {
        func cap(_ s: String) -> String { InputLimits.excerpt(s, limit: 240) }
        switch self.capped {
        case .malformedLine(let file, let line, let problem):
            return "\(file):\(line): \(problem); check that the file is unmodified iptables-save output"
        case .truncated(let file, let line, let problem):
            return "\(file):\(line): \(problem); the input looks truncated, dump the rules again"
        case .malformedJSON(let file, let path, let problem):
            return "\(file): at \(path.isEmpty ? "top level" : path): \(problem)"
        case .unrecognizedFormat(let file, let problem):
            return "\(file): \(problem); --services FILE accepts iptables-save output, `nft -j list ruleset` JSON "
                + "or `kubectl get svc,endpointslices -A -o json` output"
        case .unreadable(let file, let reason):
            return "cannot read \(file): \(reason)"
        case .toolMissing(let tool, let pkg):
            return "\(tool) not found; install it (apt-get install \(pkg)) or pass --services FILE"
        case .toolFailed(let tool, let status, let stderr):
            let msg = stderr.split(separator: "\n").prefix(3).joined(separator: " / ")
            return "\(cap(tool)) exited with status \(status)\(msg.isEmpty ? "" : ": \(msg)"); srcip needs root (CAP_NET_ADMIN) to read rules"
        case .watchFailed(let what, let e):
            return "\(what) failed: \(String(cString: strerror(e))); Services are not followed (srcip needs CAP_NET_ADMIN)"
        }
    }

    private var capped: ServiceSourceError {
        func cap(_ s: String) -> String { InputLimits.excerpt(s, limit: 240) }
        switch self {
        case .malformedLine(let f, let l, let p): return .malformedLine(file: cap(f), line: l, problem: cap(p))
        case .truncated(let f, let l, let p): return .truncated(file: cap(f), line: l, problem: cap(p))
        case .malformedJSON(let f, let path, let p): return .malformedJSON(file: cap(f), path: cap(path), problem: cap(p))
        case .unrecognizedFormat(let f, let p): return .unrecognizedFormat(file: cap(f), problem: cap(p))
        case .unreadable(let f, let r): return .unreadable(file: cap(f), reason: cap(r))
        case .toolMissing, .toolFailed, .watchFailed: return self
        }
    }
}
