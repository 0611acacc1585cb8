import SrcipCore
import SrcipJSON

extension VerificationRow {
    /// The row as one JSON line (`"kind":"verification"`), for scripts: every count of the text table, unrounded.
    public func jsonLine() -> String {
        var w = JSONObjectWriter()
        w.int("version", FlowRecord.currentVersion)
        w.string("kind", "verification")
        w.string("status", status.rawValue)
        w.string("service", key.service)
        w.string("port_name", key.portName)
        w.int("port", status == .notExercised ? nil : Int(key.port))
        w.string("type", type?.rawValue)
        w.string("external_traffic_policy", externalTrafficPolicy?.rawValue)
        w.string("internal_traffic_policy", internalTrafficPolicy?.rawValue)
        w.string("frontend", status == .notExercised ? nil : key.frontend.rawValue)
        w.string("client_kind", status == .notExercised ? nil : key.clientKind.rawValue)
        w.raw("entry_nodes", Self.counts(entryNodes.sorted.map { ($0.value, $0.count) }, key: "node"))
        w.int("flows", flows)
        w.int("as_documented", met)
        w.int("not_as_documented", missed)
        w.int("undecided", undecided.total)
        let saws = saw.sorted.map { s -> String in
            var o = JSONObjectWriter()
            o.bool("preserved", s.value.preserved)
            o.string("address", s.value.address.description)
            o.string("written_at_node", s.value.writtenAt?.node)
            o.string("written_at_interface", s.value.writtenAt?.interface)
            o.string("written_at_hook", s.value.writtenAt?.hook?.description)
            o.int("count", s.count)
            return o.finish()
        }
        w.raw("backends_saw", "[" + saws.joined(separator: ",") + "]")
        w.raw("stopped", Self.counts(stopped.sorted.map { ($0.value, $0.count) }, key: "at"))
        w.string("expected", expected?.rawValue)
        w.int("expected_row", key.expectedRow)
        w.raw("undecided_reasons", Self.counts(undecided.sorted.map { ($0.value, $0.count) }, key: "reason"))
        w.strings("evidence", evidence.map(\.evidenceLine))
        return w.finish()
    }

    static func counts(_ items: [(String, Int)], key: String) -> String {
        "[" + items.map { item -> String in
            var o = JSONObjectWriter()
            o.string(key, item.0)
            o.int("count", item.1)
            return o.finish()
        }.joined(separator: ",") + "]"
    }
}

extension VerificationReport {
    /// Every row as a JSON line, then one `"kind":"verification_summary"` line with the totals and the exit status.
    public func jsonLines() -> [String] {
        var w = JSONObjectWriter()
        w.int("version", FlowRecord.currentVersion)
        w.string("kind", "verification_summary")
        w.string("scope", clusterWide ? "cluster" : "node")
        w.int("rows", rows.count)
        w.int("failed", failed)
        w.int("passed", passed)
        w.int("undecided", rows.filter { $0.status == .undecided }.count)
        w.int("not_exercised", rows.filter { $0.status == .notExercised }.count)
        w.int("flows_as_documented", flowsMet)
        w.int("flows_not_as_documented", flowsMissed)
        w.int("flows_undecided", flowsUndecided)
        w.int("not_service_traffic", notServiceTraffic)
        w.int("exit_status", Int(exitStatus))
        return rows.map { $0.jsonLine() } + [w.finish()]
    }
}
