import Foundation
import SrcipCore
import SrcipExport
import SrcipJSON
import SrcipTestSupport
import Testing

/// The verification report's renderings: the text table, JSON Lines rows and JUnit XML validated against the JUnit
/// schema CI servers read (Tests/Fixtures/junit-4.xsd, with xmllint from libxml2-utils).
@Suite struct VerificationRenderTests {
    static func record(_ name: String, eTP: TrafficPolicy = .cluster, srcPort: UInt16, saw: String?, verdict: Verdict,
                       expected: Verdict?, row: Int?, reason: String? = nil) -> FlowRecord {
        var r = Fixtures.snatRecord
        r.service?.name = name
        r.service?.externalTrafficPolicy = eTP
        r.original.srcPort = srcPort
        r.verdict = verdict
        r.expected = expected
        r.expectedRow = row
        r.reason = reason
        if let saw {
            r.translated?.src = IPAddress(saw)!
            r.snat = saw != "203.0.113.10"
            if !r.snat { r.snatInterface = nil; r.snatHook = nil }
        } else {
            r.translated = nil
            r.snat = false
        }
        return r
    }

    /// Every status: a <local> Service SNATed on node1 (fails), one passing, one undecided, one not exercised.
    static let report = VerificationReport.build(records: [
        record("nodeport", srcPort: 1, saw: "192.168.10.11", verdict: .snat, expected: .snat, row: 8),
        record("nodeport-local", eTP: .local, srcPort: 2, saw: "10.244.1.1", verdict: .snat, expected: .preserved, row: 11),
        record("nodeport-local", eTP: .local, srcPort: 3, saw: "203.0.113.10", verdict: .preserved, expected: .preserved, row: 11),
        record("nodeport-unknown", srcPort: 4, saw: "192.168.10.11", verdict: .unknown, expected: .snat, row: 8, reason: "evicted early"),
    ], services: ["default/nodeport", "default/nodeport-local", "default/nodeport-unknown", "default/idle"])

    @Test func textTablePutsTheFailureFirstWithItsEvidence() throws {
        let text = VerificationText.render(Self.report)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let header = try #require(lines.firstIndex { $0.contains("SERVICE") && $0.contains("BACKENDS SAW") })
        #expect(lines[header + 1].hasPrefix("✗  default/nodeport-local:80"), "\(text)")
        #expect(lines[header + 1].contains("client 203.0.113.10 ×1") && lines[header + 1].contains("10.244.1.1 (node1/eth0 egress) ×1"))
        #expect(lines[header + 1].contains("preserved (row 11)") && lines[header + 1].contains("1 ok, 1 NOT as documented"))
        #expect(lines[header + 2].hasPrefix("?  default/nodeport-unknown:80"))
        #expect(lines[header + 3].hasPrefix("-  default/idle") && lines[header + 3].contains("not exercised"))
        #expect(lines[header + 4].hasPrefix("✓  default/nodeport:80") && lines[header + 4].contains("snat (row 8)"))
        #expect(text.contains("✗ default/nodeport-local:80 node_port from external:\n    documented: preserved (row 11)"))
        #expect(text.contains("node1: default/nodeport-local node_port 203.0.113.10:2 → 192.168.10.11:30080 ⇒ SNAT at node1/eth0 egress"))
        #expect(text.contains("? default/nodeport-unknown:80 node_port from external: 1 flows could not be decided:\n    verdict unknown: evicted early ×1"))
        #expect(lines.last?.hasPrefix("check: 1 Service paths as documented, 1 not, 1 undecided, 1 Services not exercised") == true)
        #expect(lines.last?.hasSuffix("— FAIL") == true)
        // Columns line up: every table row starts its SERVICE cell at the same offset.
        let offsets = lines[(header + 1)...(header + 4)].map { l in l.range(of: "default/").map { l.distance(from: l.startIndex, to: $0.lowerBound) } }
        #expect(Set(offsets).count == 1 && offsets[0] != nil, "\(offsets)")
    }

    @Test func jsonLinesRowsCarryEveryCountAndASummaryLine() throws {
        let lines = Self.report.jsonLines()
        #expect(lines.count == 5)
        let rows = try lines.map { line -> [String: JSONValue] in
            guard case .object(let o) = try JSONTextParser.parse(Array(line.utf8)) else { throw JSONFailure() }
            return o
        }
        #expect(rows[0]["kind"] == .string("verification") && rows[0]["status"] == .string("failed"))
        #expect(rows[0]["service"] == .string("default/nodeport-local") && rows[0]["expected_row"] == .integer(11))
        #expect(rows[0]["flows"] == .integer(2) && rows[0]["as_documented"] == .integer(1) && rows[0]["not_as_documented"] == .integer(1))
        guard case .array(let saw)? = rows[0]["backends_saw"], case .array(let evidence)? = rows[0]["evidence"] else {
            Issue.record("backends_saw and evidence are arrays"); return
        }
        #expect(saw.count == 2 && evidence.count == 1)
        #expect(rows[2]["status"] == .string("not_exercised") && rows[2]["port"] == .null && rows[2]["flows"] == .integer(0))
        #expect(rows[1]["undecided_reasons"] == .array([.object(["reason": .string("verdict unknown: evicted early"), "count": .integer(1)])]))
        #expect(rows[4]["kind"] == .string("verification_summary") && rows[4]["exit_status"] == .integer(1)
                && rows[4]["failed"] == .integer(1) && rows[4]["not_exercised"] == .integer(1))
    }

    @Test func junitHasOneCasePerRowAndTheFailureCarriesTheEvidence() {
        let xml = VerificationJUnit.render(Self.report, suite: "srcip check node1", timestamp: "2026-11-26T00:37:28.484618Z",
                                           hostname: "node1")
        #expect(xml.components(separatedBy: "<testcase ").count - 1 == 4)
        #expect(xml.contains("<testsuite name=\"srcip check node1\" tests=\"4\" failures=\"1\" errors=\"0\" skipped=\"2\""))
        #expect(xml.contains("<testcase classname=\"default/nodeport-local:80\" name=\"node_port from external (preserved (row 11)) via node1\""))
        #expect(xml.contains("<failure type=\"SourceIPNotAsDocumented\" message=\"1 of 2 flows not as documented: expected preserved (row 11), backends saw client 203.0.113.10 ×1, 10.244.1.1 (node1/eth0 egress) ×1\">"))
        #expect(xml.contains("203.0.113.10:2 → 192.168.10.11:30080 ⇒ SNAT at node1/eth0 egress"))
        #expect(xml.contains("<skipped message=\"no flow reached default/idle\"/>"))
        #expect(VerificationJUnit.escape("a<b&\"c\"\u{1}") == "a&lt;b&amp;&quot;c&quot;\u{FFFD}")
    }

    @Test func junitValidatesAgainstTheJUnitSchemaAndTheSchemaRejectsBrokenReports() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/xmllint") else {
            if ProcessInfo.processInfo.environment["CI"] != nil {
                Issue.record("xmllint is missing: apt-get install libxml2-utils (make deps installs it)")
            }
            return
        }
        let xml = VerificationJUnit.render(Self.report, suite: "srcip check node1", timestamp: "2026-11-26T00:37:28.484618Z",
                                           hostname: "node1")
        let good = try Self.validate(xml)
        #expect(good.status == 0, "\(good.output)")
        // A report with an evident mistake (a test case without classname, a negative count) must not validate.
        let broken = xml.replacingOccurrences(of: "<testcase classname=\"default/idle\"", with: "<testcase")
            .replacingOccurrences(of: "failures=\"1\" errors", with: "failures=\"-1\" errors")
        let bad = try Self.validate(broken)
        #expect(bad.status != 0 && bad.output.contains("classname"), "\(bad.output)")
        // Every status in one report and an empty one validate too.
        let empty = VerificationJUnit.render(VerificationReport.build(records: []), suite: "srcip check cluster")
        #expect(try Self.validate(empty).status == 0)
    }

    /// `xmllint --noout --schema junit-4.xsd` over `xml` written to a temporary file: exit status and what it printed.
    static func validate(_ xml: String) throws -> (status: Int32, output: String) {
        let file = FileManager.default.temporaryDirectory
            .appendingPathComponent("srcip-junit-\(getpid())-\(UInt32.random(in: 0..<1_000_000)).xml")
        try xml.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        return try JUnitSchema.validate(file: file.path)
    }

    struct JSONFailure: Error {}
}
