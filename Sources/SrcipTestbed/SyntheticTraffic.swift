import CSrcipABI
import SrcipCore

/// Deterministic synthetic observations for benchmarks: NodePort (eTP Cluster) connections from external clients
/// through node `192.168.10.11` to pods, exactly as the BPF side reports them with conntrack
/// (ingress NEW, ingress NAT, egress NEW, reply NEW at both hooks, END at all four hooks).
public enum SyntheticTraffic {
    public static let recordsPerConnection = 9
    public static let eth0: UInt32 = 2
    public static let podSide: UInt32 = 3
    public static let nodeIP = IPAddress.v4(0xC0A8_0A0B)   // 192.168.10.11

    /// A node context matching the synthetic traffic (one NodePort Service, 30080 → pods 10.244.1.0/24 :8080).
    public static func context() -> NodeContext {
        let eps = (0..<200).map { ServiceEndpoint(ip: .v4(0x0AF4_0102 + UInt32($0)), port: 8080, nodeName: "node1") }
        let svc = Service(namespace: "bench", name: "nodeport", type: .nodePort, clusterIP: .v4(0x0A60_0014),
                          ports: [ServicePort(name: nil, proto: .tcp, port: 80, nodePort: 30080, endpoints: eps)])
        return NodeContext(node: "node1", interfaces: [eth0: "eth0", podSide: "cni0"],
                           localAddresses: [nodeIP, .v4(0x0AF4_0101)], clusterCIDRs: [IPPrefix(address: .v4(0x0AF4_0000), length: 16)],
                           catalog: ServiceCatalog(services: [svc]), monotonicToUnixNs: 1_795_000_000_000_000_000)
    }

    /// Step `step` (0..<recordsPerConnection) of connection `i`.
    public static func observation(connection i: Int, step: Int, baseNs: UInt64 = 1_000_000) -> Observation {
        let u = UInt32(truncatingIfNeeded: i)
        let client = FiveTuple(src: .v4(0xCB00_0000 | (u & 0x00FF_FFFF)), dst: nodeIP, srcPort: UInt16(10_000 + i % 50_000),
                               dstPort: 30080, proto: .tcp)
        let xlat = FiveTuple(src: .v4(0x0AF4_0001 + (UInt32(i / 60_000) & 0xff) << 8), dst: .v4(0x0AF4_0102 + u % 200), srcPort: UInt16(1024 + i % 60_000),
                             dstPort: 8080, proto: .tcp)
        let reply = xlat.reversed
        let status = UInt32(SRCIP_IPS_CONFIRMED | SRCIP_IPS_SRC_NAT | SRCIP_IPS_DST_NAT)
        func ct(_ dir: Bool) -> ConntrackMapping {
            ConntrackMapping(id: UInt64(i) + 1, original: client, reply: reply, status: status, packetIsReply: dir)
        }
        let t = baseNs + UInt64(i) * 1_000 + UInt64(step) * 10
        let fp = PacketFingerprint(tcpSeq: u &* 2_654_435_761, tcpAck: 0, tcpTSval: u, ipID: UInt16(truncatingIfNeeded: i), length: 60)
        let syn = TCPFlags.syn, synack = TCPFlags.syn | TCPFlags.ack, fin = TCPFlags.fin | TCPFlags.ack
        func o(_ k: ObservationKind, _ h: Hook, _ ifx: UInt32, _ tup: FiveTuple, _ p: UInt64, _ f: UInt8, _ m: ConntrackMapping?) -> Observation {
            Observation(kind: k, hook: h, ifindex: ifx, timestampNs: t, firstSeenNs: t - UInt64(step) * 10, packets: p, bytes: p * 80,
                        tuple: tup, tcpFlags: f, join: .conntrack, conntrack: m, fingerprint: fp)
        }
        switch step {
        case 0: return o(.new, .ingress, eth0, client, 1, syn, nil)
        case 1: return o(.nat, .ingress, eth0, client, 2, syn | TCPFlags.ack, ct(false))
        case 2: return o(.new, .egress, podSide, xlat, 1, syn, ct(false))
        case 3: return o(.new, .ingress, podSide, reply, 1, synack, ct(true))
        case 4: return o(.new, .egress, eth0, client.reversed, 1, synack, ct(true))
        case 5: return o(.end, .ingress, eth0, client, 6, syn | fin, ct(false))
        case 6: return o(.end, .egress, podSide, xlat, 6, syn | fin, ct(false))
        case 7: return o(.end, .ingress, podSide, reply, 5, synack | fin, ct(true))
        default: return o(.end, .egress, eth0, client.reversed, 5, synack | fin, ct(true))
        }
    }
}
