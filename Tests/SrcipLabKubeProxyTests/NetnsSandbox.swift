import Foundation
import Testing
@_exported import SrcipTestSupport

/// Runs commands for privileged tests and owns one throw-away network namespace.
struct NetnsSandbox {
    let name: String

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    @discardableResult
    static func run(_ args: [String], stdin: String? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        if stdin != nil { p.standardInput = inp }
        try p.run()
        if let stdin {
            inp.fileHandleForWriting.write(Data(stdin.utf8))
            try inp.fileHandleForWriting.close()
        }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// Creates `srciplab-<pid>-<random>`; call `remove()` in a `defer`.
    static func create() throws -> NetnsSandbox {
        #expect(getuid() == 0, "privileged test needs root")
        let name = "srciplab-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let r = try run(["ip", "netns", "add", name])
        try #require(r.status == 0, "ip netns add failed: \(r.stderr)")
        return NetnsSandbox(name: name)
    }

    func remove() {
        _ = try? Self.run(["ip", "netns", "delete", name])
    }

    @discardableResult
    func exec(_ args: [String], stdin: String? = nil) throws -> Result {
        try Self.run(["ip", "netns", "exec", name] + args, stdin: stdin)
    }
}
