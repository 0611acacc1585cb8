import Foundation
import Testing
import SrcipCore
@testable import SrcipExport

@Suite struct FlowRecordInputTests {
    @Test func kubectlPrefixesRunSummaryAndLogLinesAreHandled() {
        let line = Fixtures.snatRecord.jsonLine()
        let text = """
        [pod/srcip-abcde/srcip] {"kind":"run","version":1,"node":"node1"}
        [pod/srcip-abcde/srcip] srcip: tracing eth0 on node1 (tcx, conntrack join; services: iptables); Ctrl-C to stop
        [pod/srcip-abcde/srcip] \(line)
        [pod/srcip-fghij/srcip] \(line.replacingOccurrences(of: "{\"version\":1,", with: "{\"kind\":\"flow\",\"version\":1,"))
        [pod/srcip-fghij/srcip] {"kind":"summary","flows":2}
        """
        let r = FlowRecordInput.read(contents: text, source: "<stdin>")
        #expect(r.errors.isEmpty, "\(r.errors)")
        #expect(r.records == [Fixtures.snatRecord, Fixtures.snatRecord])
        #expect(r.otherKinds == 2 && r.logLines == 1)
        #expect(FlowRecordInput.stripKubectlPrefix("[pod/a/b] x") == "x" && FlowRecordInput.stripKubectlPrefix("[not a prefix] x") == nil)
    }

    @Test func unprefixedGarbageIsStillAnError() {
        let r = FlowRecordInput.read(contents: "hello\n", source: "f.jsonl")
        #expect(r.records.isEmpty && r.errors.count == 1 && r.errors[0].description.hasPrefix("f.jsonl:1:"))
    }

    @Test func csvWrittenByTraceReadsBackToTheSameRecords() throws {
        let path = NSTemporaryDirectory() + "srcip-csvin-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).csv"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var noService = Fixtures.snatRecord
        noService.service = nil
        noService.reason = "quoted, \"with\" commas"
        let w = try CSVWriter(path: path)
        try w.write(Fixtures.snatRecord)
        try w.write(noService)
        try w.close()
        let r = try FlowRecordInput.read(path: path)
        #expect(r.errors.isEmpty, "\(r.errors)")
        #expect(r.records == [Fixtures.snatRecord, noService])
    }

    @Test func aBadCSVCellNamesItsColumn() {
        let header = CSVWriter.columns.joined(separator: ",")
        var cells = CSVWriter.row(Fixtures.snatRecord).map { $0 ?? "" }
        cells[CSVWriter.columns.firstIndex(of: "src_port")!] = "many"
        let r = FlowRecordInput.read(contents: header + "\r\n" + cells.map(CSVWriter.quote).joined(separator: ",") + "\r\n", source: "x.csv")
        #expect(r.errors.count == 1 && r.errors[0].description.contains("x.csv:2: src_port"), "\(r.errors)")
    }
}
