import Foundation
import Testing
import SrcipCore
@testable import SrcipExport

@Suite struct PathJSONTests {
    @Test func mergedPathIsValidJSONWithTheEndToEndFacts() throws {
        let hop1 = Fixtures.snatRecord
        var hop2 = Fixtures.snatRecord
        hop2.node = "node2"
        hop2.original = try #require(hop1.translated)
        hop2.startNs += 1_000
        hop2.snat = false
        hop2.dnat = false
        hop2.snatInterface = nil
        hop2.snatHook = nil
        hop2.verdict = .preserved
        let result = FlowPathMerger.merge([hop1, hop2])
        let path = try #require(result.paths.first)
        #expect(result.paths.count == 1)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(path.jsonLine().utf8)) as? [String: Any])
        #expect(obj["backend_saw_ip"] as? String == "192.168.10.11" && obj["verdict"] as? String == "snat")
        #expect((obj["snat_written_at"] as? [String: Any])?["node"] as? String == "node1")
        let hops = try #require(obj["hops"] as? [[String: Any]])
        #expect(hops.map { $0["node"] as? String } == ["node1", "node2"])
        #expect((hops[0]["before"] as? [String: Any])?["src_ip"] as? String == "203.0.113.10")
        #expect((hops[0]["after"] as? [String: Any])?["src_ip"] as? String == "192.168.10.11")
        #expect((hops[0]["after"] as? [String: Any])?["src_port"] as? Int == 51234)
        #expect(obj["outcome"] as? String == "delivered" && obj["stopped_at"] is NSNull)
        #expect(obj["complete"] == nil)
        #expect(path.textLine == "default/nodeport node_port: 203.0.113.10:40001 → 192.168.10.11:30080: node1 eth0→eth0 ⇒ node2 eth0→eth0: "
                + "backend 10.244.1.2:8080 saw 192.168.10.11 (written at node1/eth0 egress)  snat (expected snat ✓)")
        #expect(path.compactLine == "default/nodeport 203.0.113.10 → node1 → node2 → 10.244.1.2:8080 saw 192.168.10.11 snat@node1/eth0 ✓")
        let lonely = FlowPathMerger.merge([hop1]).unmatched
        #expect(lonely.count == 1)
        let u = try #require(try JSONSerialization.jsonObject(with: Data(lonely[0].jsonLine().utf8)) as? [String: Any])
        #expect(u["kind"] as? String == "unmatched" && (u["record"] as? [String: Any])?["node"] as? String == "node1")
    }

    @Test func recordTextLineReadsAtAGlance() {
        var r = Fixtures.snatRecord
        r.reason = nil
        r.snatInterface = "veth-backend"
        #expect(r.textLine == "default/nodeport node_port 203.0.113.10:40001 → 192.168.10.11:30080 ⇒ SNAT at node1/veth-backend egress "
                + "to 192.168.10.11:51234 → 10.244.1.2:8080  snat (expected snat ✓)")
        r.translated = nil
        r.expected = nil
        #expect(r.textLine.hasSuffix("⇒ did not leave node1  snat (no expectation)"))
    }

    /// Text, compact and table mark an expectation ✓ met, ✗ not, ? undecided (not checkable, or verdict unknown).
    @Test(arguments: [(true, Verdict.snat, "✓"), (false, .preserved, "✗"), (nil, .snat, "?")] as [(Bool?, Verdict, String)])
    func everyLineMarksTheExpectationTheSameWay(met: Bool?, expected: Verdict, mark: String) throws {
        var r = Fixtures.snatRecord
        r.reason = met == nil ? FlowCorrelator.catalogChangingNote : nil
        (r.expected, r.expectationMet) = (expected, met)
        #expect(r.textLine.contains("  snat (expected \(expected) \(mark))"), "\(r.textLine)")
        #expect(r.compactLine.hasSuffix(" snat@node1/eth0 \(mark)"), "\(r.compactLine)")
        #expect(r.tableRow.hasSuffix(" \(expected) \(mark)"), "\(r.tableRow)")
        var hop2 = r
        hop2.node = "node2"
        hop2.original = try #require(r.translated)
        hop2.startNs += 1_000
        (hop2.snat, hop2.dnat, hop2.snatInterface, hop2.snatHook, hop2.service, hop2.expected) = (false, false, nil, nil, nil, nil)
        let path = try #require(FlowPathMerger.merge([r, hop2]).paths.first)
        #expect(path.hops.count == 2 && path.expectationMet == met)
        #expect(path.textLine.hasSuffix("  snat (expected \(expected) \(mark))"), "\(path.textLine)")
        #expect(path.compactLine.hasSuffix(" snat@node1/eth0 \(mark)"), "\(path.compactLine)")
        #expect(path.tableRow.last == "\(expected) \(mark)")
    }

    @Test func formatNamesMapToWriters() throws {
        #expect(FlowRecordFormat(name: "jsonl") == .json && FlowRecordFormat(name: "IPFIX") == .ipfix && FlowRecordFormat(name: "xml") == nil)
        let path = NSTemporaryDirectory() + "srcip-fmt-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).txt"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let w = try FlowRecordFormat.text.writer(path: path)
        try w.write(Fixtures.snatRecord)
        try w.close()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasPrefix("2026-11-18T11:08:43.456789Z default/nodeport node_port 203.0.113.10:40001 → 192.168.10.11:30080 ⇒ SNAT at node1/eth0 egress"))
    }
}
