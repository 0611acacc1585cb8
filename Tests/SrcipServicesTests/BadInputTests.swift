import Foundation
import SrcipCore
import Testing
@testable import SrcipServices

/// Truncated, foreign and inconsistent input: a typed error naming file and line / JSON path, or a warning when the
/// rest is usable — never a crash, never a silently different catalog.
@Suite(.kubeProxyFixtures) struct BadInputTests {
    /// Deterministic generator so failures reproduce.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func lines(_ text: String) -> [String] { text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }

    /// Replaces line `n` (1-based) of a fixture.
    static func fixture(_ name: String, replacingLine n: Int, with line: String) throws -> String {
        var l = lines(try Fixtures.text(name))
        l[n - 1] = line
        return l.joined(separator: "\n")
    }

    static func lineNumber(in name: String, where pred: (String) -> Bool) throws -> Int {
        try #require(lines(try Fixtures.text(name)).firstIndex(where: pred)) + 1
    }

    @Test("every prefix of the iptables fixtures errors, warns, or equals the full parse", arguments: [
        Fixtures.iptablesRestore, Fixtures.iptablesSave, Fixtures.iptablesRepeated,
    ])
    func iptablesTruncations(_ name: String) throws {
        let text = try Fixtures.text(name)
        let full = try IPTablesRulesParser.parse(text, file: name)
        let bytes = Array(text.utf8)
        var rng = SplitMix(state: 42)
        var cuts = (0..<250).map { _ in Int.random(in: 0..<bytes.count, using: &rng) }
        cuts += bytes.indices.filter { bytes[$0] == UInt8(ascii: "\n") }   // every line boundary
        var errors = 0, warned = 0, same = 0
        for cut in cuts {
            let prefix = String(decoding: bytes[..<cut], as: UTF8.self)
            do {
                let d = try IPTablesRulesParser.parse(prefix, file: name)
                if !d.warnings.isEmpty { warned += 1 } else {
                    #expect(d == full, "cut at byte \(cut) gave a different catalog without a warning")
                    same += 1
                }
            } catch is ServiceSourceError {
                errors += 1
            }
        }
        #expect(errors > 0)
        print("\(name): \(cuts.count) truncations → \(errors) errors, \(warned) with warnings, \(same) complete")
    }

    @Test("a file cut inside the nat table names the table and the last line")
    func missingCommit() throws {
        let all = Self.lines(try Fixtures.text(Fixtures.iptablesSave))
        let natLine = try #require(all.firstIndex(of: "*nat")) + 1
        let cut = all.prefix(natLine + 40).joined(separator: "\n") + "\n-A KUBE-SEP-SXIVWICOYRO3J4NJ -s 10.180"
        #expect(throws: ServiceSourceError.truncated(file: "s.txt", line: natLine + 41,
                                                     problem: "table nat (line \(natLine)) is not closed by COMMIT")) {
            try IPTablesRulesParser.parse(cut, file: "s.txt")
        }
    }

    @Test("lines cut in the middle, with the rest of the file intact, are errors with their line number")
    func midLineCuts() throws {
        let f = Fixtures.iptablesRestore
        let dnat = try Self.lineNumber(in: f) { $0.contains("--to-destination 10.180.0.1:80") }
        #expect(throws: ServiceSourceError.malformedLine(file: f, line: dnat, problem: "DNAT target `10.180.` is not ip:port")) {
            try IPTablesRulesParser.parse(Self.fixture(f, replacingLine: dnat,
                with: "-A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.180."), file: f)
        }
        let cip = try Self.lineNumber(in: f) { $0.contains("\"ns1/svc1:p80 cluster IP\" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC") }
        #expect(throws: ServiceSourceError.truncated(file: f, line: cip, problem: "unterminated quote")) {
            try IPTablesRulesParser.parse(Self.fixture(f, replacingLine: cip, with: "-A KUBE-SERVICES -m comment --comment \"ns1/svc1:p8"), file: f)
        }
        #expect(throws: ServiceSourceError.truncated(file: f, line: cip, problem: "option --dport has no value")) {
            try IPTablesRulesParser.parse(Self.fixture(f, replacingLine: cip,
                with: "-A KUBE-SERVICES -m comment --comment \"ns1/svc1:p80 cluster IP\" -m tcp -p tcp -d 172.30.0.41 --dport"), file: f)
        }
        let disp = try Self.lineNumber(in: f) { $0.contains("\"ns4/svc4:p80 -> 10.180.0.4:80\"") }
        #expect(throws: ServiceSourceError.malformedLine(file: f, line: disp, problem: "rule in KUBE-SVC-4SW47YFZTEDKD3PK has no -j target (line cut?)")) {
            try IPTablesRulesParser.parse(Self.fixture(f, replacingLine: disp,
                with: "-A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment \"ns4/svc4:p80 -> 10.180.0.4:80\" -m statistic --mode random --probability 0.5000000000"), file: f)
        }
        #expect(throws: ServiceSourceError.malformedLine(file: f, line: cip, problem: "rule for chain KUBE-SER, which is not declared in table nat")) {
            try IPTablesRulesParser.parse(Self.fixture(f, replacingLine: cip, with: "-A KUBE-SER"), file: f)
        }
    }

    @Test("a jump to a missing KUBE-SEP chain is a warning naming the chain; the rest is kept")
    func missingSEP() throws {
        let f = Fixtures.iptablesRestore
        let text = Self.lines(try Fixtures.text(f)).filter { !$0.contains("KUBE-SEP-C6EBXVWJJZMIWKLZ") || $0.contains("-j KUBE-SEP-C6EBXVWJJZMIWKLZ") }
        let d = try IPTablesRulesParser.parse(text.joined(separator: "\n"), file: f)
        let line = try Self.lineNumber(in: f) { $0.contains("-j KUBE-SEP-C6EBXVWJJZMIWKLZ") } - 3   // three SEP lines removed above it
        #expect(d.warnings == ["\(f):\(line): chain KUBE-SEP-C6EBXVWJJZMIWKLZ is referenced but not defined; an endpoint of ns4/svc4:p80 is unknown"])
        #expect(d.services.named("ns4/svc4")?.ports.first?.endpoints.map(\.ip) == [ip("10.180.0.4")])
        #expect(d.services.count == 6)
    }

    @Test("a KUBE-SEP chain without DNAT is a warning")
    func sepWithoutDNAT() throws {
        let f = Fixtures.iptablesRestore
        let text = Self.lines(try Fixtures.text(f)).filter { !($0.hasPrefix("-A KUBE-SEP-SXIVWICOYRO3J4NJ") && $0.contains("DNAT")) }
        let d = try IPTablesRulesParser.parse(text.joined(separator: "\n"), file: f)
        #expect(d.warnings.count == 1 && d.warnings[0].contains("chain KUBE-SEP-SXIVWICOYRO3J4NJ has no DNAT rule; an endpoint of ns1/svc1:p80 is unknown"))
        #expect(d.services.named("ns1/svc1")?.ports.first?.endpoints == [])
    }

    @Test("foreign text and rules without kube-proxy")
    func foreign() throws {
        #expect(throws: ServiceSourceError.malformedLine(file: "x", line: 1, problem: "`hello world` outside a table (no `*nat`/`*filter` line before it)")) {
            try IPTablesRulesParser.parse("hello world\n", file: "x")
        }
        #expect(throws: ServiceSourceError.malformedLine(file: "x", line: 3, problem: "unrecognised line `garbage here`")) {
            try IPTablesRulesParser.parse("*nat\n:KUBE-SERVICES - [0:0]\ngarbage here\nCOMMIT\n", file: "x")
        }
        #expect(throws: ServiceSourceError.truncated(file: "x", line: 3, problem: "table nat (line 1) has no COMMIT before the next table")) {
            try IPTablesRulesParser.parse("*nat\n:KUBE-SERVICES - [0:0]\n*filter\nCOMMIT\n", file: "x")
        }
        let plain = "# Generated by iptables-save\n*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -m comment --comment \"ssh \\\"admin\\\"\" -j ACCEPT\nCOMMIT\n*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j MARK --set-xmark 0x1/0x1\nCOMMIT\n"
        let d = try IPTablesRulesParser.parse(plain, file: "plain")
        #expect(d.services == [] && d.warnings == ["plain: no kube-proxy chains (KUBE-SERVICES) in this rule set"])
        let empty = try IPTablesRulesParser.parse("", file: "empty")
        #expect(empty.services == [] && empty.warnings == ["empty: no nat or filter table found"])
    }

    @Test("every prefix of nft and kubectl JSON is an error (never a partial catalog)")
    func jsonTruncations() throws {
        var rng = SplitMix(state: 7)
        for (name, text) in [("nft", NFTablesSnippetTests.snippet), ("kubectl", KubernetesDumpParserTests.dump)] {
            let bytes = Array(text.utf8)
            let trimmed = bytes.lastIndex(of: UInt8(ascii: "}"))!   // anything shorter is incomplete JSON
            for _ in 0..<200 {
                let cut = Int.random(in: 0..<trimmed, using: &rng)
                let data = Data(bytes[..<cut])
                #expect(throws: ServiceSourceError.self, "\(name) cut at \(cut)") {
                    if name == "nft" { _ = try NFTablesRulesParser.parse(data) } else { _ = try KubernetesDumpParser.parse(data) }
                }
            }
        }
    }

    @Test("random byte damage never crashes any parser")
    func byteDamage() throws {
        var rng = SplitMix(state: 99)
        let inputs: [(String, String)] = [
            ("ipt", try Fixtures.text(Fixtures.iptablesSave)), ("nft", NFTablesSnippetTests.snippet), ("kubectl", KubernetesDumpParserTests.dump),
        ]
        let junk: [UInt8] = Array(" \"\\-!:/*[]{},.0123456789abcxyzKUBE-SEP\n".utf8)
        var outcomes = 0
        for (kind, text) in inputs {
            let base = Array(text.utf8)
            for _ in 0..<150 {
                var b = base
                for _ in 0..<Int.random(in: 1...6, using: &rng) {
                    let i = Int.random(in: 0..<b.count, using: &rng)
                    if Bool.random(using: &rng) { b[i] = junk.randomElement(using: &rng)! } else { b.remove(at: i) }
                }
                let data = Data(b)
                do {
                    switch kind {
                    case "ipt": _ = try IPTablesRulesParser.parse(String(decoding: data, as: UTF8.self))
                    case "nft": _ = try NFTablesRulesParser.parse(data)
                    default: _ = try KubernetesDumpParser.parse(data)
                    }
                } catch is ServiceSourceError {}
                outcomes += 1
            }
        }
        #expect(outcomes == 450)
    }
}
