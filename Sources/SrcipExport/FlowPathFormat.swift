import SrcipCore
import SrcipJSON

extension FlowPath {
    /// `node2 eth0→eth0 ⇒ node1 eth0→veth…: 203.0.113.10 → backend saw 192.168.10.12 (written at node2/eth0 egress) snat (expected snat ✓)`.
    public var textLine: String {
        let route = hops.map { "\($0.node) \($0.inInterface ?? "-")→\($0.outInterface ?? "-")" }.joined(separator: " ⇒ ")
        var s = (service.map { "\($0.id) \($0.frontend.rawValue): " } ?? "") + route
        s += ": \(hops[0].original.src) → backend \(Endpoint.format(delivered.dst, delivered.dstPort)) saw \(backendSawSource)"
        if let w = snatWrittenAt { s += " (written at \(w))" }
        s += "  \(verdict.rawValue)"
        if let e = expected { s += " (expected \(e.rawValue) \(expectationMet == true ? "✓" : "✗"))" }
        if complete == false { s += " [incomplete: no hop on the endpoint's node]" }
        return s
    }
}

extension FlowPath {
    /// The path as one line of JSON: end-to-end verdict, where the source was rewritten, and every hop.
    public func jsonLine() -> String {
        var w = JSONObjectWriter()
        let first = hops[0]
        w.int("version", FlowRecord.currentVersion)
        w.string("kind", "path")
        w.string("start", RFC3339.format(unixNs: first.startNs))
        w.string("protocol", first.protocolName)
        w.string("client_ip", first.original.src.description)
        w.int("client_port", Int(first.original.srcPort))
        w.string("dst_ip", first.original.dst.description)
        w.int("dst_port", Int(first.original.dstPort))
        w.string("backend_ip", delivered.dst.description)
        w.int("backend_port", Int(delivered.dstPort))
        w.string("backend_saw_ip", delivered.src.description)
        w.int("backend_saw_port", Int(delivered.srcPort))
        if let s = snatWrittenAt {
            var o = JSONObjectWriter()
            o.string("node", s.node)
            o.string("interface", s.interface)
            o.string("hook", s.hook?.description)
            w.raw("snat_written_at", o.finish())
        } else {
            w.raw("snat_written_at", "null")
        }
        w.string("service", service.map { $0.id })
        w.string("frontend", service?.frontend.rawValue)
        w.string("verdict", verdict.rawValue)
        w.string("expected", expected?.rawValue)
        w.bool("expectation_met", expectationMet)
        w.bool("complete", complete)
        let hopJSON = hops.map { h -> String in
            var o = JSONObjectWriter()
            o.string("node", h.node)
            o.string("in_interface", h.inInterface)
            o.string("out_interface", h.outInterface)
            o.string("src", FlowRecord.endpoints(h.original))
            o.string("xlat", h.translated.map(FlowRecord.endpoints))
            o.bool("snat", h.snat)
            o.bool("dnat", h.dnat)
            o.string("snat_interface", h.snatInterface)
            o.string("snat_hook", h.snatHook?.description)
            o.string("verdict", h.verdict.rawValue)
            return o.finish()
        }
        w.raw("hops", "[" + hopJSON.joined(separator: ",") + "]")
        return w.finish()
    }
}

extension UnmatchedRecord {
    /// `{"kind":"unmatched","reason":…,"record":{…v1 record…}}`.
    public func jsonLine() -> String {
        var w = JSONObjectWriter()
        w.string("kind", "unmatched")
        w.string("reason", reason)
        w.raw("record", record.jsonLine())
        return w.finish()
    }
}
