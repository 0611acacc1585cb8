import Foundation
import Testing
import SrcipSystem
@testable import SrcipServices

/// `FileText`: whole-file reads without Foundation, whose zero-size path leaks 4 KiB per read of an empty file
/// (procfs files such as /proc/net/ip_tables_names report size 0; the catalog watcher polls them every second).
@Suite struct FileTextTests {
    static func residentKB() -> Int {
        let status = FileText.string(atPath: "/proc/self/status") ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    static func tempFile(_ contents: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "srcip-filetext-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func readsRegularEmptyProcAndMissingFiles() throws {
        let text = String(repeating: "0123456789abcdef", count: 1000)   // more than one 4 KiB chunk
        let full = try Self.tempFile(text), empty = try Self.tempFile("")
        defer { unlink(full); unlink(empty) }
        #expect(FileText.string(atPath: full) == text)
        #expect(FileText.bytes(atPath: empty) == [])
        #expect(FileText.string(atPath: "/proc/self/status")?.contains("VmRSS:") == true)   // reports size 0
        #expect(FileText.bytes(atPath: "/nonexistent/srcip-\(getpid())") == nil)
    }

    /// 20,000 reads of an empty file: Foundation's `String(contentsOfFile:)` grows the heap by 80 MB.
    @Test func emptyFileReadsDoNotGrowMemory() throws {
        let empty = try Self.tempFile("")
        defer { unlink(empty) }
        for _ in 0..<100 { _ = FileText.string(atPath: empty) }
        let before = Self.residentKB()
        for _ in 0..<20_000 { #expect(FileText.string(atPath: empty) == "") }
        let grown = Self.residentKB() - before
        #expect(grown < 8_000, "20,000 reads of an empty file grew RSS by \(grown) KB")
    }

    /// The legacy-iptables digest the catalog watcher takes every poll: with no legacy tables (empty
    /// /proc/net/ip_tables_names), 10,000 polls leaked 80 MB through Foundation.
    @Test(.enabled(if: FileText.bytes(atPath: "/proc/net/ip_tables_names") == [],
                   "needs an empty /proc/net/ip_tables_names (no legacy iptables tables in this namespace)"))
    func legacyDigestPollsDoNotGrowMemory() {
        for _ in 0..<100 { _ = LegacyRulesDigest.current() }
        let before = Self.residentKB()
        for _ in 0..<10_000 { _ = LegacyRulesDigest.current() }
        let grown = Self.residentKB() - before
        #expect(grown < 8_000, "10,000 legacy-rules polls grew RSS by \(grown) KB")
    }
}
