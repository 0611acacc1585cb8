/// A map from first-packet fingerprints to `Int32` (the correlator's fingerprint → slot index): open addressing with
/// linear probing and backward-shift deletion, like `PackedTupleTable`, 24 bytes a bucket. Every new flow without a
/// conntrack entry looks its fingerprint up here, so the hash is a wide multiply with a random per-table seed (a
/// few ns, where `Dictionary`'s SipHash cost more than the lookup's cache miss): fingerprints come from the network,
/// so probe sequences cannot be predicted from outside.
struct FingerprintIndex {
    private struct Bucket {
        /// TCP sequence and acknowledgement numbers.
        var seqAck: UInt64
        /// TCP TSval, IP id and length.
        var rest: UInt64
        /// Protocol and family, with bit 16 set: 0 marks an empty bucket.
        var tag: UInt32
        var value: Int32
    }

    private var buckets: [Bucket] = []
    private var mask = -1
    private(set) var count = 0
    private let seed0 = UInt64.random(in: .min ... .max)
    private let seed1 = UInt64.random(in: .min ... .max) | 1

    init() {}

    @inline(__always)
    private static func bucket(_ k: FingerprintKey, _ value: Int32) -> Bucket {
        Bucket(seqAck: UInt64(k.fp.tcpSeq) << 32 | UInt64(k.fp.tcpAck),
               rest: UInt64(k.fp.tcpTSval) << 32 | UInt64(k.fp.ipID) << 16 | UInt64(k.fp.length),
               tag: 1 << 16 | UInt32(k.proto.rawValue) << 8 | (k.v4 ? 1 : 0), value: value)
    }

    @inline(__always)
    private static func home(_ b: Bucket, _ seed0: UInt64, _ seed1: UInt64, _ mask: Int) -> Int {
        let m = (b.seqAck ^ seed0).multipliedFullWidth(by: (b.rest ^ UInt64(b.tag) << 40) ^ seed1)
        return Int(truncatingIfNeeded: m.high ^ m.low) & mask
    }

    /// The bucket holding `k`, or nil.
    @inline(__always)
    private func find(_ k: Bucket) -> Int? {
        guard count > 0 else { return nil }
        let mask = self.mask
        var i = Self.home(k, seed0, seed1, mask)
        return buckets.withUnsafeBufferPointer { b in
            while true {
                let e = b[i]
                if e.tag == 0 { return nil }
                if e.seqAck == k.seqAck, e.rest == k.rest, e.tag == k.tag { return i }
                i = (i + 1) & mask
            }
        }
    }

    subscript(k: FingerprintKey) -> Int32? {
        @inline(__always) get { find(Self.bucket(k, 0)).map { buckets[$0].value } }
        set {
            let b = Self.bucket(k, newValue ?? 0)
            if newValue != nil { insert(b) } else { remove(b) }
        }
    }

    private mutating func insert(_ e: Bucket) {
        if let i = find(e) { buckets[i].value = e.value; return }
        if (count + 1) * 16 > buckets.count * 13 { grow() }
        place(e)
        count += 1
    }

    /// Puts a bucket known to be absent into the first free place of its probe sequence.
    private mutating func place(_ e: Bucket) {
        let mask = self.mask
        var i = Self.home(e, seed0, seed1, mask)
        buckets.withUnsafeMutableBufferPointer { b in
            while b[i].tag != 0 { i = (i + 1) & mask }
            b[i] = e
        }
    }

    private mutating func grow() {
        let old = buckets
        let size = Swift.max(64, old.count * 2)
        buckets = Array(repeating: Bucket(seqAck: 0, rest: 0, tag: 0, value: 0), count: size)
        mask = size - 1
        for e in old where e.tag != 0 { place(e) }
    }

    private mutating func remove(_ k: Bucket) {
        guard var hole = find(k) else { return }
        let mask = self.mask, s0 = seed0, s1 = seed1
        buckets.withUnsafeMutableBufferPointer { b in
            var j = hole
            while true {
                j = (j + 1) & mask
                if b[j].tag == 0 { break }
                let h = Self.home(b[j], s0, s1, mask)
                // Move b[j] back into the hole unless its home lies cyclically in (hole, j].
                let stays = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
                if !stays {
                    b[hole] = b[j]
                    hole = j
                }
            }
            b[hole].tag = 0
        }
        count -= 1
    }

    /// Maps every value through `f` (nil drops the entry) into buckets sized for what is left.
    mutating func remapValues(_ f: (Int32) -> Int32?) {
        let old = buckets
        var size = 64
        while count * 16 > size * 13 / 2 { size *= 2 }
        buckets = count == 0 ? [] : Array(repeating: Bucket(seqAck: 0, rest: 0, tag: 0, value: 0), count: size)
        mask = count == 0 ? -1 : size - 1
        count = 0
        for var e in old where e.tag != 0 {
            guard let v = f(e.value) else { continue }
            e.value = v
            place(e)
            count += 1
        }
    }
}
