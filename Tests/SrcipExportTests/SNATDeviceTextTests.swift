import SrcipCore
import Testing
@testable import SrcipExport

/// The text line names the device whose address replaced the client (node IP, cni0, overlay device).
@Suite struct SNATDeviceTextTests {
    static func a(_ s: String) -> IPAddress { IPAddress(s)! }

    @Test func overlayAddressIsNamed() {
        var context = NodeContext(node: "node2")
        context.setLocalAddresses(["eth0": [Self.a("192.168.10.12")], "cni0": [Self.a("10.244.2.1")],
                                   "flannel.1": [Self.a("10.244.2.0")], "veth1": [Self.a("fe80::1")], "cali1": [Self.a("fe80::1")]])
        #expect(context.addressInterfaces[Self.a("10.244.2.0")] == "flannel.1")
        #expect(context.addressInterfaces[Self.a("fe80::1")] == "cali1", "an address on several devices: the first name")
        #expect(context.localAddresses.count == 4)

        let original = FiveTuple(src: Self.a("203.0.113.10"), dst: Self.a("192.168.10.12"), srcPort: 40001, dstPort: 30080, proto: .tcp)
        let translated = FiveTuple(src: Self.a("10.244.2.0"), dst: Self.a("10.244.1.2"), srcPort: 51234, dstPort: 8080, proto: .tcp)
        var r = FlowRecord(node: "node2", startNs: 0, endNs: 0, original: original, translated: translated, snat: true, dnat: true,
                           snatInterface: "flannel.1", snatHook: .egress, clientKind: .external, verdict: .snat, join: .conntrack)
        #expect(!r.textLine.contains("'s address"), "unknown owner: nothing claimed")
        r.snatAddressInterface = context.addressInterfaces[translated.src]
        #expect(r.textLine.contains("⇒ SNAT at node2/flannel.1 egress to 10.244.2.0:51234 → 10.244.1.2:8080 (10.244.2.0 is node2/flannel.1's address)"),
                "\(r.textLine)")
    }
}
