import Foundation
import Testing
import SrcipCore
@testable import SrcipExport

@Suite struct ExportWriterTests {
    static func tempPath(_ ext: String) -> String {
        NSTemporaryDirectory() + "srcip-export-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).\(ext)"
    }

    @Test func ipfixFileDecodesToTheWrittenValues() throws {
        let path = Self.tempPath("ipfix")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let w = try IPFIXWriter(path: path, observationDomainID: 4242, observationDomainName: "node-a", exportTime: { 1_795_000_200 })
        var snat = Fixtures.snatRecord
        (snat.inIfindex, snat.outIfindex) = (2, 7)
        try w.write([snat, Fixtures.droppedV6, Fixtures.dnatV6])
        try w.close()
        var reader = IPFIXReader()
        try reader.read(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(reader.messages.count == 1)
        let m = try #require(reader.messages.first)
        #expect(m.version == 10 && m.domain == 4242 && m.exportTime == 1_795_000_200 && m.sequence == 0)
        #expect(Set(reader.templates.keys) == [256, 257, 258] && reader.optionsTemplates == [258])
        let tail: [UInt16] = [230, 323, 136, 6, 89, 10, 14, 1, 2, 3, 4, 5]
        #expect(reader.templates[256]?.map(\.id) == [8, 12, 7, 11, 4, 152, 153, 2, 1, 2, 1, 225, 226, 227, 228] + tail)
        #expect(reader.templates[257]?.map(\.id) == [27, 28, 7, 11, 4, 152, 153, 2, 1, 2, 1, 281, 282, 227, 228] + tail)
        #expect(reader.templates[256]?[9].enterprise == 29305)
        #expect(reader.templates[256]?.suffix(5).allSatisfy { $0.enterprise == 32473 && $0.length == 0xffff } == true)
        #expect(reader.templates[258]?.map(\.id) == [149, 300])
        let domain = try #require(reader.records.first { $0.templateID == 258 })
        #expect(domain.uint(149) == 4242 && domain.string(300) == "node-a")
        #expect(reader.records.count == 4)

        let v4 = try #require(reader.records.first { $0.templateID == 256 })
        #expect(v4.bytes(8) == [203, 0, 113, 10] && v4.bytes(12) == [192, 168, 10, 11])
        #expect(v4.uint(7) == 40001 && v4.uint(11) == 30080 && v4.uint(4) == 6)
        #expect(v4.uint(152) == UInt64(Fixtures.t0 / 1_000_000) && v4.uint(153) == UInt64((Fixtures.t0 + 2_500_000_000) / 1_000_000))
        #expect(v4.uint(2) == 6 && v4.uint(1) == 600 && v4.uint(2, 29305) == 5 && v4.uint(1, 29305) == 500)
        #expect(v4.bytes(225) == [192, 168, 10, 11] && v4.bytes(226) == [10, 244, 1, 2])
        #expect(v4.uint(227) == 51234 && v4.uint(228) == 8080 && v4.uint(230) == 5)
        #expect(v4.uint(323) == UInt64((Fixtures.t0 + 2_500_000_000) / 1_000_000) && v4.uint(136) == 3 && v4.uint(89) == 64)
        #expect(v4.string(1, 32473) == Fixtures.snatRecord.inInterface && v4.string(2, 32473) == Fixtures.snatRecord.outInterface)
        #expect(v4.string(3, 32473) == "default/nodeport:80" && v4.string(4, 32473) == "snat")
        #expect(v4.uint(10) == 2 && v4.uint(14) == 7)

        let v6 = reader.records.filter { $0.templateID == 257 }
        #expect(v6.count == 2)
        let dropped = try #require(v6.first { $0.uint(11) == 30082 })
        #expect(dropped.bytes(27) == IPAddress("2001:db8::10")!.bytes && dropped.uint(230) == 0)
        #expect(dropped.bytes(281) == IPAddress("2001:db8::10")!.bytes)   // never left: post-NAT equals pre-NAT
        #expect(dropped.uint(10) == 0 && dropped.uint(14) == 0)   // no ifindex known (a record read from a file): 0
        let dnat = try #require(v6.first { $0.uint(11) == 80 })
        #expect(dnat.bytes(282) == IPAddress("fd00:10:244:2::3")!.bytes && dnat.uint(228) == 8080 && dnat.uint(4) == 17)
        #expect(dnat.uint(230) == 5)
    }

    @Test func ipfixSequenceCountsRecordsOfEarlierMessages() throws {
        var e = IPFIXEncoder(observationDomainID: 1)
        e.add(Fixtures.snatRecord)
        e.add(Fixtures.dnatV6)
        let m1 = e.message(exportTime: 1)
        let first = try #require(m1)
        e.add(Fixtures.droppedV6)
        let m2 = e.message(exportTime: 2)
        let second = try #require(m2)
        let m3 = e.message(exportTime: 3)
        #expect(m3 == nil)
        var reader = IPFIXReader()
        try reader.read(first + second)
        #expect(reader.messages.map(\.sequence) == [0, 3])   // the options record counts as a data record
        #expect(reader.messages.map(\.length) == [first.count, second.count])
        #expect(reader.records.count == 4)
    }

    @Test func csvHasTheV1HeaderAndQuotesProperly() throws {
        let path = Self.tempPath("csv")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let w = try CSVWriter(path: path)
        try w.write([Fixtures.snatRecord, Fixtures.droppedV6])
        try w.close()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let rows = parseCSV(text)
        #expect(rows.count == 3)
        let header = rows[0]
        #expect(header == CSVWriter.columns)
        #expect(header.contains("service_namespace") && header.contains("service_resolved_from") && !header.contains("service"))
        #expect(header.prefix(4) == ["version", "node", "start", "end"])
        let row = Dictionary(uniqueKeysWithValues: zip(header, rows[1]))
        #expect(row["xlat_src_port"] == "51234" && row["service_name"] == "nodeport" && row["service_frontend"] == "node_port")
        #expect(row["reason"] == "note with \"quotes\", a comma\nand a newline")
        #expect(row["expectation_met"] == "true" && row["snat"] == "true")
        let dropped = Dictionary(uniqueKeysWithValues: zip(header, rows[2]))
        #expect(dropped["xlat_src_ip"] == "" && dropped["service_name"] == "" && dropped["family"] == "ipv6")
        #expect(rows.allSatisfy { $0.count == header.count })
    }

    @Test func jsonLinesFileHoldsOneRecordPerLine() throws {
        let path = Self.tempPath("jsonl")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let w = try JSONLinesWriter(path: path)
        try w.write([Fixtures.snatRecord, Fixtures.dnatV6])
        try w.close()
        let (records, errors) = try FlowRecordReader.read(path: path)
        #expect(errors.isEmpty && records == [Fixtures.snatRecord, Fixtures.dnatV6])
        #expect(throws: ExportError.closed(path: path)) { try w.write(Fixtures.snatRecord) }
    }

    @Test func unwritablePathIsATypedError() {
        #expect(throws: ExportError.self) { _ = try JSONLinesWriter(path: "/nonexistent-dir-\(getpid())/x.jsonl") }
    }

    /// RFC 4180 parser for the test.
    func parseCSV(_ text: String) -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], cell = ""
        var quoted = false
        var chars = Array(text)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" { cell.append("\""); chars = chars.dropFirst() } else { quoted = false }
                } else { cell.append(c) }
            } else if c == "\"" { quoted = true }
            else if c == "," { row.append(cell); cell = "" }
            else if c == "\r\n" || c == "\n" { row.append(cell); rows.append(row); row = []; cell = "" }
            else { cell.append(c) }
        }
        return rows
    }
}
