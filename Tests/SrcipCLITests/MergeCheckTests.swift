import Foundation
import SrcipCore
import Testing

/// `srcip merge --check` over two nodes' JSON Lines: a path whose Service hop is not checkable (`expectation_met`
/// null with a reason) is undecided with that reason — never passed, never failed — and the exit status follows.
@Suite struct MergeCheckTests {
    /// NodePort 30080 of default/nodeport (externalTrafficPolicy Cluster, §4 row 8: SNAT) entered on node2; the
    /// endpoint 10.244.1.2:8080 runs on node1.
    static let service = #"{"namespace":"default","name":"nodeport","port_name":null,"port":80,"type":"NodePort","frontend":"node_port","external_traffic_policy":"Cluster","internal_traffic_policy":"Cluster","resolved_from":"RESOLVED"}"#

    /// One v1 flow record line; `xlat` is (src_ip, src_port, dst_ip, dst_port).
    static func flow(node: String, second: Int, src: (String, Int), dst: (String, Int), xlat: (String, Int, String, Int),
                     snat: Bool, dnat: Bool, out: String, resolvedFrom: String, clientKind: String, verdict: String,
                     expected: String?, met: Bool?, reason: String?) -> String {
        let time = "\"2026-12-01T20:00:\(String(format: "%02d", second)).000000Z\""
        let json = { (v: String?) in v.map { "\"\($0)\"" } ?? "null" }
        return "{\"version\":1,\"node\":\"\(node)\",\"start\":\(time),\"end\":\(time),\"protocol\":\"tcp\",\"family\":\"ipv4\","
            + "\"src_ip\":\"\(src.0)\",\"src_port\":\(src.1),\"dst_ip\":\"\(dst.0)\",\"dst_port\":\(dst.1),"
            + "\"xlat_src_ip\":\"\(xlat.0)\",\"xlat_src_port\":\(xlat.1),\"xlat_dst_ip\":\"\(xlat.2)\",\"xlat_dst_port\":\(xlat.3),"
            + "\"snat\":\(snat),\"dnat\":\(dnat),\"snat_interface\":\(json(snat ? "eth0" : nil)),\"snat_hook\":\(json(snat ? "egress" : nil)),"
            + "\"in_interface\":\"eth0\",\"out_interface\":\"\(out)\",\"service\":\(service.replacingOccurrences(of: "RESOLVED", with: resolvedFrom)),"
            + "\"client_kind\":\"\(clientKind)\",\"hairpin\":false,\"verdict\":\"\(verdict)\",\"expected\":\(json(expected)),"
            + "\"expectation_met\":\(met.map(String.init) ?? "null"),\"packets\":6,\"bytes\":600,\"reply_packets\":5,\"reply_bytes\":500,"
            + "\"join\":\"conntrack\",\"expected_row\":\(expected == nil ? "null" : "8"),\"endpoint_node\":\"node1\",\"reason\":\(json(reason))}"
    }

    /// Client port 40001: node2 masquerades to its own address as documented, node1 delivers to the pod.
    static let documented = (
        node2: flow(node: "node2", second: 1, src: ("203.0.113.10", 40001), dst: ("192.168.10.12", 30080),
                    xlat: ("192.168.10.12", 51234, "10.244.1.2", 8080), snat: true, dnat: true, out: "eth0", resolvedFrom: "vip",
                    clientKind: "external", verdict: "snat", expected: "snat", met: true, reason: nil),
        node1: flow(node: "node1", second: 1, src: ("192.168.10.12", 51234), dst: ("10.244.1.2", 8080),
                    xlat: ("192.168.10.12", 51234, "10.244.1.2", 8080), snat: false, dnat: false, out: "veth1",
                    resolvedFrom: "endpoint", clientKind: "node", verdict: "preserved", expected: nil, met: nil, reason: nil))

    /// Client port 40002: started on node2 while the Service rules changed; node2 forwarded it without SNAT, which
    /// neither catalog documents, so node2 wrote it as not checkable. Judged as a mismatch it would fail the check.
    static let notCheckable = (
        node2: flow(node: "node2", second: 2, src: ("203.0.113.10", 40002), dst: ("192.168.10.12", 30080),
                    xlat: ("203.0.113.10", 40002, "10.244.1.2", 8080), snat: false, dnat: true, out: "eth0", resolvedFrom: "vip",
                    clientKind: "external", verdict: "preserved", expected: "snat", met: nil, reason: FlowCorrelator.catalogChangingNote),
        node1: flow(node: "node1", second: 2, src: ("203.0.113.10", 40002), dst: ("10.244.1.2", 8080),
                    xlat: ("203.0.113.10", 40002, "10.244.1.2", 8080), snat: false, dnat: false, out: "veth1",
                    resolvedFrom: "endpoint", clientKind: "external", verdict: "preserved", expected: nil, met: nil, reason: nil))

    static let undecidedHeading = "? default/nodeport:80 node_port from external: 1 flows could not be decided:"
    static let undecidedReason = "    \(FlowCorrelator.catalogChangingNote) ×1"

    /// Writes node1's and node2's records to files and runs `srcip merge --check ARGS… node1 node2`.
    static func merge(_ paths: [(node2: String, node1: String)], _ args: [String] = []) throws -> (status: Int32, output: String) {
        let dir = NSTemporaryDirectory() + "srcip-mergecheck-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (node, lines) in [("node1", paths.map(\.node1)), ("node2", paths.map(\.node2))] {
            try (lines.joined(separator: "\n") + "\n").write(toFile: "\(dir)/\(node).jsonl", atomically: true, encoding: .utf8)
        }
        return run([srcipBinary, "merge", "--check"] + args + ["\(dir)/node1.jsonl", "\(dir)/node2.jsonl"])
    }

    @Test func aNotCheckablePathAloneIsUndecidedAndNothingIsVerifiable() throws {
        let r = try Self.merge([Self.notCheckable])
        #expect(r.status == 2, "\(r.output)")
        #expect(r.output.contains("node2 eth0→eth0 ⇒ node1 eth0→veth1: backend 10.244.1.2:8080 saw 203.0.113.10  preserved (expected snat ?)"),
                "\(r.output)")
        let lines = r.output.split(separator: "\n").map(String.init)
        let heading = try #require(lines.firstIndex(of: Self.undecidedHeading), "\(r.output)")
        #expect(lines[heading + 1] == Self.undecidedReason)
        #expect(lines.contains { $0.hasPrefix("?  default/nodeport:80") && $0.hasSuffix("1 undecided") }, "\(r.output)")
        #expect(!lines.contains { $0.hasPrefix("✗") }, "\(r.output)")
        #expect(r.output.contains("check: 0 Service paths as documented, 0 not, 1 undecided (flows: 0 as documented, 0 not, 1 undecided; "
                                  + "0 not verified: addressed to no known Service, or not selected) — nothing verifiable"), "\(r.output)")
        #expect(r.output.contains("2 records from 2 files → 1 paths (1 across nodes), 0 unmatched"), "\(r.output)")
    }

    @Test func aNotCheckablePathBesideADocumentedOneLeavesTheRowPassed() throws {
        let r = try Self.merge([Self.documented, Self.notCheckable])
        #expect(r.status == 0, "\(r.output)")
        let lines = r.output.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("✓  default/nodeport:80") && $0.hasSuffix("1 ok, 1 undecided") }, "\(r.output)")
        let heading = try #require(lines.firstIndex(of: Self.undecidedHeading), "\(r.output)")
        #expect(lines[heading + 1] == Self.undecidedReason)
        #expect(r.output.contains("check: 1 Service paths as documented, 0 not (flows: 1 as documented, 0 not, 1 undecided; "
                                  + "0 not verified: addressed to no known Service, or not selected) — ok"), "\(r.output)")
        #expect(r.output.contains("4 records from 2 files → 2 paths (2 across nodes), 0 unmatched"), "\(r.output)")
    }

    @Test func jsonlAndTableShowTheNotCheckablePathAsUndecided() throws {
        let jsonl = try Self.merge([Self.documented, Self.notCheckable], ["--format", "jsonl"])
        #expect(jsonl.status == 0, "\(jsonl.output)")
        let paths = jsonl.output.split(separator: "\n").filter { $0.contains("\"kind\":\"path\"") }
        #expect(paths.count == 2)
        #expect(paths.filter { $0.contains("\"expectation_met\":null") }.count == 1, "\(paths)")
        let summary = try #require(jsonl.output.split(separator: "\n").first { $0.contains("\"kind\":\"verification_summary\"") })
        for field in ["\"passed\":1", "\"failed\":0", "\"flows_as_documented\":1", "\"flows_not_as_documented\":0",
                      "\"flows_undecided\":1", "\"exit_status\":0"] {
            #expect(summary.contains(field), "\(field) in \(summary)")
        }

        let table = try Self.merge([Self.notCheckable], ["--format", "table"])
        #expect(table.status == 2, "\(table.output)")
        let row = try #require(table.output.split(separator: "\n").first { $0.hasPrefix("default/nodeport") }, "\(table.output)")
        #expect(row.hasSuffix("preserved  snat ?"), "not checkable is not a mismatch: \(row)")
    }
}
