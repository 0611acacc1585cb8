import Foundation
import SrcipCore
import SrcipLabCluster
import SrcipLabWorkloads
import SrcipLabNetwork
import SrcipLabDemo
import SrcipSystem
import Testing
@_exported import SrcipTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Shared helpers of the lab tests: privilege gating, the srcip executable, unique lab names.
enum LabTestSupport {
    static var isRoot: Bool { TestEnvironment.isRoot }
    static var isCI: Bool { TestEnvironment.inCI }

    /// The built `srcip` executable the lab uses for its daemons (built by `swift build` / `swift test`).
    static func srcipExecutable() throws -> String {
        let path = TestEnvironment.srcipExecutable
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw LabError.unsupported("the srcip executable is not built: run `swift build` before the lab tests")
        }
        return path
    }

    /// A lab name unique per run: `t<pid%10000><random>`.
    static func uniqueLabName(_ tag: String) -> String {
        "t\(tag)\(getpid() % 10000)\(String(UInt32.random(in: 0..<0xffff), radix: 16))"
    }
}
