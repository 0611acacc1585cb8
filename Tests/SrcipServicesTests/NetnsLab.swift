import Foundation
import Testing
@_exported import SrcipTestSupport
@testable import SrcipServices

/// A throw-away network namespace for loading rules into a real kernel. Root only; under CI a missing privilege fails.
enum NetnsLab {
    static var isRoot: Bool { TestEnvironment.isRoot }

    /// Creates a netns, runs `body` with its name, deletes the netns afterwards (also on failure).
    static func with<T>(_ body: (String) throws -> T) throws -> T {
        try #require(isRoot, "netns tests need root (CI is set, so they must not be skipped)")
        let name = "srcip-svc-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        _ = try ServiceDiscovery.Tools(netns: nil).run("ip", ["netns", "add", name], aptPackage: "iproute2")
        defer { _ = try? ServiceDiscovery.Tools(netns: nil).run("ip", ["netns", "delete", name], aptPackage: "iproute2") }
        return try body(name)
    }

    /// Runs a command inside the namespace.
    static func exec(_ ns: String, _ args: [String]) throws -> Data {
        try ServiceDiscovery.Tools(netns: ns).run(args[0], Array(args.dropFirst()), aptPackage: args[0])
    }

    /// Loads an nft script into a fresh netns and returns `nft -j list ruleset` from it.
    static func nftJSON(loading script: String) throws -> Data {
        try with { ns in
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(ns).nft")
            try script.write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            _ = try exec(ns, ["nft", "-f", file.path])
            return try exec(ns, ["nft", "-j", "list", "ruleset"])
        }
    }

    /// The upstream nft fixture in an order `nft -f` accepts: table → sets/maps → chains → rules → elements
    /// (the file itself references endpoint chains before creating them; see the fixtures README).
    static func loadableNFTFixture() throws -> String {
        let order = ["table": 0, "set": 1, "map": 1, "chain": 2, "rule": 3, "element": 4]
        let lines = try Fixtures.text(Fixtures.nft).split(separator: "\n")
            .filter { !$0.trimmingSpaces.isEmpty && !$0.hasPrefix("#") }
        let keyed = lines.enumerated().map { (i, l) -> (Int, Int, Substring) in
            let words = l.split(separator: " ")
            return (order[words.count > 1 ? String(words[1]) : ""] ?? 5, i, l)
        }
        return keyed.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map { String($0.2) }.joined(separator: "\n") + "\n"
    }
}
