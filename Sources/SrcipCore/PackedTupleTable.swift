/// Hash table from `PackedKey` to `Int32`, for the correlator's per-flow indexes: one 20-byte bucket per entry (a
/// `[FiveTuple: Int32]` bucket takes 52) in an `OpenAddressingTable`.
struct PackedTupleTable {
    fileprivate struct Bucket: OpenAddressingBucket {
        /// `PackedKey.high`, upper and lower half.
        var src: UInt32
        var dst: UInt32
        /// `PackedKey.low` without its low byte.
        var ports: UInt32
        /// The low byte of `PackedKey.low`; 0 marks an empty bucket.
        var proto: UInt32
        var value: Int32

        @inline(__always)
        init(_ k: PackedKey, _ value: Int32) {
            src = UInt32(truncatingIfNeeded: k.high >> 32)
            dst = UInt32(truncatingIfNeeded: k.high)
            ports = UInt32(truncatingIfNeeded: k.low >> 8)
            proto = UInt32(truncatingIfNeeded: k.low & 0xff)
            self.value = value
        }

        static var empty: Bucket { Bucket(PackedKey(high: 0, low: 0), 0) }
        var isEmpty: Bool { proto == 0 }

        @inline(__always)
        func hasKey(of o: Bucket) -> Bool { src == o.src && dst == o.dst && ports == o.ports && proto == o.proto }

        var hashWords: (UInt64, UInt64) { (UInt64(src) << 32 | UInt64(dst), UInt64(ports) << 8 | UInt64(proto)) }
    }

    private var table = OpenAddressingTable<Bucket>()

    static let bytesPerBucket = OpenAddressingTable<Bucket>.bytesPerBucket

    var count: Int { table.count }

    subscript(k: PackedKey) -> Int32? {
        @inline(__always) get { table.value(Bucket(k, 0)) }
        set {
            if let v = newValue { table.insert(Bucket(k, v)) } else { table.remove(Bucket(k, 0)) }
        }
    }

    /// Maps every value through `f` (nil drops the entry), shrinking the storage to what is left.
    mutating func remapValues(_ f: (Int32) -> Int32?) { table.remapValues(f) }
}
