import SrcipCore

/// Records used by the export tests.
enum Fixtures {
    static let t0: Int64 = 1_795_000_123_456_789_000

    static let snatRecord = FlowRecord(
        node: "node1", startNs: t0, endNs: t0 + 2_500_000_000,
        original: FiveTuple(src: IPAddress("203.0.113.10")!, dst: IPAddress("192.168.10.11")!, srcPort: 40001, dstPort: 30080, proto: .tcp),
        translated: FiveTuple(src: IPAddress("192.168.10.11")!, dst: IPAddress("10.244.1.2")!, srcPort: 51234, dstPort: 8080, proto: .tcp),
        snat: true, dnat: true, snatInterface: "eth0", snatHook: .egress, dnatInterface: "eth0", dnatHook: .ingress,
        inInterface: "eth0", outInterface: "eth0",
        service: ServiceRef(namespace: "default", name: "nodeport", portName: nil, port: 80, type: .nodePort, frontend: .nodePort,
                            externalTrafficPolicy: .cluster, internalTrafficPolicy: .cluster, resolvedFrom: .vip),
        clientKind: .external, verdict: .snat, expected: .snat, expectationMet: true, expectedRow: 8, endpointNode: "node2",
        reason: "note with \"quotes\", a comma\nand a newline",
        packets: 6, bytes: 600, replyPackets: 5, replyBytes: 500, join: .conntrack)

    static let droppedV6 = FlowRecord(
        node: "node1", startNs: t0, endNs: t0 + 1_000,
        original: FiveTuple(src: IPAddress("2001:db8::10")!, dst: IPAddress("fd00::11")!, srcPort: 40002, dstPort: 30082, proto: .tcp),
        translated: nil, snat: false, dnat: false, inInterface: "eth0", service: nil, clientKind: .external,
        verdict: .dropped, packets: 3, bytes: 180, join: .fingerprint)

    static let dnatV6 = FlowRecord(
        node: "node2", startNs: t0, endNs: t0 + 7_000_000,
        original: FiveTuple(src: IPAddress("fd00:10:244:1::5")!, dst: IPAddress("fd00:10:96::10")!, srcPort: 41000, dstPort: 80, proto: .udp),
        translated: FiveTuple(src: IPAddress("fd00:10:244:1::5")!, dst: IPAddress("fd00:10:244:2::3")!, srcPort: 41000, dstPort: 8080, proto: .udp),
        snat: false, dnat: true, inInterface: "veth1", outInterface: "eth0", clientKind: .pod, verdict: .preserved,
        expected: .preserved, expectationMet: true, packets: 1, bytes: 70, replyPackets: 1, replyBytes: 90, join: .conntrack)
}
