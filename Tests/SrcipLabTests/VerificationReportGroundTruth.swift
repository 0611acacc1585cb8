import Foundation
import SrcipCore
import SrcipLabCluster
import SrcipLabDemo
import SrcipLabWorkloads
import Testing

/// `srcip trace --check --junit` on every node of the §4 lab (the conntrack session of `VerdictGroundTruthTests`):
/// each verification row's flow count equals the flows of its Service port and entry path in that node's JSON Lines,
/// each row a §4 request landed in says ✓ exactly when the echo pod saw what §4 documents, the exit status is the
/// report's, and the JUnit file validates against the JUnit schema with one test case per row.
enum VerificationReportGroundTruth {
    /// A row's identity: Service, port, frontend, client kind and §4 row, as in the verification JSON and the records.
    struct Key: Hashable, CustomStringConvertible {
        var service: String, port: Int, portName: String?, frontend: String, clientKind: String, expectedRow: Int?
        var description: String { "\(service):\(port) \(frontend) from \(clientKind) (row \(expectedRow.map(String.init) ?? "-"))" }

        init?(record r: [String: Any]) {
            guard let s = r["service"] as? [String: Any], s["resolved_from"] as? String == "vip",
                  let ns = s["namespace"] as? String, let name = s["name"] as? String, let port = s["port"] as? Int,
                  let frontend = s["frontend"] as? String, let kind = r["client_kind"] as? String else { return nil }
            self.init(service: "\(ns)/\(name)", port: port, portName: s["port_name"] as? String, frontend: frontend, clientKind: kind,
                      expectedRow: r["expected_row"] as? Int)
        }

        init?(row v: [String: Any]) {
            guard let service = v["service"] as? String, let port = v["port"] as? Int, let frontend = v["frontend"] as? String,
                  let kind = v["client_kind"] as? String else { return nil }
            self.init(service: service, port: port, portName: v["port_name"] as? String, frontend: frontend, clientKind: kind,
                      expectedRow: v["expected_row"] as? Int)
        }

        init(service: String, port: Int, portName: String?, frontend: String, clientKind: String, expectedRow: Int?) {
            (self.service, self.port, self.portName, self.frontend, self.clientKind, self.expectedRow) =
                (service, port, portName, frontend, clientKind, expectedRow)
        }
    }

    /// Whether the echo pod saw what §4 documents for the probe's row (the lab's ground truth).
    static func asDocumented(_ p: ScenarioProbe, state: ClusterState) -> Bool {
        switch p.row.expect {
        case let .ip(ip): return p.outcome.clientAddress == ip
        case let .podIP(name):
            let pod = state.pods.first { $0.name == name }
            return p.outcome.clientAddress != nil && p.outcome.clientAddress == (pod?.ip(p.row.family) ?? pod?.ip)?.description
        case .timeout: return p.outcome == .timeout
        case .refused: return p.outcome == .refused
        }
    }

    /// The JSON lines of kind `verification` / `verification_summary` a trace printed (with `--format jsonl`) on stderr.
    static func reportLines(_ log: String) -> (rows: [[String: Any]], summary: [String: Any]?) {
        let objects = log.split(separator: "\n").filter { $0.hasPrefix("{") }
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        return (objects.filter { $0["kind"] as? String == "verification" },
                objects.first { $0["kind"] as? String == "verification_summary" })
    }

    /// Checks every node's report against its records and the probes; `statuses` are the traces' exit statuses.
    static func check(probes: [ScenarioProbe], session: LabTraceSession, statuses: [String: Int32], state: ClusterState,
                      mode: ProxyMode) throws {
        var probeRows = 0
        for t in session.traces {
            let what = "[\(mode)] \(t.node)"
            let records = try String(contentsOfFile: t.output, encoding: .utf8).split(separator: "\n")
                .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                .filter { $0["kind"] as? String == "flow" && $0["final"] as? Bool != false }
            let (rows, summary) = reportLines(session.log(node: t.node))
            let summaryStatus = try #require(summary?["exit_status"] as? Int, "\(what): no verification summary in \(t.log)")
            #expect(Int(statuses[t.node] ?? -1) == summaryStatus && summaryStatus != 1, "\(what): exit \(statuses[t.node] ?? -1), report \(summary ?? [:])")

            // Counts: every row's flows are the node's records of that key, and every such record is in a row.
            var flowsByKey: [Key: Int] = [:]
            for r in records { if let k = Key(record: r) { flowsByKey[k, default: 0] += 1 } }
            var rowByKey: [Key: [String: Any]] = [:]
            for v in rows {
                let k = try #require(Key(row: v), "\(what): row without a key: \(v)")
                #expect(rowByKey[k] == nil, "\(what): two rows for \(k)")
                rowByKey[k] = v
                #expect(v["flows"] as? Int == flowsByKey[k], "\(what) \(k): row says \(v["flows"] ?? "-") flows, JSON Lines has \(flowsByKey[k] ?? 0)")
                let parts = ["as_documented", "not_as_documented", "undecided"].compactMap { v[$0] as? Int }.reduce(0, +)
                #expect(parts == v["flows"] as? Int, "\(what) \(k): \(v)")
                let entry = (v["entry_nodes"] as? [[String: Any]] ?? []).map { "\($0["node"] ?? "")×\($0["count"] ?? "")" }
                #expect(entry == ["\(t.node)×\(v["flows"] ?? "")"], "\(what) \(k): entry nodes \(entry)")
            }
            #expect(Set(flowsByKey.keys) == Set(rowByKey.keys), "\(what): records \(flowsByKey.keys) vs rows \(rowByKey.keys)")
            #expect(summary?["rows"] as? Int == rows.count && summary?["failed"] as? Int == rows.filter { $0["status"] as? String == "failed" }.count)

            // ✓/✗: a row a §4 request landed in passed exactly when every such request got what §4 documents.
            var truth: [Key: Bool] = [:]
            for p in probes where p.entry.name == t.node {
                if case .loopbackNodePort = p.row.target, p.outcome == .refused { continue }   // on lo, which srcip does not trace
                let mine = ProbeRecordCheck.record(of: p, in: records)
                guard let r = mine.first, let k = Key(record: r) else {
                    let near = records.filter { $0["src_port"] as? Int == Int(p.sourcePort) }
                    Issue.record("\(what): \(p.row): no flow record of the request addressed to a Service in \(t.output): \(mine) \(near)")
                    continue
                }
                truth[k] = (truth[k] ?? true) && asDocumented(p, state: state)
            }
            for (k, met) in truth {
                let status = rowByKey[k]?["status"] as? String
                #expect(status == (met ? "passed" : "failed"), "\(what) \(k): row \(status ?? "missing"), echo pod says \(met ? "✓" : "✗")")
            }
            probeRows += truth.count

            // JUnit: valid against the schema CI servers read; a test case per row, failures where the rows failed.
            let xmlPath = try #require(t.junit, "\(what): the session ran without --check")
            let valid = try JUnitSchema.validate(file: xmlPath)
            #expect(valid.status == 0, "\(what): \(xmlPath) does not validate: \(valid.output)")
            let xml = try String(contentsOfFile: xmlPath, encoding: .utf8)
            #expect(xml.components(separatedBy: "<testcase ").count - 1 == rows.count, "\(what): \(xml)")
            #expect(xml.contains("<testsuite name=\"srcip check \(t.node)\" tests=\"\(rows.count)\" failures=\"\(summary?["failed"] ?? -1)\""),
                    "\(what): \(xml.prefix(400))")
            for k in truth.keys { #expect(xml.contains("classname=\"\(k.service):\(k.port)\""), "\(what): no test case for \(k)") }
        }
        #expect(probeRows >= 15, "[\(mode)] rows the §4 requests landed in: \(probeRows)")
    }
}
