import Foundation
import SrcipCore
import SrcipLabCluster
import SrcipLabWorkloads
import SrcipLabNetwork
import SrcipLabDemo
import SrcipSystem
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Shared helpers of the lab tests: privilege gating, the srcip executable, unique lab names.
enum LabTestSupport {
    static var isRoot: Bool { geteuid() == 0 }
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] != nil }
    /// Privileged tests run as root, and also without root on CI (where they then fail instead of skipping).
    static var privilegedEnabled: Bool { isRoot || isCI }

    /// The package root (two levels above this file's directory).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The built `srcip` executable the lab uses for its daemons (built by `swift build` / `swift test`).
    static func srcipExecutable() throws -> String {
        for config in ["debug", "release"] {
            let path = packageRoot.appendingPathComponent(".build/\(config)/srcip").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw LabError.unsupported("the srcip executable is not built: run `swift build` before the lab tests")
    }

    /// A lab name unique per run: `t<pid%10000><random>`.
    static func uniqueLabName(_ tag: String) -> String {
        "t\(tag)\(getpid() % 10000)\(String(UInt32.random(in: 0..<0xffff), radix: 16))"
    }
}
