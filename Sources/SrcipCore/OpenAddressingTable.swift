/// One bucket of an `OpenAddressingTable`: a key packed into plain integers, an `Int32` value and an empty state.
protocol OpenAddressingBucket {
    static var empty: Self { get }
    var isEmpty: Bool { get }
    var value: Int32 { get set }
    /// Whether `other` holds the same key.
    func hasKey(of other: Self) -> Bool
    /// The key as two words, for the hash.
    var hashWords: (UInt64, UInt64) { get }
}

/// Open-addressing hash table from packed keys to `Int32` for the correlator's per-flow indexes: linear probing
/// with backward-shift deletion (no tombstones) and a load of up to 13/16. Keys come from the network, so the hash
/// is seeded per table (`SeededWordHash`): probe sequences cannot be predicted from outside.
struct OpenAddressingTable<Bucket: OpenAddressingBucket> {
    private var buckets: [Bucket] = []
    private var mask = -1
    private(set) var count = 0
    private let hash = SeededWordHash()

    init() {}

    static var bytesPerBucket: Int { MemoryLayout<Bucket>.stride }

    @inline(__always)
    private static func home(_ b: Bucket, _ hash: SeededWordHash, _ mask: Int) -> Int {
        let (a, r) = b.hashWords
        return Int(truncatingIfNeeded: hash(a, r)) & mask
    }

    /// The bucket holding the key of `k`, or nil.
    @inline(__always)
    private func find(_ k: Bucket) -> Int? {
        guard count > 0 else { return nil }
        let mask = self.mask
        var i = Self.home(k, hash, mask)
        return buckets.withUnsafeBufferPointer { b in
            while true {
                let e = b[i]
                if e.isEmpty { return nil }
                if e.hasKey(of: k) { return i }
                i = (i + 1) & mask
            }
        }
    }

    /// The value stored under the key of `k`.
    @inline(__always)
    func value(_ k: Bucket) -> Int32? { find(k).map { buckets[$0].value } }

    /// Stores `e` (its key and value), replacing the value of an equal key.
    mutating func insert(_ e: Bucket) {
        if let i = find(e) { buckets[i].value = e.value; return }
        if (count + 1) * 16 > buckets.count * 13 { grow() }
        place(e)
        count += 1
    }

    /// Puts a bucket known to be absent into the first free place of its probe sequence.
    private mutating func place(_ e: Bucket) {
        let mask = self.mask
        var i = Self.home(e, hash, mask)
        buckets.withUnsafeMutableBufferPointer { b in
            while !b[i].isEmpty { i = (i + 1) & mask }
            b[i] = e
        }
    }

    private mutating func grow() {
        let old = buckets
        let size = Swift.max(64, old.count * 2)
        buckets = Array(repeating: .empty, count: size)
        mask = size - 1
        for e in old where !e.isEmpty { place(e) }
    }

    /// Removes the key of `k`.
    mutating func remove(_ k: Bucket) {
        guard var hole = find(k) else { return }
        let mask = self.mask, hash = self.hash
        buckets.withUnsafeMutableBufferPointer { b in
            var j = hole
            while true {
                j = (j + 1) & mask
                if b[j].isEmpty { break }
                let h = Self.home(b[j], hash, mask)
                // Move b[j] back into the hole unless its home lies cyclically in (hole, j].
                let stays = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
                if !stays {
                    b[hole] = b[j]
                    hole = j
                }
            }
            b[hole] = .empty
        }
        count -= 1
    }

    /// Maps every value through `f` (nil drops the entry) into buckets sized for what is left: after a flood the
    /// table gives its memory back.
    mutating func remapValues(_ f: (Int32) -> Int32?) {
        let old = buckets
        var size = 64
        while count * 16 > size * 13 / 2 { size *= 2 }
        buckets = count == 0 ? [] : Array(repeating: .empty, count: size)
        mask = count == 0 ? -1 : size - 1
        count = 0
        for var e in old where !e.isEmpty {
            guard let v = f(e.value) else { continue }
            e.value = v
            place(e)
            count += 1
        }
    }
}
