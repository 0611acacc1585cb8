import Foundation
import Testing
import SrcipCore
@testable import SrcipExport

@Suite struct FlowRecordJSONTests {
    enum Kind { case string, int, bool, object }
    /// The v1 contract: every key, its JSON type, and whether it may be null.
    static let contract: [(String, Kind, Bool)] = [
        ("version", .int, false), ("node", .string, false), ("start", .string, false), ("end", .string, false),
        ("protocol", .string, false), ("family", .string, false), ("src_ip", .string, false), ("src_port", .int, false),
        ("dst_ip", .string, false), ("dst_port", .int, false), ("xlat_src_ip", .string, true), ("xlat_src_port", .int, true),
        ("xlat_dst_ip", .string, true), ("xlat_dst_port", .int, true), ("snat", .bool, false), ("dnat", .bool, false),
        ("snat_interface", .string, true), ("snat_hook", .string, true), ("in_interface", .string, true),
        ("out_interface", .string, true), ("service", .object, true), ("client_kind", .string, false), ("hairpin", .bool, false),
        ("verdict", .string, false), ("expected", .string, true), ("expectation_met", .bool, true), ("packets", .int, false),
        ("bytes", .int, false), ("reply_packets", .int, false), ("reply_bytes", .int, false), ("join", .string, false),
    ]
    static let serviceContract: [(String, Kind, Bool)] = [
        ("namespace", .string, false), ("name", .string, false), ("port_name", .string, true), ("port", .int, false),
        ("type", .string, false), ("frontend", .string, false), ("external_traffic_policy", .string, false),
        ("internal_traffic_policy", .string, false), ("resolved_from", .string, false),
    ]

    static func check(_ obj: [String: Any], _ contract: [(String, Kind, Bool)], _ path: String) {
        for (key, kind, nullable) in contract {
            guard let v = obj[key] else { Issue.record("missing key \(path)\(key)"); continue }
            if v is NSNull { #expect(nullable, "\(path)\(key) is null"); continue }
            switch kind {
            case .string: #expect(v is String, "\(path)\(key) should be a string")
            case .object: #expect(v is [String: Any], "\(path)\(key) should be an object")
            case .int, .bool:
                let n = v as? NSNumber
                #expect(n != nil, "\(path)\(key) should be a number/bool")
                if let n {
                    let isBool = String(cString: n.objCType) == "c"   // booleans decode as char-typed NSNumbers
                    #expect(isBool == (kind == .bool), "\(path)\(key) has the wrong JSON type")
                }
            }
        }
    }

    @Test(arguments: [Fixtures.snatRecord, Fixtures.droppedV6, Fixtures.dnatV6])
    func everyContractKeyIsPresentWithItsJSONType(_ r: FlowRecord) throws {
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.jsonLine().utf8)) as? [String: Any])
        Self.check(obj, Self.contract, "")
        if let svc = obj["service"] as? [String: Any] { Self.check(svc, Self.serviceContract, "service.") }
        #expect(obj["version"] as? Int == 1)
        #expect(FlowRecordField.names.prefix(Self.contract.count).elementsEqual(Self.contract.map(\.0)))
    }

    @Test func valuesAreWrittenAsTheContractSays() throws {
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(Fixtures.snatRecord.jsonLine().utf8)) as? [String: Any])
        #expect(obj["start"] as? String == "2026-11-18T11:08:43.456789Z")
        #expect(obj["end"] as? String == "2026-11-18T11:08:45.956789Z")
        #expect(obj["protocol"] as? String == "tcp" && obj["family"] as? String == "ipv4")
        #expect(obj["xlat_src_port"] as? Int == 51234 && obj["snat_hook"] as? String == "egress")
        #expect((obj["service"] as? [String: Any])?["frontend"] as? String == "node_port")
        #expect((obj["service"] as? [String: Any])?["type"] as? String == "NodePort")
        #expect(obj["reason"] as? String == "note with \"quotes\", a comma\nand a newline")
        let v6 = try #require(try JSONSerialization.jsonObject(with: Data(Fixtures.droppedV6.jsonLine().utf8)) as? [String: Any])
        #expect(v6["family"] as? String == "ipv6" && v6["xlat_src_ip"] is NSNull && v6["service"] is NSNull)
    }

    @Test func jsonRoundTripsThroughTheReader() {
        let text = [Fixtures.snatRecord, Fixtures.droppedV6, Fixtures.dnatV6].map { $0.jsonLine() }.joined(separator: "\n") + "\n"
        let (records, errors) = FlowRecordReader.read(contents: text)
        #expect(errors.isEmpty)
        #expect(records == [Fixtures.snatRecord, Fixtures.droppedV6, Fixtures.dnatV6])
    }

    @Test func malformedAndPartialLinesAreReportedWithLineAndField() {
        let good = Fixtures.snatRecord.jsonLine()
        func edit(_ f: (inout [String: Any]) -> Void) -> String {
            var obj = try! JSONSerialization.jsonObject(with: Data(good.utf8)) as! [String: Any]
            f(&obj)
            return String(decoding: try! JSONSerialization.data(withJSONObject: obj), as: UTF8.self)
        }
        let lines = [
            good,
            edit { $0["service"] = ["namespace": "default", "name": "x", "port_name": NSNull(), "port": "80", "type": "NodePort",
                                    "frontend": "node_port", "external_traffic_policy": "Cluster", "internal_traffic_policy": "Cluster",
                                    "resolved_from": "vip"] },
            edit { $0.removeValue(forKey: "verdict") },
            String(good.prefix(40)),
            edit { $0["src_ip"] = "300.1.1.1" },
            edit { $0["snat"] = "yes" },
            "",
            edit { $0["verdict"] = "maybe" },
        ].joined(separator: "\n")
        let (records, errors) = FlowRecordReader.read(contents: lines, source: "flows.jsonl")
        #expect(records.count == 1)
        let byLine = Dictionary(uniqueKeysWithValues: errors.map { ($0.line, $0) })
        #expect(byLine[2]?.field == "service.port")
        #expect(byLine[3]?.field == "verdict" && byLine[3]?.problem.contains("missing") == true)
        #expect(byLine[4]?.problem.contains("input ends inside") == true && byLine[4]?.problem.contains("truncated") == true)
        #expect(byLine[5]?.field == "src_ip")
        #expect(byLine[6]?.field == "snat")
        #expect(byLine[8]?.field == "verdict")
        #expect(errors.count == 6)
        #expect(byLine[3]?.description.hasPrefix("flows.jsonl:3: verdict:") == true)
    }
}
