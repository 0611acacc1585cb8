import CSrcipABI
@testable import SrcipCore

/// A synthetic node1 with Services and helpers that write observation sequences the way the BPF side does.
enum Lab {
    static func ip(_ s: String) -> IPAddress { IPAddress(s)! }
    static func tcp(_ s: String, _ sp: UInt16, _ d: String, _ dp: UInt16) -> FiveTuple {
        FiveTuple(src: ip(s), dst: ip(d), srcPort: sp, dstPort: dp, proto: .tcp)
    }
    static func udp(_ s: String, _ sp: UInt16, _ d: String, _ dp: UInt16) -> FiveTuple {
        FiveTuple(src: ip(s), dst: ip(d), srcPort: sp, dstPort: dp, proto: .udp)
    }

    static let eth0: UInt32 = 2, cni0: UInt32 = 3, vethBackend: UInt32 = 10, vethClient: UInt32 = 11
    static let node1IP = "192.168.10.11", node2IP = "192.168.10.12", gw = "10.244.1.1"
    static let backend = "10.244.1.2", clientPod = "10.244.1.5", remoteBackend = "10.244.2.3", external = "203.0.113.10"

    static func ep(_ ip: String, _ port: UInt16, _ node: String) -> ServiceEndpoint {
        ServiceEndpoint(ip: Lab.ip(ip), port: port, nodeName: node)
    }

    static let services: [Service] = [
        Service(namespace: "default", name: "web", type: .clusterIP, clusterIP: ip("10.96.0.10"),
                ports: [ServicePort(name: "http", proto: .tcp, port: 80, endpoints: [ep(remoteBackend, 8080, "node2")])]),
        Service(namespace: "default", name: "nodeport", type: .nodePort, clusterIP: ip("10.96.0.20"),
                ports: [ServicePort(name: nil, proto: .tcp, port: 80, nodePort: 30080, endpoints: [ep(backend, 8080, "node1")])]),
        Service(namespace: "default", name: "local", type: .nodePort, clusterIP: ip("10.96.0.21"),
                ports: [ServicePort(name: nil, proto: .tcp, port: 80, nodePort: 30081, endpoints: [ep(backend, 8081, "node1")])],
                externalTrafficPolicy: .local),
        Service(namespace: "default", name: "remote-local", type: .nodePort, clusterIP: ip("10.96.0.22"),
                ports: [ServicePort(name: nil, proto: .tcp, port: 80, nodePort: 30082, endpoints: [ep(remoteBackend, 8082, "node2")])],
                externalTrafficPolicy: .local),
        Service(namespace: "default", name: "empty", type: .clusterIP, clusterIP: ip("10.96.0.30"),
                ports: [ServicePort(name: nil, proto: .tcp, port: 80, endpoints: [])]),
        Service(namespace: "kube-system", name: "dns", type: .clusterIP, clusterIP: ip("10.96.0.53"),
                ports: [ServicePort(name: "dns", proto: .udp, port: 53, endpoints: [ep("10.244.2.9", 53, "node2")])]),
        Service(namespace: "default", name: "self", type: .clusterIP, clusterIP: ip("10.96.0.40"),
                ports: [ServicePort(name: nil, proto: .tcp, port: 80, endpoints: [ep(clientPod, 9090, "node1")])]),
    ]

    static let context = NodeContext(
        node: "node1", interfaces: [eth0: "eth0", cni0: "cni0", vethBackend: "veth-backend", vethClient: "veth-client"],
        localAddresses: [ip(node1IP), ip(gw)], clusterCIDRs: [IPPrefix("10.244.0.0/16")!], nodeAddresses: [ip(node2IP)],
        catalog: ServiceCatalog(services: services), monotonicToUnixNs: 1_795_000_000_000_000_000)

    static let natBits = UInt32(SRCIP_IPS_SRC_NAT | SRCIP_IPS_DST_NAT | SRCIP_IPS_CONFIRMED)

    static func ct(_ id: UInt64, _ orig: FiveTuple, _ reply: FiveTuple, reply dir: Bool?) -> ConntrackMapping {
        var status = UInt32(SRCIP_IPS_CONFIRMED)
        if reply.dst != orig.src || reply.dstPort != orig.srcPort { status |= UInt32(SRCIP_IPS_SRC_NAT) }
        if reply.src != orig.dst || reply.srcPort != orig.dstPort { status |= UInt32(SRCIP_IPS_DST_NAT) }
        return ConntrackMapping(id: id, original: orig, reply: reply, status: status, packetIsReply: dir)
    }

    static func fp(_ seq: UInt32, _ ipid: UInt16 = 77) -> PacketFingerprint {
        PacketFingerprint(tcpSeq: seq, tcpAck: 0, tcpTSval: seq &* 3, ipID: ipid, length: 60)
    }

    static func obs(_ kind: ObservationKind, _ hook: Hook, _ ifindex: UInt32, _ tuple: FiveTuple, t: UInt64, first: UInt64? = nil,
                    packets: UInt64 = 1, flags: UInt8 = 0, ct: ConntrackMapping? = nil, join: JoinMethod = .conntrack,
                    fp: PacketFingerprint = PacketFingerprint(tcpSeq: 0, tcpAck: 0, tcpTSval: 0, ipID: 0, length: 0)) -> Observation {
        Observation(kind: kind, hook: hook, ifindex: ifindex, timestampNs: t, firstSeenNs: first ?? t, packets: packets,
                    bytes: packets * 100, tuple: tuple, tcpFlags: flags, join: join, conntrack: ct, fingerprint: fp)
    }

    /// A TCP connection through node1 as the BPF side reports it: request enters at `inIf` (nil: host-originated)
    /// and leaves at `outIf`; replies come back the other way; END at every hook. With `conntrack` false nothing
    /// carries a mapping and the first packet's fingerprint is the same at ingress and egress.
    static func tcpConnection(orig: FiveTuple, xlat: FiveTuple, inIf: UInt32?, outIf: UInt32?, ctID: UInt64,
                              conntrack: Bool = true, t0: UInt64 = 1_000_000, seq: UInt32 = 1000) -> [Observation] {
        let syn = TCPFlags.syn, synack = TCPFlags.syn | TCPFlags.ack, fin = TCPFlags.fin | TCPFlags.ack
        let replyTuple = xlat.reversed
        let join: JoinMethod = conntrack ? .conntrack : .fingerprint
        func m(_ dir: Bool) -> ConntrackMapping? { conntrack ? ct(ctID, orig, replyTuple, reply: dir) : nil }
        var out: [Observation] = []
        let first = fp(seq)
        if let inIf {
            out.append(obs(.new, .ingress, inIf, orig, t: t0, flags: syn, join: join, fp: first))
            if conntrack { out.append(obs(.nat, .ingress, inIf, orig, t: t0 + 300, first: t0, packets: 2, flags: syn | TCPFlags.ack, ct: m(false), fp: fp(seq + 1))) }
        }
        if let outIf {
            out.append(obs(.new, .egress, outIf, xlat, t: t0 + 10, flags: syn, ct: m(false), join: join, fp: first))
            out.append(obs(.new, .ingress, outIf, replyTuple, t: t0 + 100, flags: synack, ct: m(true), join: join, fp: fp(9000)))
        }
        if let inIf {
            out.append(obs(.new, .egress, inIf, orig.reversed, t: t0 + 110, flags: synack, ct: m(true), join: join, fp: fp(9000)))
            out.append(obs(.end, .ingress, inIf, orig, t: t0 + 5000, first: t0, packets: 6, flags: syn | fin, ct: m(false), join: join, fp: fp(seq + 50)))
        }
        if let outIf {
            out.append(obs(.end, .egress, outIf, xlat, t: t0 + 5010, first: t0 + 10, packets: 6, flags: syn | fin, ct: m(false), join: join, fp: fp(seq + 50)))
            out.append(obs(.end, .ingress, outIf, replyTuple, t: t0 + 5100, first: t0 + 100, packets: 5, flags: synack | fin, ct: m(true), join: join, fp: fp(9050)))
        }
        if let inIf {
            out.append(obs(.end, .egress, inIf, orig.reversed, t: t0 + 5110, first: t0 + 110, packets: 5, flags: synack | fin, ct: m(true), join: join, fp: fp(9050)))
        }
        return out
    }

    static func run(_ observations: [Observation], config: CorrelatorConfig = CorrelatorConfig()) -> ([FlowRecord], CorrelatorStats) {
        var c = FlowCorrelator(context: context, config: config)
        for o in observations { c.add(o) }
        let records = c.flush()
        return (records, c.stats)
    }
}
