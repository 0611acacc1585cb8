import SrcipCore
import SrcipJSON
import Testing
@testable import SrcipExport

/// SrcipJSON's typed object reader and writer, and what they guarantee flow records: exact 64-bit counters,
/// errors that name the field.
@Suite struct JSONStackTests {
    func reader(_ s: String) throws -> JSONObjectReader { try JSONObjectReader.parse(Array(s.utf8)) }

    func shapeError(_ body: () throws -> Void) -> JSONShapeError? {
        do { try body(); return nil } catch let e as JSONShapeError { return e } catch { return nil }
    }

    @Test func shapeErrorsNameThePathAndTheProblem() throws {
        let r = try reader(#"{"a":{"p":70000,"f":1.5,"s":"x","n":null,"l":["a",2]},"v":"maybe"}"#)
        let a = try r.object("a")
        #expect(shapeError { _ = try a.integer("p", as: UInt16.self) }?.description == "a.p: 70000 is out of range (0 to 65535)")
        #expect(shapeError { _ = try a.integer("f", as: Int.self) }?.description == "a.f: 1.5 is not an integer")
        #expect(shapeError { _ = try a.string("n") }?.description == "a.n: is null, expected a string")
        #expect(shapeError { _ = try a.bool("s") }?.description == "a.s: expected true or false")
        #expect(shapeError { _ = try a.string("gone") } == JSONShapeError(path: "a.gone", problem: .missing))
        #expect(shapeError { _ = try a.strings("l") }?.description == "a.l[1]: expected a string")
        #expect(shapeError { _ = try r.enum("v", as: Verdict.self) }?.description.hasSuffix(#"got "maybe""#) == true)
        #expect(try a.nullableString("n") == nil && !a.contains("n") && a.contains("s"))
        #expect(shapeError { _ = try JSONObjectReader(.array([])) }?.description == "expected an object")
    }

    @Test func integersThatFitAnInt64AreExact() throws {
        let r = try reader(#"{"big":9223372036854775807,"neg":-9007199254740993,"huge":18446744073709551616,"d":2.5}"#)
        #expect(try r.integer("big", as: UInt64.self) == UInt64(Int64.max))
        #expect(try r.integer("neg", as: Int64.self) == -9_007_199_254_740_993)   // 2^53 + 1: not representable as a Double
        #expect(shapeError { _ = try r.integer("huge", as: UInt64.self) }?.problem == .invalid("1.8446744073709552e+19 is out of range (0 to 18446744073709551615)"))
        #expect(try r.double("d") == 2.5 && r.double("big") == 0x1p63)
    }

    @Test func writerKeepsOrderAndEscapes() {
        var w = JSONObjectWriter()
        w.int("n", 1)
        w.string("s", "a\"b\\c\n\u{1}é")
        w.strings("l", ["x", "y"])
        w.bool("b", nil)
        w.uint("u", UInt64.max)
        w.raw("o", "{}")
        #expect(w.finish() == #"{"n":1,"s":"a\"b\\c\n\u0001é","l":["x","y"],"b":null,"u":18446744073709551615,"o":{}}"#)
        #expect(JSONObjectWriter.quoted("\t") == #""\t""#)
    }

    @Test func largeCountersSurviveARoundTripByteForByte() {
        var r = Fixtures.snatRecord
        r.packets = (1 << 60) + 1
        r.bytes = 999_999_999_999_999_999
        let line = r.jsonLine()
        let (records, errors) = FlowRecordReader.read(contents: line)
        #expect(errors.isEmpty && records == [r])
        #expect(records.first?.jsonLine() == line)
    }

    @Test func badEnumValuesListTheAcceptedOnes() {
        let line = FlowRecordReaderInputTests.edit("client_kind", #""alien""#)
        let (_, errors) = FlowRecordReader.read(contents: line, source: "f")
        #expect(errors.first?.description == #"f:1: client_kind: expected one of "pod", "node", "external", got "alien""#)
    }
}
