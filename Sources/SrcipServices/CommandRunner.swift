import Foundation
import SrcipSystem

/// Runs a rule-dumping tool (`iptables-save`, `nft`) and returns its standard output as `ServiceSourceError`s.
enum CommandRunner {
    static func locate(_ tool: String) -> String? { Command.locate(tool) }

    /// Runs `tool args…`; throws `toolMissing` (naming `aptPackage`) or `toolFailed` with its stderr.
    static func run(_ tool: String, _ args: [String], aptPackage: String) throws -> Data {
        let r: CommandResult
        do {
            r = try Command.run(tool, args)
        } catch .toolMissing {
            throw ServiceSourceError.toolMissing(tool: tool, aptPackage: aptPackage)
        } catch {
            throw ServiceSourceError.toolFailed(tool: tool, status: -1, stderr: error.description)
        }
        guard r.status == 0 else {
            throw ServiceSourceError.toolFailed(tool: ([tool] + args).joined(separator: " "), status: r.status, stderr: r.stderr)
        }
        return Data(r.stdout.utf8)
    }
}
