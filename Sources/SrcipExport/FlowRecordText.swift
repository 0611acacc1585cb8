import SrcipCore

extension FlowRecord {
    /// One line readable at a glance, e.g.
    /// `default/nodeport node_port 203.0.113.10:40001 → 192.168.10.11:30080 ⇒ SNAT at node1/eth0 egress to 192.168.10.11:51234 → 10.244.1.2:8080 (192.168.10.11 is node1/eth0's address)  snat (expected snat ✓)`.
    /// The parenthesis names the device owning the SNAT address (the node IP's uplink, cni0, a VXLAN device) when known;
    /// a flow seen VXLAN-encapsulated adds `over vxlan vni 1 (192.168.10.12 → 192.168.10.11)` (the outer addresses).
    public var textLine: String {
        var s = service.map { "\($0.id) \($0.frontend.rawValue)" } ?? "-"
        if hairpin { s += " hairpin" }
        s += " " + FlowRecord.endpoints(original)
        if original.proto != .tcp { s += " " + protocolName }
        if let t = translated {
            if snat {
                let at = [snatInterface.map { "\(node)/\($0)" } ?? node, snatHook?.description].compactMap { $0 }
                s += " ⇒ SNAT at " + at.joined(separator: " ") + " to " + FlowRecord.endpoints(t)
                if let owner = snatAddressInterface { s += " (\(t.src) is \(node)/\(owner)'s address)" }
            } else if dnat {
                s += " ⇒ DNAT at \(node) to " + FlowRecord.endpoints(t)
            } else {
                s += " ⇒ unchanged via \(node)/\(outInterface ?? "?")"
            }
        } else {
            s += " ⇒ did not leave \(node)"
        }
        if let e = encapsulation {
            s += " over \(e.kind) vni \(e.vni)" + (e.outer.map { " (\($0.src) → \($0.dst))" } ?? "")
        }
        s += "  " + verdict.rawValue
        if let e = expected {
            s += " (expected \(e.rawValue) \(ExpectationMark.of(expectationMet)))"
        } else {
            s += " (no expectation)"
        }
        if let r = reason { s += " — " + r }
        return s
    }

    static func endpoints(_ t: FiveTuple) -> String {
        if t.proto.hasPorts { return "\(Endpoint.format(t.src, t.srcPort)) → \(Endpoint.format(t.dst, t.dstPort))" }
        return "\(t.src) → \(t.dst) id \(t.srcPort)"
    }
}

/// The mark after an expected verdict in text, compact and table output: `✓` as documented, `✗` not, `?` undecided
/// (verdict `unknown`, or a flow its record says is not checkable: `expectation_met` null) — never `✗` for those.
enum ExpectationMark {
    static func of(_ met: Bool?) -> String {
        switch met {
        case true?: return "✓"
        case false?: return "✗"
        case nil: return "?"
        }
    }
}
