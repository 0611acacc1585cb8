/// A map from first-packet fingerprints to `Int32` (the correlator's fingerprint → slot index), 24 bytes a bucket in
/// an `OpenAddressingTable`. Every new flow without a conntrack entry looks its fingerprint up here.
struct FingerprintIndex {
    fileprivate struct Bucket: OpenAddressingBucket {
        /// TCP sequence and acknowledgement numbers.
        var seqAck: UInt64
        /// TCP TSval, IP id and length.
        var rest: UInt64
        /// Protocol and family, with bit 16 set: 0 marks an empty bucket.
        var tag: UInt32
        var value: Int32

        @inline(__always)
        init(_ k: FingerprintKey, _ value: Int32) {
            seqAck = UInt64(k.fp.tcpSeq) << 32 | UInt64(k.fp.tcpAck)
            rest = UInt64(k.fp.tcpTSval) << 32 | UInt64(k.fp.ipID) << 16 | UInt64(k.fp.length)
            tag = 1 << 16 | UInt32(k.proto.rawValue) << 8 | (k.v4 ? 1 : 0)
            self.value = value
        }

        private init() {
            seqAck = 0
            rest = 0
            tag = 0
            value = 0
        }

        static var empty: Bucket { Bucket() }
        var isEmpty: Bool { tag == 0 }

        @inline(__always)
        func hasKey(of o: Bucket) -> Bool { seqAck == o.seqAck && rest == o.rest && tag == o.tag }

        var hashWords: (UInt64, UInt64) { (seqAck, rest ^ UInt64(tag) << 40) }
    }

    private var table = OpenAddressingTable<Bucket>()

    var count: Int { table.count }

    subscript(k: FingerprintKey) -> Int32? {
        @inline(__always) get { table.value(Bucket(k, 0)) }
        set {
            if let v = newValue { table.insert(Bucket(k, v)) } else { table.remove(Bucket(k, 0)) }
        }
    }

    /// Maps every value through `f` (nil drops the entry), shrinking the storage to what is left.
    mutating func remapValues(_ f: (Int32) -> Int32?) { table.remapValues(f) }
}
