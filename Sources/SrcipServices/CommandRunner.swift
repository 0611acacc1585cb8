import Foundation

/// Runs a system tool (`iptables-save`, `nft`) and returns its standard output.
struct CommandRunner {
    /// Where tools are looked up when PATH does not have them (root's usual sbin directories).
    static let searchPath = ["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/local/bin"]

    /// Full path of `tool`, or nil when it is not installed.
    static func locate(_ tool: String) -> String? {
        if tool.contains("/") { return FileManager.default.isExecutableFile(atPath: tool) ? tool : nil }
        let envPath = ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":").map(String.init) ?? []
        for dir in envPath + searchPath {
            let p = dir + "/" + tool
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// Runs `tool args…`; throws `toolMissing` (naming `aptPackage`) or `toolFailed` with its stderr.
    static func run(_ tool: String, _ args: [String], aptPackage: String) throws -> Data {
        guard let path = locate(tool) else { throw ServiceSourceError.toolMissing(tool: tool, aptPackage: aptPackage) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        do {
            try p.run()
        } catch {
            throw ServiceSourceError.toolFailed(tool: tool, status: -1, stderr: "\(error)")
        }
        // Drain stderr concurrently so a chatty tool cannot block on a full pipe while we read stdout.
        let errBox = DataBox()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errBox.data = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw ServiceSourceError.toolFailed(tool: ([tool] + args).joined(separator: " "), status: p.terminationStatus,
                                                stderr: String(decoding: errBox.data, as: UTF8.self))
        }
        return data
    }

    private final class DataBox: @unchecked Sendable { var data = Data() }
}
