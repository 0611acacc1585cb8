import Foundation
import Testing
@testable import SrcipServices
import SrcipJSON

/// srcip's JSON reader: values, escapes, and errors with line/column/path.
@Suite struct JSONTextParserTests {
    func parse(_ s: String) throws -> JSONNode { try JSONNode.parse(Data(s.utf8), file: "t.json") }

    @Test func values() throws {
        let n = try parse(#" {"a": [1, -2.5e1, true, false, null, "x\"y\\z\/\n\t\u00e9\ud83d\ude00"], "b": {}, "c": [] } "#)
        let a = try #require(n["a"]).elements
        #expect(a[0].intValue == 1 && a[1].intValue == -25 && a[2].boolValue == true && a[3].boolValue == false && a[4].isNull)
        #expect(a[5].stringValue == "x\"y\\z/\n\té😀")
        #expect(n["b"]?.object?.isEmpty == true && n["c"]?.isArray == true && n["c"]?.elements.isEmpty == true)
        #expect(a[1].path == "a[1]" && n["b"]?.path == "b")
        #expect(try parse("\u{FEFF}{\"k\": \"é\"}")["k"]?.stringValue == "é")
        #expect(a[2].intValue == nil && a[0].stringValue == nil)
    }

    @Test func errors() {
        func problem(_ s: String) -> (String, String)? {
            do { _ = try parse(s); return nil } catch ServiceSourceError.malformedJSON(_, let path, let problem) { return (path, problem) } catch { return nil }
        }
        #expect(problem("{\"a\": [1, 2,\n  {\"b\": tru") ?? ("", "") == ("a[2].b", "not valid JSON at line 2 column 9: input ends inside `true` (truncated?)"))
        #expect(problem("{\"a\": 1,}")?.1 == "not valid JSON at line 1 column 9: expected a quoted key")
        #expect(problem("[1 2]")?.1 == "not valid JSON at line 1 column 4: expected `,` or `]`")
        #expect(problem("{\"a\": \"abc")?.1.contains("input ends inside a string") == true)
        #expect(problem("[1] x")?.1.contains("unexpected text after the JSON value") == true)
        #expect(problem("[01x]")?.1.contains("expected `,` or `]`") == true)
        #expect(problem("[-]")?.1.contains("malformed number") == true)
        #expect(problem("\"\\q\"")?.1.contains("bad escape") == true)
        #expect(problem(String(repeating: "[", count: 600))?.1.contains("nested deeper than 512") == true)
        #expect(problem("")?.1.contains("input ends where a value should be") == true)
    }
}
