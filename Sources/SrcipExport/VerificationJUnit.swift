import SrcipCore

/// The verification report as JUnit XML (the Ant/Jenkins "junit-4" format GitHub Actions reporters, GitLab and Jenkins
/// read): one `testsuite`, one `testcase` per Service port and entry path. A row that broke the documentation is a
/// `failure` carrying its evidence; an undecided or not exercised row is `skipped` with the reason.
public enum VerificationJUnit {
    /// `suite` names the testsuite (e.g. `srcip check node1` or `srcip check cluster`); `timestamp` is RFC 3339 without zone.
    public static func render(_ report: VerificationReport, suite: String, timestamp: String? = nil,
                              hostname: String? = nil) -> String {
        let skipped = report.rows.filter { $0.status == .undecided || $0.status == .notExercised }.count
        var attrs = "name=\"\(escape(suite))\" tests=\"\(report.rows.count)\" failures=\"\(report.failed)\" errors=\"0\" "
            + "skipped=\"\(skipped)\" time=\"0\""
        if let timestamp { attrs += " timestamp=\"\(escape(timestamp))\"" }
        if let hostname { attrs += " hostname=\"\(escape(hostname))\"" }
        var out = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
                   "<testsuites name=\"srcip check\" tests=\"\(report.rows.count)\" failures=\"\(report.failed)\" errors=\"0\" time=\"0\">",
                   "  <testsuite \(attrs)>"]
        for r in report.rows { out += testcase(r) }
        out.append("    <system-out>\(escape(VerificationText.summary(report)))</system-out>")
        out.append("  </testsuite>")
        out.append("</testsuites>")
        return out.joined(separator: "\n") + "\n"
    }

    static func testcase(_ r: VerificationRow) -> [String] {
        let name = r.status == .notExercised ? "not exercised"
            : "\(r.pathLabel) (\(r.documentedLabel)) via \(r.entryNodes.sorted.map(\.value).joined(separator: ","))"
        let open = "    <testcase classname=\"\(escape(r.serviceLabel))\" name=\"\(escape(name))\" time=\"0\""
        let detail = "flows \(r.flows); backends saw: \(r.sawLabel); drops/rejects: \(r.stoppedLabel); \(r.resultLabel)"
        switch r.status {
        case .passed:
            return [open + ">", "      <system-out>\(escape(detail))</system-out>", "    </testcase>"]
        case .failed:
            let message = "\(r.missed) of \(r.flows) flows not as documented: expected \(r.documentedLabel), backends saw \(r.sawLabel)"
                + (r.stopped.total > 0 ? ", \(r.stoppedLabel)" : "")
            return [open + ">",
                    "      <failure type=\"SourceIPNotAsDocumented\" message=\"\(escape(message))\">"
                        + escape((r.evidenceLines + r.undecidedLines).joined(separator: "\n")) + "</failure>",
                    "      <system-out>\(escape(detail))</system-out>",
                    "    </testcase>"]
        case .undecided:
            return [open + ">",
                    "      <skipped message=\"\(escape("undecided: " + r.undecidedLines.joined(separator: "; ")))\"/>",
                    "    </testcase>"]
        case .notExercised:
            return [open + ">", "      <skipped message=\"no flow reached \(escape(r.key.service))\"/>", "    </testcase>"]
        }
    }

    /// XML 1.0 text and attribute escaping; control characters XML cannot carry become U+FFFD.
    public static func escape(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n": out += "&#10;"
            case "\t": out.unicodeScalars.append(u)
            default:
                if u.value < 0x20 || u.value == 0xFFFE || u.value == 0xFFFF { out += "\u{FFFD}" } else { out.unicodeScalars.append(u) }
            }
        }
        return out
    }
}
