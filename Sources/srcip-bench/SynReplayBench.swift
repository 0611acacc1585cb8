import CSrcipABI
import Glibc
import SrcipCore
import SrcipExport

/// The trace consumer's CPU per SYN under a SYN flood with random sources, without the kernel and without other
/// processes' noise: the three ring-buffer records the side-by-side lab's router writes per SYN (the SYN at the client
/// interface before conntrack, the SYN after DNAT + SNAT with its conntrack entry, the server's SYN-ACK), encoded as
/// `struct srcip_record`, then decoded, correlated (`--max-new-flows` as given) and the flows written as JSON lines —
/// timed on the thread's CPU clock, record generation excluded.
enum SynReplayBench {
    struct Result {
        var syns: Int
        /// While the records were fed (what the side-by-side bench's window sees).
        var cpuSeconds: Double
        /// Writing the flows still open at the end.
        var flushSeconds = 0.0
        var flowsWritten: Int
        var sampledOut: UInt64
        var usPerSyn: Double { cpuSeconds * 1e6 / Double(max(syns, 1)) }
    }

    static let clientIf: UInt32 = 2, serverIf: UInt32 = 3
    static let vip = IPAddress.v4(0x0A4D_0909), server = IPAddress.v4(0x0A4D_0202)   // 10.77.9.9, 10.77.2.2

    static func run(syns: Int, synsPerSecond: Int, maxNewFlows: Int) -> Result {
        var config = CorrelatorConfig(idleTimeoutNs: 32_000_000_000)
        config.closeLingerNs = 1_000_000_000
        config.maxNewFlowsPerSecond = maxNewFlows
        var correlator = FlowCorrelator(context: NodeContext(node: "router", interfaces: [clientIf: "c", serverIf: "s"]),
                                        config: config)
        var rng = SystemRandomNumberGenerator()
        let spacing = 1_000_000_000 / UInt64(max(synsPerSecond, 1))
        var records = [srcip_record](repeating: srcip_record(), count: 1023)
        var result = Result(syns: syns, cpuSeconds: 0, flowsWritten: 0, sampledOut: 0)
        var bytes = 0
        var i = 0
        while i < syns {
            let n = min(records.count / 3, syns - i)
            for k in 0..<n {
                let s = i + k
                let t = 1_000_000_000 + UInt64(s) * spacing
                // Source ports count up (hping3); SNAT keeps them, so a pool address and port are unique for 64 × 65,536 SYNs
                // (conntrack never gives two live connections one reply tuple).
                let client = FiveTuple(src: .v4(rng.next()), dst: vip, srcPort: UInt16(truncatingIfNeeded: s),
                                       dstPort: 80, proto: .tcp)
                let pool = IPAddress.v4(0x0A4D_0A01 + UInt32((s >> 16) & 63))
                let reply = FiveTuple(src: server, dst: pool, srcPort: 8080, dstPort: client.srcPort, proto: .tcp)
                let ct = ConntrackMapping(id: UInt64(s) &* 0x9E37_79B9 | 1, original: client, reply: reply,
                                          status: UInt32(SRCIP_IPS_SRC_NAT | SRCIP_IPS_DST_NAT), packetIsReply: false)
                var replyCt = ct
                replyCt.packetIsReply = true
                let fp = PacketFingerprint(tcpSeq: rng.next(), tcpAck: 0, tcpTSval: 0, ipID: 0, length: 40)
                func obs(_ hook: Hook, _ ifindex: UInt32, _ tuple: FiveTuple, _ flags: UInt8, _ ct: ConntrackMapping?,
                         _ dt: UInt64) -> srcip_record {
                    RecordDecoder.encode(Observation(kind: .new, hook: hook, ifindex: ifindex, timestampNs: t + dt,
                                                     firstSeenNs: t + dt, packets: 1, bytes: 54, tuple: tuple, tcpFlags: flags,
                                                     join: .conntrack, conntrack: ct, fingerprint: fp))
                }
                records[3 * k] = obs(.ingress, clientIf, client, TCPFlags.syn, nil, 0)
                records[3 * k + 1] = obs(.egress, serverIf, ct.translated, TCPFlags.syn, ct, 20_000)
                records[3 * k + 2] = obs(.ingress, serverIf, reply, TCPFlags.syn | TCPFlags.ack, replyCt, 60_000)
            }
            let c0 = threadCPUSeconds()
            records.withUnsafeBytes { raw in
                let size = MemoryLayout<srcip_record>.stride
                for r in 0..<(3 * n) {
                    guard let o = try? RecordDecoder.decode(UnsafeRawBufferPointer(rebasing: raw[(r * size)..<(r * size + size)]))
                    else { continue }
                    correlator.add(o)
                }
            }
            for f in correlator.drainFinished() { bytes += f.jsonLine().utf8.count; result.flowsWritten += 1 }
            result.cpuSeconds += threadCPUSeconds() - c0
            i += n
        }
        let c0 = threadCPUSeconds()
        for f in correlator.flush() { bytes += f.jsonLine().utf8.count; result.flowsWritten += 1 }
        result.flushSeconds = threadCPUSeconds() - c0
        result.sampledOut = correlator.stats.newFlowsSampledOut
        precondition(bytes > 0 || result.flowsWritten == 0)
        return result
    }

    static func threadCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
