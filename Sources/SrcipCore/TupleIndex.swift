/// A 128-bit key of the correlator's maps: an IPv4 five-tuple packed into 16 bytes (`FiveTuple` takes 48), or a
/// conntrack id. `low` uses at most 40 bits and its low byte is never 0 (`PackedTupleTable` marks empty buckets so).
struct PackedKey: Hashable {
    var high: UInt64
    var low: UInt64

    /// An IPv4 tuple: addresses in `high` (source in the upper half), ports and protocol in `low`. Nil unless both
    /// addresses are IPv4.
    @inline(__always)
    init?(_ t: FiveTuple) {
        guard case .v4(let s) = t.src, case .v4(let d) = t.dst else { return nil }
        high = UInt64(s) << 32 | UInt64(d)
        low = UInt64(t.srcPort) << 24 | UInt64(t.dstPort) << 8 | UInt64(t.proto.rawValue)
    }

    /// A conntrack id.
    @inline(__always)
    init(conntrackID id: UInt64) {
        high = id
        low = 1
    }

    @inline(__always)
    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    func hash(into h: inout Hasher) {
        h.combine(high)
        h.combine(low)
    }
}

/// A map from flow tuples to `Int32` (the correlator's tuple → slot index): IPv4 tuples in a `PackedTupleTable` (20 bytes a bucket), others in a
/// dictionary.
struct TupleIndex {
    private var v4 = PackedTupleTable()
    private var other: [FiveTuple: Int32] = [:]

    subscript(t: FiveTuple) -> Int32? {
        @inline(__always) get {
            if let k = PackedKey(t) { return v4[k] }
            return other[t]
        }
        set {
            if let k = PackedKey(t) { v4[k] = newValue } else { other[t] = newValue }
        }
    }

    var count: Int { v4.count + other.count }

    /// Maps every slot through `f` (nil drops the entry), shrinking the storage to what is left.
    mutating func remapValues(_ f: (Int32) -> Int32?) {
        v4.remapValues(f)
        other = other.compactMapValues(f)
    }

    /// Bytes of one bucket (for memory estimates).
    static let bytesPerBucket = PackedTupleTable.bytesPerBucket
}

/// A map from conntrack ids to `Int32` (the correlator's conntrack id → slot index), in a `PackedTupleTable`.
struct ConntrackIndex {
    private var table = PackedTupleTable()

    subscript(id: UInt64) -> Int32? {
        @inline(__always) get { table[PackedKey(conntrackID: id)] }
        set { table[PackedKey(conntrackID: id)] = newValue }
    }

    var count: Int { table.count }

    /// Maps every slot through `f` (nil drops the entry), shrinking the storage to what is left.
    mutating func remapValues(_ f: (Int32) -> Int32?) { table.remapValues(f) }
}
