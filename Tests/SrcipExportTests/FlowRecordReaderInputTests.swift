import Foundation
import SrcipCore
import Testing
@testable import SrcipExport

/// `srcip merge` inputs: directories, overlong and garbage lines, values out of range, and random damage. Every bad
/// line is a `FlowRecordReadError` with its line number and a short message; good lines are kept.
@Suite struct FlowRecordReaderInputTests {
    static let good = Fixtures.snatRecord.jsonLine()

    static func edit(_ key: String, _ raw: String) -> String {
        let r = try! #require(good.range(of: "\"\(key)\":"))
        let end = good[r.upperBound...].firstIndex(where: { $0 == "," || $0 == "}" })!
        return good.replacingCharacters(in: r.upperBound..<end, with: raw)
    }

    @Test("a directory is `is a directory`")
    func directory() {
        let dir = FileManager.default.temporaryDirectory.path
        #expect(throws: FlowRecordFileError.self) { try FlowRecordReader.read(path: dir) }
        do { _ = try FlowRecordReader.read(path: dir) } catch { #expect(error.description.contains("\(dir): is a directory")) }
    }

    @Test("valid JSON with values out of range names the field")
    func outOfRange() {
        let lines = [Self.edit("packets", "1e400"), Self.edit("src_port", "70000"), Self.edit("bytes", "-1"),
                     Self.edit("xlat_src_port", "99999999999999999999999"), Self.good]
        let (records, errors) = FlowRecordReader.read(contents: lines.joined(separator: "\n"), source: "f")
        #expect(records.count == 1 && errors.count == 4)
        #expect(errors[1].description == "f:2: src_port: 70000 is out of range (0 to 65535)")
        #expect(errors.map(\.field) == ["packets", "src_port", "bytes", "xlat_src_port"])
        #expect(errors[0].problem == "not valid JSON at column \(Self.good.utf8.count - Self.good.split(separator: "\"packets\":")[1].utf8.count + 1): number out of range")
        #expect(errors.allSatisfy { !$0.problem.contains("truncated") })
    }

    @Test("a 50 MB line is reported at once, without quoting it")
    func hugeLine() {
        let text = Self.good + "\n{\"version\":\"" + String(repeating: "a", count: 50 << 20) + "\"}\n" + Self.good
        let clock = ContinuousClock()
        var result: (records: [FlowRecord], errors: [FlowRecordReadError]) = ([], [])
        let t = clock.measure { result = FlowRecordReader.read(contents: text, source: "big") }
        #expect(result.records.count == 2 && result.errors.count == 1)
        #expect(result.errors.first?.description == "big:2: line is longer than 64 KiB; not a flow record")
        #expect(t < .seconds(3), "took \(t)")   // about 0.5 s in a debug build on 2 shared cores
        print("PERF merge reader, 50 MB line between two records: \(t)")
    }

    @Test("random and truncated lines: typed errors with line numbers, never a crash")
    func fuzz() {
        var rng = SplitMix(state: 0xF10)
        let base = Array(Self.good.utf8)
        var lines: [String] = []
        for round in 0..<600 {
            var b = base
            switch round % 3 {
            case 0: b = Array(b.prefix(Int.random(in: 1..<b.count, using: &rng)))
            case 1:
                for _ in 0..<Int.random(in: 1...5, using: &rng) {
                    b[Int.random(in: 0..<b.count, using: &rng)] = Array("{}[],:\"\\-0e9xé ".utf8).randomElement(using: &rng)!
                }
            default: b = (0..<Int.random(in: 1...200, using: &rng)).map { _ in UInt8.random(in: 0x20...0x7E, using: &rng) }
            }
            lines.append(String(decoding: b.filter { $0 != UInt8(ascii: "\n") }, as: UTF8.self))
        }
        let clock = ContinuousClock()
        var result: (records: [FlowRecord], errors: [FlowRecordReadError]) = ([], [])
        let t = clock.measure { result = FlowRecordReader.read(contents: lines.joined(separator: "\n"), source: "fuzz") }
        let nonEmpty = lines.filter { !$0.allSatisfy { $0 == " " || $0 == "\t" } }.count
        // A corrupted `kind` value reads as a kind of a newer srcip: skipped, counted.
        let doc = FlowRecordReader.document(contents: lines.joined(separator: "\n"), source: "fuzz")
        #expect(doc.flows.count + doc.errors.count + doc.skippedLines == nonEmpty)
        #expect(result.errors == doc.errors && doc.skippedLines < 10)
        #expect(result.errors.count > 300)
        #expect(result.errors.allSatisfy { (1...600).contains($0.line) && !$0.problem.isEmpty && $0.description.utf8.count < 600 })
        #expect(t < .seconds(10))
        print("FUZZ merge reader: 600 lines, \(result.errors.count) errors, \(result.records.count) records, \(t)")
    }

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
}
