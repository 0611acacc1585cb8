import Testing
@testable import SrcipCore

@Suite struct FingerprintIndexTests {
    /// Fingerprints that differ in one field at a time, so many share most of their bits.
    static func key(_ i: Int) -> FingerprintKey {
        let u = UInt32(truncatingIfNeeded: i)
        let fp = PacketFingerprint(tcpSeq: u % 5 == 0 ? 7 : u, tcpAck: u % 3, tcpTSval: u % 5 == 0 ? u : 0,
                                   ipID: UInt16(truncatingIfNeeded: i % 4), length: 40)
        return FingerprintKey(fp: fp, proto: i % 7 == 0 ? .udp : .tcp, v4: i % 2 == 0)
    }

    /// Random inserts, overwrites and removals agree with a Dictionary at every step (backward-shift removal must
    /// keep the entries behind a removed one reachable).
    @Test func agreesWithADictionaryUnderChurn() {
        var index = FingerprintIndex()
        var model: [FingerprintKey: Int32] = [:]
        var rng = SystemRandomNumberGenerator()
        for step in 0..<40_000 {
            let k = Self.key(Int.random(in: 0..<2_000, using: &rng))
            if Int.random(in: 0..<3, using: &rng) == 0 {
                index[k] = nil
                model[k] = nil
            } else {
                index[k] = Int32(step)
                model[k] = Int32(step)
            }
            if step % 89 == 0 {
                for i in 0..<2_000 { #expect(index[Self.key(i)] == model[Self.key(i)]) }
            }
        }
        #expect(index.count == model.count)
    }

    /// Keys equal in the packet fields but not in protocol or family are distinct entries.
    @Test func protocolAndFamilyArePartOfTheKey() {
        var index = FingerprintIndex()
        let fp = PacketFingerprint(tcpSeq: 1, tcpAck: 2, tcpTSval: 3, ipID: 4, length: 5)
        index[FingerprintKey(fp: fp, proto: .tcp, v4: true)] = 1
        index[FingerprintKey(fp: fp, proto: .udp, v4: true)] = 2
        index[FingerprintKey(fp: fp, proto: .tcp, v4: false)] = 3
        #expect(index.count == 3)
        #expect(index[FingerprintKey(fp: fp, proto: .tcp, v4: true)] == 1)
        #expect(index[FingerprintKey(fp: fp, proto: .udp, v4: true)] == 2)
        #expect(index[FingerprintKey(fp: fp, proto: .tcp, v4: false)] == 3)
        #expect(index[FingerprintKey(fp: fp, proto: .udp, v4: false)] == nil)
    }
}
