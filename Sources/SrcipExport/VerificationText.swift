import SrcipCore

/// The cells every rendering of a verification row shares (text table, JSON Lines, JUnit).
extension VerificationRow {
    /// `default/nodeport:http` (port name) or `default/nodeport:80`; the bare name when not exercised.
    public var serviceLabel: String {
        if status == .notExercised { return key.service }
        return key.service + ":" + (key.portName ?? String(key.port))
    }

    /// `NodePort`; `-` when not exercised.
    public var typeLabel: String { type?.rawValue ?? "-" }

    /// `Cluster/Cluster` (externalTrafficPolicy/internalTrafficPolicy).
    public var policyLabel: String {
        guard let e = externalTrafficPolicy, let i = internalTrafficPolicy else { return "-" }
        return "\(e.rawValue)/\(i.rawValue)"
    }

    /// `node_port from external`.
    public var pathLabel: String {
        status == .notExercised ? "-" : "\(key.frontend.rawValue) from \(key.clientKind.rawValue)"
    }

    /// `node1 ×3, node2 ×1`.
    public var entryLabel: String {
        let s = entryNodes.sorted.map { "\($0.value) ×\($0.count)" }.joined(separator: ", ")
        return s.isEmpty ? "-" : s
    }

    /// `client 203.0.113.10 ×2, 192.168.10.12 (node2/eth0 egress) ×8`.
    public var sawLabel: String {
        let s = saw.sorted.map { "\($0.value.label) ×\($0.count)" }.joined(separator: ", ")
        return s.isEmpty ? "-" : s
    }

    /// `dropped@node2 ×1`.
    public var stoppedLabel: String {
        let s = stopped.sorted.map { "\($0.value) ×\($0.count)" }.joined(separator: ", ")
        return s.isEmpty ? "-" : s
    }

    /// `snat (row 8)`; `none (row 22)`; `-` when not exercised.
    public var documentedLabel: String {
        if status == .notExercised { return "-" }
        return (expected?.rawValue ?? "none") + (key.expectedRow.map { " (row \($0))" } ?? "")
    }

    /// `✗`, `?`, `-` (not exercised) or `✓`.
    public var mark: String {
        switch status {
        case .failed: return "✗"
        case .undecided: return "?"
        case .notExercised: return "-"
        case .passed: return "✓"
        }
    }

    /// `3 ok, 1 not as documented, 2 undecided` or `not exercised`.
    public var resultLabel: String {
        if status == .notExercised { return "not exercised" }
        var parts = ["\(met) ok"]
        if missed > 0 { parts.append("\(missed) NOT as documented") }
        if undecided.total > 0 { parts.append("\(undecided.total) undecided") }
        return parts.joined(separator: ", ")
    }

    /// The evidence for a failed row: what documentation says and, per failing flow, what srcip saw.
    public var evidenceLines: [String] {
        var lines = ["documented: \(documentedLabel), \(key.frontend.rawValue) from \(key.clientKind.rawValue), " +
                     "eTP/iTP \(policyLabel); observed: \(met) as documented, \(missed) not"]
        for f in evidence { lines.append(f.evidenceLine) }
        if missed > evidence.count { lines.append("… and \(missed - evidence.count) more") }
        return lines
    }

    /// `reason ×count` for every undecided flow.
    public var undecidedLines: [String] { undecided.sorted.map { "\($0.value) ×\($0.count)" } }
}

extension BackendSaw {
    /// `client 203.0.113.10`, `192.168.10.12 (node2/eth0 egress)`, `192.168.10.11 (node1/cali1 egress, eth0's address)`
    /// (written at one device, owned by another) or `192.168.10.2 (not rewritten on a traced node)`.
    public var label: String {
        if preserved { return "client \(address)" }
        guard let w = writtenAt else { return "\(address) (not rewritten on a traced node)" }
        let owner = w.addressInterface.flatMap { $0 == w.interface ? nil : ", \($0)'s address" } ?? ""
        return "\(address) (\(w)\(owner))"
    }
}

extension VerificationFlow {
    /// The flow record's or path's own text line, prefixed with the node it entered.
    public var evidenceLine: String {
        switch source {
        case .record(let r): return "\(r.node): \(r.textLine)"
        case .path(let p): return p.textLine
        }
    }
}

/// The verification report for people: one table, failures first, then evidence, undecided flows and a summary.
public enum VerificationText {
    public static func render(_ report: VerificationReport) -> String {
        var table = [["", "SERVICE", "TYPE", "eTP/iTP", "PATH", "ENTRY NODE(S)", "FLOWS", "BACKENDS SAW", "DROPS/REJECTS",
                      "DOCUMENTED (§4)", "RESULT"]]
        for r in report.rows {
            table.append([r.mark, r.serviceLabel, r.typeLabel, r.policyLabel, r.pathLabel, r.entryLabel, String(r.flows),
                          r.sawLabel, r.stoppedLabel, r.documentedLabel, r.resultLabel])
        }
        var out = ["Verification against Kubernetes' documented source-IP behaviour (docs/kube-proxy-nat.md §4), "
                   + (report.clusterWide ? "cluster-wide (paths stitched across nodes):" : "one node:"),
                   "", columns(table)]
        for r in report.rows where r.status == .failed {
            out.append("")
            out.append("✗ \(r.serviceLabel) \(r.pathLabel):")
            out += r.evidenceLines.map { "    " + $0 }
        }
        for r in report.rows where r.undecided.total > 0 {
            out.append("")
            out.append("? \(r.serviceLabel) \(r.pathLabel): \(r.undecided.total) flows could not be decided:")
            out += r.undecidedLines.map { "    " + $0 }
        }
        out.append("")
        out.append(summary(report))
        return out.joined(separator: "\n")
    }

    /// `check: 2 of 3 Service paths as documented, 1 not (9 flows ok, 1 not, 0 undecided; 4 not Service traffic)`.
    public static func summary(_ report: VerificationReport) -> String {
        let notExercised = report.rows.filter { $0.status == .notExercised }.count
        var s = "check: \(report.passed) Service paths as documented, \(report.failed) not"
        let undecidedRows = report.rows.filter { $0.status == .undecided }.count
        if undecidedRows > 0 { s += ", \(undecidedRows) undecided" }
        if notExercised > 0 { s += ", \(notExercised) Services not exercised" }
        s += " (flows: \(report.flowsMet) as documented, \(report.flowsMissed) not, \(report.flowsUndecided) undecided; "
            + "\(report.notServiceTraffic) not verified: addressed to no known Service, or not selected)"
        switch report.exitStatus {
        case 1: s += " — FAIL"
        case 2: s += " — nothing verifiable"
        default: s += " — ok"
        }
        return s
    }

    /// Left-aligned columns, two spaces apart (counts characters, so ✓/×/→ align).
    static func columns(_ rows: [[String]]) -> String {
        let widths = rows[0].indices.map { i in rows.map { $0[i].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
