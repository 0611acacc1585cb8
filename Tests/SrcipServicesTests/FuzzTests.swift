import Foundation
import SrcipCore
import SrcipJSON
import Testing
@testable import SrcipServices

/// Random and truncated inputs for every `--services` reader: no crash, every failure a `ServiceSourceError` with a
/// message, in bounded time (fixed seeds, so a failure reproduces).
@Suite(.kubeProxyFixtures) struct FuzzTests {
    enum Reader: String, CaseIterable { case iptables, nft, kubectl }

    static func run(_ reader: Reader, _ bytes: [UInt8]) -> String? {
        do {
            switch reader {
            case .iptables: _ = try IPTablesRulesParser.parse(String(decoding: bytes, as: UTF8.self), file: "fuzz")
            case .nft: _ = try NFTablesRulesParser.parse(Data(bytes), file: "fuzz")
            case .kubectl: _ = try KubernetesDumpParser.parse(Data(bytes), file: "fuzz")
            }
            return nil
        } catch let e as ServiceSourceError {
            return e.description
        } catch {
            Issue.record("\(reader): untyped error \(error)")
            return "\(error)"
        }
    }

    static func seed(_ reader: Reader) throws -> [UInt8] {
        switch reader {
        case .iptables: Array(try Fixtures.text(Fixtures.iptablesSave).utf8)
        case .nft: Array(NFTablesSnippetTests.snippet.utf8)
        case .kubectl: Array(KubernetesDumpParserTests.dump.utf8)
        }
    }

    @Test("random bytes, random tokens, truncations and splices", arguments: Reader.allCases)
    func fuzz(_ reader: Reader) throws {
        var rng = BadInputTests.SplitMix(state: 0x5EED_0000 + UInt64(reader.rawValue.utf8.count))
        let seed = try Self.seed(reader)
        let tokens = ["{", "}", "[", "]", ",", ":", "\"", "\\", "null", "true", "-1", "1e999", "65536", "\"x\"", "*nat", "COMMIT",
                      "-A KUBE-SERVICES", "-j", "--comment", "!", "\n", " ", "\u{0}", "é", "\"nftables\"", "\"items\"", "\"kind\""]
        let clock = ContinuousClock()
        var errors = 0
        let elapsed = clock.measure {
            for round in 0..<400 {
                var input: [UInt8]
                switch round % 4 {
                case 0:   // random bytes
                    input = (0..<Int.random(in: 0...400, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                case 1:   // random token soup
                    input = Array((0..<Int.random(in: 1...80, using: &rng)).map { _ in tokens.randomElement(using: &rng)! }.joined().utf8)
                case 2:   // truncated
                    input = Array(seed.prefix(Int.random(in: 0..<seed.count, using: &rng)))
                default:  // a random slice spliced into the middle
                    let a = Int.random(in: 0..<seed.count, using: &rng), b = Int.random(in: a..<seed.count, using: &rng)
                    let at = Int.random(in: 0..<seed.count, using: &rng)
                    input = Array(seed[..<at]) + Array(seed[a..<b]) + Array(seed[at...])
                }
                if let message = Self.run(reader, input) {
                    errors += 1
                    #expect(!message.isEmpty && message.utf8.count < 800, "\(reader) round \(round): \(message)")
                }
            }
        }
        #expect(errors > 100, "\(reader): only \(errors) of 400 inputs failed")
        #expect(elapsed < .seconds(20), "\(reader): fuzzing took \(elapsed)")
        print("FUZZ \(reader): 400 inputs, \(errors) typed errors, \(elapsed)")
    }

    @Test("JSON reader: deep nesting, long strings and numbers, bad escapes fail with a position")
    func jsonLimits() {
        let cases: [(String, String)] = [
            (String(repeating: "[", count: 10_000), "nested deeper than 512 levels"),
            ("{\"a\":" + String(repeating: "9", count: 100) + "}", "number longer than 64 characters"),
            ("[1e400]", "number out of range"),
            ("[\"\\q\"]", "bad escape in string"),
            ("[\"\\u12\"]", "bad \\u escape"),
            ("{\"a\" 1}", "expected `:` after key"),
        ]
        for (text, problem) in cases {
            #expect(throws: JSONTextParser.Failure.self) { try JSONTextParser.parse(Array(text.utf8)) }
            do { _ = try JSONTextParser.parse(Array(text.utf8)) } catch { #expect(error.problem == problem, "\(text.prefix(20))") }
        }
        let long = "[\"" + String(repeating: "a", count: JSONTextParser.maxStringBytes + 1) + "\"]"
        do { _ = try JSONTextParser.parse(Array(long.utf8)); Issue.record("overlong string accepted") } catch {
            #expect(error.problem == "string longer than 1024 KiB" && error.path == "[0]")
        }
    }
}
