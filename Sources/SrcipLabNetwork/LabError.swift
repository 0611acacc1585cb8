import Foundation

/// Errors of the lab's plumbing (state, names, targets); each message names the problem and what to do.
/// Failing tools surface as SrcipSystem's `CommandError`, failing sockets as `SocketError`.
public enum LabError: Error, CustomStringConvertible, Equatable {
    case notRoot
    case labExists(name: String, stateFile: String)
    case labNotFound(name: String)
    case invalidLabName(String)
    case unknownTarget(name: String, known: [String])
    case stateFile(path: String, reason: String)
    case unsupported(String)

    public var description: String {
        switch self {
        case .notRoot:
            return "the lab needs root (network namespaces, iptables/nft): run it with sudo"
        case let .labExists(name, stateFile):
            return "lab '\(name)' already exists (\(stateFile)): run `srcip lab down --name \(name)` first, or pick another --name"
        case let .labNotFound(name):
            return "lab '\(name)' is not running (no state file and no namespaces): start it with `srcip lab up --name \(name)`"
        case let .invalidLabName(name):
            return "invalid lab name '\(name)': use 1-16 characters from a-z, 0-9 and '-'"
        case let .unknownTarget(name, known):
            return "unknown node/pod '\(name)': choose one of \(known.joined(separator: ", "))"
        case let .stateFile(path, reason):
            return "lab state file \(path): \(reason)"
        case let .unsupported(message):
            return message
        }
    }
}
