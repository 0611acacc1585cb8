import Testing
@testable import SrcipCore

@Suite struct TupleIndexTests {
    /// Tuples that share addresses and differ in ports, so many land near each other.
    static func tuple(_ i: Int, v6: Bool = false) -> FiveTuple {
        let u = UInt32(truncatingIfNeeded: i)
        let src: IPAddress = v6 ? .v6(0xfd00 << 48, UInt64(u % 7)) : .v4(0x0A00_0000 | (u % 7))
        let dst: IPAddress = v6 ? .v6(0xfd00 << 48, 1) : .v4(0xC0A8_0001)
        return FiveTuple(src: src, dst: dst, srcPort: UInt16(truncatingIfNeeded: i / 7), dstPort: 80,
                         proto: i % 3 == 0 ? .udp : .tcp)
    }

    /// Random inserts, overwrites and removals agree with a Dictionary at every step (probe chains are repaired
    /// by the backward-shift removal, or lookups behind a removed entry would fail).
    @Test func agreesWithADictionaryUnderChurn() {
        var index = TupleIndex()
        var model: [FiveTuple: Int32] = [:]
        var rng = SystemRandomNumberGenerator()
        for step in 0..<60_000 {
            let t = Self.tuple(Int.random(in: 0..<3_000, using: &rng), v6: step % 11 == 0)
            if Int.random(in: 0..<3, using: &rng) == 0 {
                index[t] = nil
                model[t] = nil
            } else {
                let v = Int32(step)
                index[t] = v
                model[t] = v
            }
            if step % 97 == 0 {
                for i in 0..<3_000 {
                    let probe = Self.tuple(i, v6: i % 2 == 0)
                    #expect(index[probe] == model[probe])
                }
            }
        }
        #expect(index.count == model.count)
    }

    @Test func keepsEveryEntryAcrossGrowth() {
        var index = TupleIndex()
        for i in 0..<20_000 { index[Self.tuple(i)] = Int32(i) }
        #expect(index.count == 20_000)
        #expect((0..<20_000).allSatisfy { index[Self.tuple($0)] == Int32($0) })
        for i in stride(from: 0, to: 20_000, by: 2) { index[Self.tuple(i)] = nil }
        #expect(index.count == 10_000)
        #expect((0..<20_000).allSatisfy { index[Self.tuple($0)] == ($0 % 2 == 0 ? nil : Int32($0)) })
    }

    /// Remapping keeps the mapped entries (IPv4 and IPv6), drops the others, shrinks, and the table still takes
    /// inserts and removals.
    @Test func remappingKeepsMappedEntriesAndShrinks() {
        var index = TupleIndex()
        for i in 0..<20_000 { index[Self.tuple(i, v6: i % 5 == 0)] = Int32(i) }
        index.remapValues { $0 % 10 == 3 || $0 % 10 == 5 ? $0 + 1 : nil }
        #expect(index.count == 4_000)
        #expect((0..<20_000).allSatisfy { i in
            index[Self.tuple(i, v6: i % 5 == 0)] == (i % 10 == 3 || i % 10 == 5 ? Int32(i + 1) : nil)
        })
        for i in 0..<20_000 where i % 10 == 7 { index[Self.tuple(i, v6: i % 5 == 0)] = 7 }
        for i in 0..<20_000 where i % 10 == 3 { index[Self.tuple(i, v6: i % 5 == 0)] = nil }
        #expect(index.count == 4_000)
        #expect((0..<20_000).allSatisfy { i in
            index[Self.tuple(i, v6: i % 5 == 0)] == (i % 10 == 7 ? 7 : i % 10 == 5 ? Int32(i + 1) : nil)
        })
        index.remapValues { _ in nil }
        #expect(index.count == 0 && index[Self.tuple(5)] == nil)
        index[Self.tuple(5)] = 1
        #expect(index[Self.tuple(5)] == 1)
    }

    /// The packed key keeps every field: tuples differing in one field only are different keys.
    @Test func packedKeysDistinguishEveryField() {
        let t = FiveTuple(src: .v4(0x0A00_0001), dst: .v4(0x0A00_0002), srcPort: 1000, dstPort: 80, proto: .tcp)
        var variants = [t]
        variants.append(FiveTuple(src: .v4(0x0A00_0002), dst: t.dst, srcPort: 1000, dstPort: 80, proto: .tcp))
        variants.append(FiveTuple(src: t.src, dst: .v4(0x0A00_0001), srcPort: 1000, dstPort: 80, proto: .tcp))
        variants.append(FiveTuple(src: t.src, dst: t.dst, srcPort: 80, dstPort: 1000, proto: .tcp))
        variants.append(FiveTuple(src: t.src, dst: t.dst, srcPort: 1000, dstPort: 80, proto: .udp))
        variants.append(FiveTuple(src: .v6(0, 0x0A00_0001), dst: .v6(0, 0x0A00_0002), srcPort: 1000, dstPort: 80, proto: .tcp))
        var index = TupleIndex()
        for (i, v) in variants.enumerated() { index[v] = Int32(i) }
        #expect(index.count == variants.count)
        for (i, v) in variants.enumerated() { #expect(index[v] == Int32(i)) }
        #expect(PackedKey(variants[5]) == nil)
    }

    @Test func conntrackIndexKeepsIDsApart() {
        var index = ConntrackIndex()
        let ids: [UInt64] = [0, 1, 2, 0xffff_ffff, 1 << 32, .max, .max - 1]
        for (i, id) in ids.enumerated() { index[id] = Int32(i) }
        for (i, id) in ids.enumerated() { #expect(index[id] == Int32(i)) }
        index[1 << 32] = nil
        #expect(index[1 << 32] == nil && index[.max] == 5 && index.count == ids.count - 1)
    }
}
