import Foundation
import Testing

/// `scripts/gen-version.sh` (run by SrcipVersionPlugin before every build) and `srcip --version`.
@Suite struct VersionTests {
    static let script = repoRoot.appendingPathComponent("scripts/gen-version.sh").path
    static let fallback = "0.0.0-unknown"

    /// Runs the generator for `dir` and returns the version it wrote.
    static func generate(_ dir: URL, into out: URL, environment: [String: String] = [:]) throws -> String {
        let r = DeployShell.run(["sh", script, dir.path, out.path], environment: environment,
                                  unset: environment["SRCIP_VERSION"] == nil ? ["SRCIP_VERSION"] : [])
        #expect(r.status == 0, "\(r.output)")
        let text = try String(contentsOf: out, encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("let generatedVersion = ") })
        return String(line.dropFirst("let generatedVersion = \"".count).dropLast())
    }

    static func git(_ args: [String], _ dir: URL) {
        let r = DeployShell.run(["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", "-C", dir.path] + args)
        #expect(r.status == 0, "git \(args): \(r.output)")
    }

    @Test func outsideGitTheVersionIsTheFallback() throws {
        let dir = try DeployShell.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try Self.generate(dir, into: dir.appendingPathComponent("v.swift")) == Self.fallback)
    }

    @Test func aSourceTreeInsideAnotherRepositoryDoesNotTakeItsVersion() throws {
        let outer = try DeployShell.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: outer) }
        Self.git(["init", "-q"], outer)
        Self.git(["commit", "-q", "--allow-empty", "-m", "outer"], outer)
        let inner = outer.appendingPathComponent("srcip-src")
        try FileManager.default.createDirectory(at: inner, withIntermediateDirectories: true)
        #expect(try Self.generate(inner, into: outer.appendingPathComponent("v.swift")) == Self.fallback)
    }

    @Test func aTaggedTreeGivesTheTagAndDirtyWhenATrackedFileChanged() throws {
        let dir = try DeployShell.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent(".build/v.swift")
        Self.git(["init", "-q"], dir)
        try "a\n".write(to: dir.appendingPathComponent("f"), atomically: true, encoding: .utf8)
        Self.git(["add", "f"], dir)
        Self.git(["commit", "-q", "-m", "one"], dir)
        Self.git(["tag", "-a", "v1.2.3", "-m", "v1.2.3"], dir)
        #expect(try Self.generate(dir, into: out) == "v1.2.3")
        try "b\n".write(to: dir.appendingPathComponent("f"), atomically: true, encoding: .utf8)
        #expect(try Self.generate(dir, into: out) == "v1.2.3-dirty")
        Self.git(["commit", "-q", "-am", "two"], dir)
        let v = try Self.generate(dir, into: out)
        #expect(v.hasPrefix("v1.2.3-1-g"), "one commit past the tag: \(v)")
    }

    @Test func theFileIsRewrittenOnlyWhenTheVersionChanges() throws {
        let dir = try DeployShell.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("v.swift")
        _ = try Self.generate(dir, into: out)
        let old = Date(timeIntervalSince1970: 1_000_000)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: out.path)
        _ = try Self.generate(dir, into: out)
        let mtime = try FileManager.default.attributesOfItem(atPath: out.path)[.modificationDate] as? Date
        #expect(mtime == old, "unchanged version must not touch the file (it would recompile SrcipVersion)")
        #expect(try Self.generate(dir, into: out, environment: ["SRCIP_VERSION": "2.0.0"]) == "2.0.0")
        let changed = try FileManager.default.attributesOfItem(atPath: out.path)[.modificationDate] as? Date
        #expect(changed != old)
    }

    @Test func anOverrideThatIsNotASafeLiteralFallsBack() throws {
        let dir = try DeployShell.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("v.swift")
        #expect(try Self.generate(dir, into: out, environment: ["SRCIP_VERSION": "1\"; evil()"]) == Self.fallback)
        #expect(try Self.generate(dir, into: out, environment: ["SRCIP_VERSION": "1.0.0+deb12~rc1"]) == "1.0.0+deb12~rc1")
    }

    @Test func srcipVersionPrintsTheBuildsGitDescribe() throws {
        let binary = repoRoot.appendingPathComponent(".build/debug/srcip").path
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build first: swift build")
        let r = DeployShell.run([binary, "--version"])
        #expect(r.status == 0)
        let version = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let describe = DeployShell.run(["git", "-C", repoRoot.path, "describe", "--always"])
        if describe.status == 0 {
            let head = describe.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(version == head || version == head + "-dirty", "srcip --version \(version), git describe \(head)")
        } else {
            #expect(version == Self.fallback)
        }
    }
}
