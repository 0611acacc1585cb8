import ArgumentParser
import Foundation
import Testing
@testable import srcip

/// Numeric options are range-checked in `validate()` with a message naming the option; random argument vectors
/// through the real parser never crash and every rejection has a message.
struct OptionParserFuzzTests {
    /// Parses and validates like `srcip` does before running anything; returns the error message, nil if accepted.
    static func rejection(_ args: [String]) -> String? {
        do {
            _ = try Srcip.parseAsRoot(args)
            return nil
        } catch {
            return Srcip.message(for: error)
        }
    }

    @Test(arguments: [
        (["trace", "--idle-timeout", "nan"], "--idle-timeout"), (["trace", "--idle-timeout", "inf"], "--idle-timeout"),
        (["trace", "--idle-timeout", "1e20"], "--idle-timeout"), (["trace", "--idle-timeout", "-1"], "--idle-timeout"),
        (["trace", "--duration", "nan"], "--duration"), (["trace", "--duration", "inf"], "--duration"),
        (["trace", "--duration", "-5"], "--duration"), (["trace", "--count", "-1"], "--count"),
        (["trace", "--count", "0"], "--count"), (["trace", "--port", "-1"], "--port"), (["trace", "--port", "65536"], "--port"),
        (["merge", "--window", "nan", "a.jsonl"], "--window"), (["merge", "--window", "inf", "a.jsonl"], "--window"),
        (["merge", "--window", "1e300", "a.jsonl"], "--window"), (["merge", "--window", "-1", "a.jsonl"], "--window"),
    ])
    func badNumbersAreRejectedNamingTheOptionAndRange(args: [String], option: String) throws {
        let message = try #require(Self.rejection(args))
        #expect(message.contains(option), "\(args): \(message)")
        #expect(message.contains("must be"), "\(args): \(message)")
        #expect(!message.contains("Missing value"), "\(args): \(message)")
    }

    @Test func validNumbersAreAccepted() {
        #expect(Self.rejection(["trace", "--idle-timeout", "0.5", "--duration", "3", "--count", "2", "--port", "0",
                                "--port", "65535"]) == nil)
        #expect(Self.rejection(["merge", "--window", "2.5", "a.jsonl"]) == nil)
    }

    @Test func randomArgumentVectorsNeverCrashAndEveryRejectionHasAMessage() {
        var rng = SplitMix64(seed: 0x5eed_0009)
        let commands = [["trace"], ["merge"], ["merge", "x.jsonl"]]
        let options = ["--idle-timeout", "--duration", "--count", "--port", "--window", "--host", "--protocol", "--format",
                       "--output", "--node-ips", "-i", "--raw", "--check", "--append", "--force", "--services", "--", "-"]
        let values = ["nan", "-nan", "inf", "-inf", "1e20", "1e300", "-1", "0", "1", "65535", "65536", "-5", "0.0001",
                      "9223372036854775808", "-9223372036854775809", "", " ", "abc", "10.0.0.1", "::1", "tcp", "jsonl",
                      "ipfix", "0x10", "1_000", "+3", "NaN", "Infinity", "\u{0}", "é", "--", "-i"]
        var runs = 0, rejected = 0
        while runs < 150 {
            var args = commands[Int(rng.next() % UInt64(commands.count))]
            for _ in 0..<Int(rng.next() % 6) {
                let pick = rng.next() % 3
                if pick == 0 { args.append(values[Int(rng.next() % UInt64(values.count))]) } else {
                    args.append(options[Int(rng.next() % UInt64(options.count))])
                    args.append(values[Int(rng.next() % UInt64(values.count))])
                }
            }
            if let message = Self.rejection(args) {
                rejected += 1
                #expect(!message.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(args)")
            }
            runs += 1
        }
        #expect(rejected > 0 && rejected < runs)
    }
}

/// A small deterministic generator (SplitMix64), so a failing vector can be reproduced.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
