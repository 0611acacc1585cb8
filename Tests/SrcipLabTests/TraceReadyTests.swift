@testable import SrcipLabDemo
import Testing

/// The lab reads `srcip trace --ready-file` through SrcipJSON: the fields srcip writes, and errors that name the field.
@Suite struct TraceReadyTests {
    @Test func readsTheReadyLineSrcipWrites() throws {
        let line = #"{"pid":4242,"node":"node1","interfaces":["eth0","veth-a"],"attach":"tcx","join":"conntrack","services":"iptables (auto)"}"#
        let ready = try LabTraceSession.TraceReady(json: Array((line + "\n").utf8))
        #expect(ready == LabTraceSession.TraceReady(pid: 4242, node: "node1", interfaces: ["eth0", "veth-a"], attach: "tcx",
                                                    join: "conntrack", services: "iptables (auto)"))
    }

    func failure(_ text: String) -> String? {
        do { _ = try LabTraceSession.TraceReady(json: Array(text.utf8)); return nil } catch { return "\(error)" }
    }

    @Test func aMissingOrMistypedFieldIsNamed() {
        #expect(failure(#"{"pid":"x"}"#) == "pid: expected an integer")
        #expect(failure(#"{"pid":1,"node":"n","interfaces":[1]}"#) == "interfaces[0]: expected a string")
        #expect(failure(#"{"pid":1,"node":"n","interfaces":[]}"#) == "attach: missing")
        #expect(failure(#"{"pid":1,"node":"#)?.contains("truncated") == true)
    }
}
