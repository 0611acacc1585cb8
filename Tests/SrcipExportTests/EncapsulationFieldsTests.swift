import Foundation
@testable import SrcipCore
import Testing
@testable import SrcipExport

/// The optional v1 fields of issue 10: `snat_address_interface` and the VXLAN `encap*` fields, in JSON Lines, CSV,
/// text and `merge` output; records written before them still read.
@Suite struct EncapsulationFieldsTests {
    static func a(_ s: String) -> IPAddress { IPAddress(s)! }

    /// node2 of a flannel-style lab: external → node2:NodePort, SNAT to node2's overlay address, sent over VXLAN to node1.
    static var overlayRecord: FlowRecord {
        var r = FlowRecord(
            node: "node2", startNs: Fixtures.t0, endNs: Fixtures.t0 + 1_000_000,
            original: FiveTuple(src: a("203.0.113.10"), dst: a("192.168.10.12"), srcPort: 40001, dstPort: 30080, proto: .tcp),
            translated: FiveTuple(src: a("10.244.2.0"), dst: a("10.244.1.2"), srcPort: 51234, dstPort: 8080, proto: .tcp),
            snat: true, dnat: true, snatInterface: "flannel.1", snatHook: .egress, inInterface: "eth0", outInterface: "eth0",
            clientKind: .external, verdict: .snat, expected: .snat, expectationMet: true, packets: 6, bytes: 600, join: .conntrack)
        r.snatAddressInterface = "flannel.1"
        r.encapsulation = Encapsulation(kind: .vxlan, vni: 1, outer: FiveTuple(src: a("192.168.10.12"), dst: a("192.168.10.11"),
                                                                              srcPort: 47001, dstPort: 8472, proto: .udp))
        return r
    }

    static func object(_ line: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test func jsonCarriesTheFieldsAndRoundTrips() throws {
        let r = Self.overlayRecord
        let o = try Self.object(r.jsonLine())
        #expect(o["snat_address_interface"] as? String == "flannel.1")
        #expect(o["encap"] as? String == "vxlan" && o["encap_vni"] as? Int == 1)
        #expect(o["encap_src_ip"] as? String == "192.168.10.12" && o["encap_src_port"] as? Int == 47001)
        #expect(o["encap_dst_ip"] as? String == "192.168.10.11" && o["encap_dst_port"] as? Int == 8472)
        // The tuples stay the inner packet's.
        #expect(o["xlat_src_ip"] as? String == "10.244.2.0" && o["src_ip"] as? String == "203.0.113.10")
        let (records, errors) = FlowRecordReader.read(contents: r.jsonLine() + "\n" + Fixtures.snatRecord.jsonLine() + "\n")
        #expect(errors.isEmpty, "\(errors)")
        #expect(records == [r, Fixtures.snatRecord])
    }

    @Test func unencapsulatedRecordsWriteNulls() throws {
        let o = try Self.object(Fixtures.snatRecord.jsonLine())
        for k in ["snat_address_interface", "encap", "encap_vni", "encap_src_ip", "encap_src_port", "encap_dst_ip", "encap_dst_port"] {
            #expect(o[k] is NSNull, "\(k): \(String(describing: o[k]))")
        }
    }

    /// A line from a srcip that predates the fields (keys absent) reads as not encapsulated, owner unknown.
    @Test func linesWithoutTheFieldsStillRead() throws {
        var o = try Self.object(Self.overlayRecord.jsonLine())
        for k in ["snat_address_interface", "encap", "encap_vni", "encap_src_ip", "encap_src_port", "encap_dst_ip", "encap_dst_port"] {
            o[k] = nil
        }
        let line = String(decoding: try JSONSerialization.data(withJSONObject: o), as: UTF8.self)
        let (records, errors) = FlowRecordReader.read(contents: line + "\n")
        #expect(errors.isEmpty, "\(errors)")
        var expected = Self.overlayRecord
        expected.snatAddressInterface = nil
        expected.encapsulation = nil
        #expect(records == [expected])
    }

    @Test func badEncapsulationFieldsAreNamed() throws {
        func problem(_ edit: (inout [String: Any]) -> Void) throws -> String {
            var o = try Self.object(Self.overlayRecord.jsonLine())
            edit(&o)
            let line = String(decoding: try JSONSerialization.data(withJSONObject: o), as: UTF8.self)
            let (records, errors) = FlowRecordReader.read(contents: line + "\n")
            #expect(records.isEmpty)
            return errors.first?.description ?? "no error"
        }
        #expect(try problem { $0["encap"] = "gre" }.contains("encap"))
        #expect(try problem { $0["encap_dst_port"] = NSNull() }.contains("must be all set or all null"))
        #expect(try problem { $0["encap_src_ip"] = "not-an-ip" }.contains("encap_src_ip"))
        #expect(try problem { $0["encap_vni"] = 1 << 24 }.contains("24 bits"))
    }

    @Test func csvRoundTripsAndOldHeadersStillRead() throws {
        let r = Self.overlayRecord
        let header = CSVWriter.columns.joined(separator: ",")
        #expect(CSVWriter.columns.suffix(7) == ["snat_address_interface", "encap", "encap_vni", "encap_src_ip", "encap_src_port",
                                                "encap_dst_ip", "encap_dst_port"])
        let row = CSVWriter.row(r).map { CSVWriter.quote($0 ?? "") }.joined(separator: ",")
        let read = FlowRecordInput.read(contents: header + "\r\n" + row + "\r\n", source: "x.csv")
        #expect(read.errors.isEmpty, "\(read.errors)")
        #expect(read.records == [r])
        // A CSV file written before the columns existed.
        let old = CSVWriter.columns.count - 7
        let oldRow = CSVWriter.row(r).prefix(old).map { CSVWriter.quote($0 ?? "") }.joined(separator: ",")
        let oldRead = FlowRecordInput.read(contents: CSVWriter.columns.prefix(old).joined(separator: ",") + "\r\n" + oldRow + "\r\n")
        #expect(oldRead.errors.isEmpty, "\(oldRead.errors)")
        #expect(oldRead.records.first?.encapsulation == nil && oldRead.records.first?.snatAddressInterface == nil)
        #expect(oldRead.records.first?.translated == r.translated)
    }

    @Test func textNamesTheOverlayAndTheAddressOwner() {
        let line = Self.overlayRecord.textLine
        #expect(line.contains("(10.244.2.0 is node2/flannel.1's address)"), "\(line)")
        #expect(line.contains(" over vxlan vni 1 (192.168.10.12 → 192.168.10.11)"), "\(line)")
        #expect(!Fixtures.snatRecord.textLine.contains("vxlan"))
    }

    /// `srcip merge`: the path says which device of node2 owns the address the backend saw; hops carry the outer packet.
    @Test func mergedPathNamesTheAddressOwnerAndTheOverlay() throws {
        let entry = Self.overlayRecord
        var served = FlowRecord(
            node: "node1", startNs: Fixtures.t0 + 100_000, endNs: Fixtures.t0 + 900_000, original: entry.translated!,
            translated: entry.translated, snat: false, dnat: false, inInterface: "eth0", outInterface: "veth1",
            clientKind: .pod, verdict: .preserved, join: .conntrack)
        served.encapsulation = Encapsulation(kind: .vxlan, vni: 1, outer: entry.encapsulation?.outer)
        let paths = FlowPathMerger.merge([entry, served]).paths
        #expect(paths.count == 1)
        let path = try #require(paths.first)
        #expect(path.snatWrittenAt?.addressInterface == "flannel.1")
        #expect(path.textLine.contains("saw 10.244.2.0 (written at node2/flannel.1 egress; node2/flannel.1's address)"), "\(path.textLine)")
        let o = try Self.object(path.jsonLine())
        let written = try #require(o["snat_written_at"] as? [String: Any])
        #expect(written["address_interface"] as? String == "flannel.1")
        let hops = try #require(o["hops"] as? [[String: Any]])
        #expect(hops.map { $0["snat_address_interface"] is NSNull } == [false, true])
        let encap = try #require(hops.first?["encap"] as? [String: Any])
        #expect(encap["type"] as? String == "vxlan" && encap["vni"] as? Int == 1)
        #expect((encap["outer"] as? [String: Any])?["dst_port"] as? Int == 8472)
    }

    /// `merge --check`: a backend-saw group names the device owning the address when it is not the one that wrote it.
    @Test func verificationLabelNamesAnotherOwner() {
        let routed = BackendSaw(preserved: false, address: Self.a("192.168.10.11"),
                                writtenAt: TranslationPoint(node: "node1", interface: "cali1", hook: .egress, addressInterface: "eth0"))
        #expect(routed.label == "192.168.10.11 (node1/cali1 egress, eth0's address)")
        let overlay = BackendSaw(preserved: false, address: Self.a("10.244.2.0"),
                                 writtenAt: TranslationPoint(node: "node2", interface: "flannel.1", hook: .egress, addressInterface: "flannel.1"))
        #expect(overlay.label == "10.244.2.0 (node2/flannel.1 egress)")
    }
}
