import CSrcipABI
import Foundation
import SrcipCore

/// The consumer's decode rate on one core, fed by a synthetic producer of realistic records.
enum DecodeBench {
    struct Result {
        var records: Int
        var seconds: Double
        var perSecond: Double { Double(records) / seconds }
    }

    /// Decodes `total` records from a pool of `distinct` synthetic ones laid out as the ring buffer holds them.
    static func run(total: Int = 4_000_000, distinct: Int = 65_536) -> Result {
        let size = MemoryLayout<srcip_record>.size
        var pool = [UInt8](repeating: 0, count: distinct * size)
        pool.withUnsafeMutableBytes { raw in
            for i in 0..<distinct {
                var rec = RecordDecoder.encode(synthetic(i))
                withUnsafeBytes(of: &rec) { raw.baseAddress!.advanced(by: i * size).copyMemory(from: $0.baseAddress!, byteCount: size) }
            }
        }
        var decoded = 0
        var checksum: UInt64 = 0
        let start = DispatchTime.now().uptimeNanoseconds
        pool.withUnsafeBytes { raw in
            var i = 0
            for _ in 0..<total {
                let off = i * size
                if let o = try? RecordDecoder.decode(UnsafeRawBufferPointer(rebasing: raw[off..<(off + size)])) {
                    checksum &+= o.packets &+ UInt64(o.tuple.srcPort)
                    decoded += 1
                }
                i = i + 1 == distinct ? 0 : i + 1
            }
        }
        let secs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        precondition(decoded == total && checksum != 0, "decoded \(decoded) of \(total) synthetic records")
        return Result(records: decoded, seconds: secs)
    }

    /// A conntrack-joined record of flow `i` (distinct tuples).
    static func synthetic(_ i: Int) -> Observation {
        let client = IPAddress.v4(0xCB00_7100 | UInt32(i & 0xff))
        let original = FiveTuple(src: client, dst: .v4(0xC0A8_0A0B), srcPort: UInt16(truncatingIfNeeded: 1024 + i),
                                 dstPort: 30080, proto: .tcp)
        let translated = FiveTuple(src: .v4(0xC0A8_0A0B), dst: .v4(0x0AF4_0102), srcPort: UInt16(truncatingIfNeeded: 40000 + i),
                                   dstPort: 8080, proto: .tcp)
        let ct = ConntrackMapping(id: UInt64(i) &* 0x9E37_79B9_7F4A_7C15, original: original, reply: translated.reversed,
                                  status: SRCIP_IPS_SRC_NAT | SRCIP_IPS_DST_NAT | SRCIP_IPS_CONFIRMED, packetIsReply: false)
        return Observation(kind: i % 3 == 0 ? .new : .nat, hook: i % 2 == 0 ? .ingress : .egress, ifindex: 2,
                           timestampNs: UInt64(i) * 1000, firstSeenNs: UInt64(i) * 1000, packets: UInt64(i % 50 + 1),
                           bytes: UInt64(i % 50 + 1) * 1500, tuple: original, tcpFlags: TCPFlags.syn, join: .conntrack,
                           conntrack: ct,
                           fingerprint: PacketFingerprint(tcpSeq: UInt32(truncatingIfNeeded: i), tcpAck: 0, tcpTSval: 0,
                                                          ipID: UInt16(truncatingIfNeeded: i), length: 60))
    }
}
