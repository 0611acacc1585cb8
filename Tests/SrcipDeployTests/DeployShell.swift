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

    /// Runs `args` (looked up in PATH) to completion in `directory`, with `environment` added to this process's and
    /// the variables in `unset` removed. posix_spawn and waitpid, with both streams in files: a daemon the command
    /// leaves running (lab up's servers) keeps its output open, which would block a pipe reader forever.
    @discardableResult
    static func run(_ args: [String], in directory: URL? = nil, environment: [String: String] = [:],
                    unset: [String] = []) -> Result {
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        unset.forEach { env[$0] = nil }
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("srcip-deploy-\(UUID().uuidString)")
        let files = [base.appendingPathExtension("out").path, base.appendingPathExtension("err").path]
        defer { files.forEach { try? FileManager.default.removeItem(atPath: $0) } }
        // `cd DIR && exec "$@"` gives the command its directory without changing this process's.
        let argv = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory?.path ?? "."] + args
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, files[0], O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, files[1], O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/bin/sh", &actions, nil, cArgs, cEnv)
        guard rc == 0 else { return Result(status: -1, stdout: "", stderr: "\(args[0]): posix_spawn: \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + status & 0x7f
        let text = files.map { String(decoding: FileManager.default.contents(atPath: $0) ?? Data(), as: UTF8.self) }
        return Result(status: code, stdout: text[0], stderr: text[1])
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
