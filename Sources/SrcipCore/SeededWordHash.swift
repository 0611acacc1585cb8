/// A hash of two 64-bit words for keys that come from the network (flow tuples): a wide multiply with random
/// per-instance seeds. A few ns, where the standard library's SipHash costs more than a table lookup's cache miss,
/// and which keys collide, or are picked by a sampler, cannot be predicted from outside.
struct SeededWordHash: Sendable {
    private let seed0 = UInt64.random(in: .min ... .max)
    private let seed1 = UInt64.random(in: .min ... .max) | 1

    @inline(__always)
    func callAsFunction(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let m = (a ^ seed0).multipliedFullWidth(by: b ^ seed1)
        return m.high ^ m.low
    }
}
