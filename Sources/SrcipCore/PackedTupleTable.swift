/// Open-addressing hash table from `PackedKey` to `Int32`, for the correlator's per-flow indexes: one
/// 20-byte bucket per entry (a `[FiveTuple: Int32]` bucket takes 52) and a load of up to 13/16 (Dictionary: 3/4).
/// Linear probing with backward-shift deletion (no tombstones). Tuples come from the network, so the hash is a
/// wide multiply of the key with a random per-table seed: probe sequences cannot be predicted from outside.
struct PackedTupleTable {
    private struct Bucket {
        /// `PackedKey.high`, upper and lower half.
        var src: UInt32
        var dst: UInt32
        /// `PackedKey.low` without its low byte.
        var ports: UInt32
        /// The low byte of `PackedKey.low`; 0 marks an empty bucket.
        var proto: UInt32
        var value: Int32
    }

    static let bytesPerBucket = MemoryLayout<Bucket>.stride

    private var buckets: [Bucket] = []
    private var mask = -1
    private(set) var count = 0
    private let seed0 = UInt64.random(in: .min ... .max)
    private let seed1 = UInt64.random(in: .min ... .max) | 1

    init() {}

    @inline(__always)
    private static func home(_ addresses: UInt64, _ rest: UInt64, _ seed0: UInt64, _ seed1: UInt64, _ mask: Int) -> Int {
        let m = (addresses ^ seed0).multipliedFullWidth(by: rest ^ seed1)
        return Int(truncatingIfNeeded: m.high ^ m.low) & mask
    }

    @inline(__always)
    private static func bucketKey(_ b: Bucket) -> (UInt64, UInt64) {
        (UInt64(b.src) << 32 | UInt64(b.dst), UInt64(b.ports) << 8 | UInt64(b.proto))
    }

    /// The bucket holding `k`, or nil.
    @inline(__always)
    private func find(_ k: PackedKey) -> Int? {
        guard count > 0 else { return nil }
        let src = UInt32(truncatingIfNeeded: k.high >> 32), dst = UInt32(truncatingIfNeeded: k.high)
        let ports = UInt32(truncatingIfNeeded: k.low >> 8), proto = UInt32(truncatingIfNeeded: k.low & 0xff)
        let mask = self.mask
        var i = PackedTupleTable.home(k.high, k.low, seed0, seed1, mask)
        return buckets.withUnsafeBufferPointer { b in
            while true {
                let e = b[i]
                if e.proto == 0 { return nil }
                if e.src == src, e.dst == dst, e.ports == ports, e.proto == proto { return i }
                i = (i + 1) & mask
            }
        }
    }

    subscript(k: PackedKey) -> Int32? {
        @inline(__always) get { find(k).map { buckets[$0].value } }
        set {
            if let v = newValue { insert(k, v) } else { remove(k) }
        }
    }

    private mutating func insert(_ k: PackedKey, _ v: Int32) {
        if let i = find(k) { buckets[i].value = v; return }
        if (count + 1) * 16 > buckets.count * 13 { grow() }
        place(Bucket(src: UInt32(truncatingIfNeeded: k.high >> 32), dst: UInt32(truncatingIfNeeded: k.high),
                     ports: UInt32(truncatingIfNeeded: k.low >> 8), proto: UInt32(truncatingIfNeeded: k.low & 0xff), value: v))
        count += 1
    }

    /// Puts a bucket known to be absent into the first free place of its probe sequence.
    private mutating func place(_ e: Bucket) {
        let (a, r) = PackedTupleTable.bucketKey(e)
        let mask = self.mask
        var i = PackedTupleTable.home(a, r, seed0, seed1, mask)
        buckets.withUnsafeMutableBufferPointer { b in
            while b[i].proto != 0 { i = (i + 1) & mask }
            b[i] = e
        }
    }

    private mutating func grow() {
        let old = buckets
        let size = Swift.max(64, old.count * 2)
        buckets = Array(repeating: Bucket(src: 0, dst: 0, ports: 0, proto: 0, value: 0), count: size)
        mask = size - 1
        for e in old where e.proto != 0 { place(e) }
    }

    private mutating func remove(_ k: PackedKey) {
        guard var hole = find(k) else { return }
        let mask = self.mask, s0 = seed0, s1 = seed1
        buckets.withUnsafeMutableBufferPointer { b in
            var j = hole
            while true {
                j = (j + 1) & mask
                if b[j].proto == 0 { break }
                let (a, r) = PackedTupleTable.bucketKey(b[j])
                let h = PackedTupleTable.home(a, r, s0, s1, mask)
                // Move b[j] back into the hole unless its home lies cyclically in (hole, j].
                let stays = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
                if !stays {
                    b[hole] = b[j]
                    hole = j
                }
            }
            b[hole].proto = 0
        }
        count -= 1
    }

    /// Maps every value through `f` (nil drops the entry) into buckets sized for what is left: after a flood the
    /// table gives its memory back.
    mutating func remapValues(_ f: (Int32) -> Int32?) {
        let old = buckets
        var size = 64
        while count * 16 > size * 13 / 2 { size *= 2 }
        buckets = count == 0 ? [] : Array(repeating: Bucket(src: 0, dst: 0, ports: 0, proto: 0, value: 0), count: size)
        mask = count == 0 ? -1 : size - 1
        count = 0
        for var e in old where e.proto != 0 {
            guard let v = f(e.value) else { continue }
            e.value = v
            place(e)
            count += 1
        }
    }
}
