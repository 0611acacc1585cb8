import Foundation

/// The repository root (three levels above this file).
let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// Tests that need root or external tools must fail rather than skip when CI is set.
let underCI = ProcessInfo.processInfo.environment["CI"] != nil

/// Runs programs for the deployment tests.
enum DeployShell {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        var output: String { stdout + stderr }
    }

    /// Runs `args` (looked up in PATH) to completion in `directory`, with `environment` added to this process's.
    @discardableResult
    static func run(_ args: [String], in directory: URL? = nil, environment: [String: String] = [:],
                    unset: [String] = []) -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = unset.flatMap { ["-u", $0] } + args
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        p.environment = env
        if let directory { p.currentDirectoryURL = directory }
        // Standard error goes to a file, so that neither stream can fill up and block the child.
        let errFile = FileManager.default.temporaryDirectory.appendingPathComponent("srcip-deploy-err-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: errFile.path, contents: nil),
              let err = try? FileHandle(forWritingTo: errFile) else {
            return Result(status: -1, stdout: "", stderr: "cannot create \(errFile.path)")
        }
        defer { try? FileManager.default.removeItem(at: errFile) }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch { return Result(status: -1, stdout: "", stderr: "\(args[0]): \(error)") }
        try? err.close()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let errData = (try? Data(contentsOf: errFile)) ?? Data()
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// The full path of `tool` in PATH, or nil.
    static func which(_ tool: String) -> String? {
        let r = run(["sh", "-c", "command -v \"$0\"", tool])
        let path = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return r.status == 0 && !path.isEmpty ? path : nil
    }

    /// A fresh temporary directory.
    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("srcip-deploy-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}
