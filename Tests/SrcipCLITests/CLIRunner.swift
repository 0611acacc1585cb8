import Foundation
import Synchronization
import Testing

@_exported import SrcipTestSupport

/// The srcip executable built next to the tests.
let srcipBinary = TestEnvironment.srcipExecutable

/// A running `srcip` process with its output collected.
final class SrcipProcess {
    let process = Process()
    private let out = Pipe()
    private let err = Pipe()
    /// What the process wrote so far; appended to by the pipes' readability handlers on Foundation's threads.
    private final class Output: Sendable {
        let data = Mutex<(out: Data, err: Data)>((Data(), Data()))
    }
    private let output = Output()

    /// Starts `srcip ARGS…` inside network namespace `netns` (or here when nil).
    init(_ args: [String], netns: String? = nil) throws {
        if let netns {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = ["netns", "exec", netns, srcipBinary] + args
        } else {
            process.executableURL = URL(fileURLWithPath: srcipBinary)
            process.arguments = args
        }
        process.standardOutput = out
        process.standardError = err
        let output = self.output
        out.fileHandleForReading.readabilityHandler = { h in
            let d = h.availableData
            output.data.withLock { $0.out.append(d) }
        }
        err.fileHandleForReading.readabilityHandler = { h in
            let d = h.availableData
            output.data.withLock { $0.err.append(d) }
        }
        try process.run()
    }

    var stdout: String { String(decoding: output.data.withLock { $0.out }, as: UTF8.self) }
    var stderr: String { String(decoding: output.data.withLock { $0.err }, as: UTF8.self) }

    /// Waits until standard error contains `text`, up to `timeout` seconds.
    func waitForStderr(_ text: String, timeout: Double = 20) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if stderr.contains(text) { return true }
            if !process.isRunning { return stderr.contains(text) }
            usleep(20_000)
        }
        return false
    }

    /// Waits for exit (up to `timeout` seconds, then kills) and returns the exit status.
    @discardableResult
    func wait(timeout: Double = 30) -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        usleep(50_000)
        out.fileHandleForReading.readabilityHandler = nil
        err.fileHandleForReading.readabilityHandler = nil
        let restOut = out.fileHandleForReading.readDataToEndOfFile()
        let restErr = err.fileHandleForReading.readDataToEndOfFile()
        output.data.withLock {
            $0.out.append(restOut)
            $0.err.append(restErr)
        }
        return process.terminationStatus
    }

    /// The pid of srcip itself (under `ip netns exec`, which execs it, the pid is the same).
    var pid: Int32 { process.processIdentifier }
}

/// Runs a command to completion; returns its exit status and combined output.
@discardableResult
func run(_ args: [String]) -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = args
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    do { try p.run() } catch { return (-1, "\(error)") }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}
