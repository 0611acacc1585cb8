import SrcipCore
import SrcipJSON

extension FlowPath {
    /// The route: `node2 eth0→eth0 ⇒ node1 eth0→veth1`; a hop that never left ends in `✗` (stopped) or nothing (local).
    var route: String {
        hops.map { h in
            let out = h.outInterface ?? (h.verdict == .dropped || h.verdict == .rejected ? "✗" : "")
            return "\(h.node) \(h.inInterface ?? "?")→\(out)"
        }.joined(separator: " ⇒ ")
    }

    var client: String { Endpoint.format(hops[0].original.src, hops[0].original.srcPort) }
    var addressed: String { Endpoint.format(hops[0].original.dst, hops[0].original.dstPort) }

    /// `✓`/`✗` after the verdict, or nothing without an expectation.
    var expectationMark: String {
        guard let e = expected else { return "" }
        return " (expected \(e.rawValue) \(ExpectationMark.of(expectationMet)))"
    }

    /// What the end of the path says: the pod and what it saw, where it stopped, or that it ended on the node.
    var endText: String {
        switch outcome {
        case .delivered:
            return "backend \(Endpoint.format(delivered.dst, delivered.dstPort)) saw \(backendSawSource)"
                + (snatWrittenAt.map { w in " (written at \(w)" + (w.addressInterface.map { "; \(w.node)/\($0)'s address" } ?? "") + ")" } ?? "")
        case .dropped, .rejected:
            return "stopped at \(stoppedAt?.description ?? hops[hops.count - 1].node)"
        case .local:
            return "ended on \(hops[hops.count - 1].node) at \(Endpoint.format(delivered.dst, delivered.dstPort)) (no egress observed)"
        }
    }

    /// `default/nodeport node_port: 203.0.113.10:40001 → 192.168.10.12:30080: node2 eth0→eth0 ⇒ node1 eth0→veth1:
    /// backend 10.244.1.2:8080 saw 192.168.10.12 (written at node2/eth0 egress)  snat (expected snat ✓)`.
    public var textLine: String {
        var s = (service.map { "\($0.id) \($0.frontend.rawValue): " } ?? "")
        s += "\(client) → \(addressed): \(route): \(endText)  \(verdict.rawValue)\(expectationMark)"
        if reachedEndpointNode == false, let n = endpointNode { s += " [incomplete: no record from \(n), the endpoint's node]" }
        if !foldedReplies.isEmpty { s += " [+\(foldedReplies.count) reply record\(foldedReplies.count == 1 ? "" : "s")]" }
        return s
    }

    /// One short line: `default/nodeport 203.0.113.10 → node2 → node1 → 10.244.1.2:8080 saw 192.168.10.12 snat@node2/eth0 ✓`.
    public var compactLine: String {
        let nodes = hops.map(\.node).joined(separator: " → ")
        var s = "\(service?.id ?? "-") \(hops[0].original.src) → \(nodes)"
        switch outcome {
        case .delivered: s += " → \(Endpoint.format(delivered.dst, delivered.dstPort)) saw \(backendSawSource)"
        case .local: s += " (local \(Endpoint.format(delivered.dst, delivered.dstPort)))"
        case .dropped, .rejected: s += " ✗"
        }
        s += " " + verdict.rawValue
        if let w = snatWrittenAt { s += "@\(w.node)/\(w.interface ?? "?")" }
        if expected != nil { s += " " + ExpectationMark.of(expectationMet) }
        return s
    }

    /// The cells of `--format table`, in `FlowPath.tableHeader` order.
    public var tableRow: [String] {
        let written = snatWrittenAt.map { "\($0.node)/\($0.interface ?? "?")" } ?? "-"
        let saw: String
        switch outcome {
        case .delivered: saw = backendSawSource.description
        case .local: saw = "(local)"
        case .dropped, .rejected: saw = "-"
        }
        let backend = outcome == .delivered ? Endpoint.format(delivered.dst, delivered.dstPort) : stoppedAt.map { "stopped@\($0.node)" } ?? "-"
        return [service?.id ?? "-", service?.frontend.rawValue ?? "-", client, route, backend, saw, written, verdict.rawValue,
                expected.map { $0.rawValue + " " + ExpectationMark.of(expectationMet) } ?? "-"]
    }

    public static let tableHeader = ["SERVICE", "FRONTEND", "CLIENT", "ROUTE", "BACKEND", "SAW", "SNAT AT", "VERDICT", "EXPECTED"]
}

/// Aligned columns for `--format table`.
public enum TextTable {
    /// Pads every column to its widest cell (by characters), two spaces apart.
    public static func render(header: [String], rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in i == cells.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count) }
                .joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}

extension FlowPath {
    /// The path as one line of JSON (docs/schemas/merge.schema.json): end-to-end verdict, how it ended, where the
    /// source was rewritten, and every hop with its tuple before and after the node as objects.
    public func jsonLine() -> String {
        var w = JSONObjectWriter()
        let first = hops[0]
        let reached = outcome == .delivered
        w.int("version", FlowRecord.currentVersion)
        w.string("kind", "path")
        w.string("start", RFC3339.format(unixNs: first.startNs))
        w.string("protocol", first.protocolName)
        w.string("family", first.familyName)
        w.string("client_ip", first.original.src.description)
        w.int("client_port", Int(first.original.srcPort))
        w.string("dst_ip", first.original.dst.description)
        w.int("dst_port", Int(first.original.dstPort))
        w.string("service", service.map { $0.id })
        w.string("frontend", service?.frontend.rawValue)
        w.string("outcome", outcome.rawValue)
        w.string("backend_ip", reached ? delivered.dst.description : nil)
        w.int("backend_port", reached ? Int(delivered.dstPort) : nil)
        w.string("backend_saw_ip", reached ? delivered.src.description : nil)
        w.int("backend_saw_port", reached ? Int(delivered.srcPort) : nil)
        if let s = snatWrittenAt {
            var o = JSONObjectWriter()
            o.string("node", s.node)
            o.string("interface", s.interface)
            o.string("hook", s.hook?.description)
            o.string("address_interface", s.addressInterface)
            w.raw("snat_written_at", o.finish())
        } else {
            w.raw("snat_written_at", "null")
        }
        if let s = stoppedAt {
            var o = JSONObjectWriter()
            o.string("node", s.node)
            o.string("interface", s.interface)
            w.raw("stopped_at", o.finish())
        } else {
            w.raw("stopped_at", "null")
        }
        w.string("endpoint_node", endpointNode)
        w.bool("reached_endpoint_node", reachedEndpointNode)
        w.string("verdict", verdict.rawValue)
        w.string("expected", expected?.rawValue)
        w.bool("expectation_met", expectationMet)
        w.int("folded_replies", foldedReplies.count)
        w.raw("hops", "[" + hops.map(Self.hopJSON).joined(separator: ",") + "]")
        return w.finish()
    }

    /// `{"src_ip":…,"src_port":…,"dst_ip":…,"dst_port":…}`.
    static func tupleJSON(_ t: FiveTuple) -> String {
        var o = JSONObjectWriter()
        o.string("src_ip", t.src.description)
        o.int("src_port", Int(t.srcPort))
        o.string("dst_ip", t.dst.description)
        o.int("dst_port", Int(t.dstPort))
        return o.finish()
    }

    static func hopJSON(_ h: FlowRecord) -> String {
        var o = JSONObjectWriter()
        o.string("node", h.node)
        o.string("in_interface", h.inInterface)
        o.string("out_interface", h.outInterface)
        o.raw("before", tupleJSON(h.original))
        o.raw("after", h.translated.map(tupleJSON) ?? "null")
        o.bool("snat", h.snat)
        o.bool("dnat", h.dnat)
        o.string("snat_interface", h.snatInterface)
        o.string("snat_hook", h.snatHook?.description)
        o.string("service", h.service?.id)
        o.string("verdict", h.verdict.rawValue)
        o.string("reason", h.reason)
        o.string("snat_address_interface", h.snatAddressInterface)
        if let e = h.encapsulation {
            var x = JSONObjectWriter()
            x.string("type", e.kind.description)
            x.int("vni", Int(e.vni))
            x.raw("outer", e.outer.map(tupleJSON) ?? "null")
            o.raw("encap", x.finish())
        } else {
            o.raw("encap", "null")
        }
        return o.finish()
    }
}

extension UnmatchedRecord {
    /// `{"kind":"unmatched","reason":…,"record":{…v1 record…}}`.
    public func jsonLine() -> String {
        var w = JSONObjectWriter()
        w.int("version", FlowRecord.currentVersion)
        w.string("kind", "unmatched")
        w.string("reason", reason)
        w.raw("record", record.jsonLine())
        return w.finish()
    }
}
