/// The correlator's degradation mode under a flood of new flows (issue 13): past `limit` new flows per second (of
/// observation time), only 1 in `divisor` new flows is traced; the others are refused before they cost a slot, index
/// entries or a record, and are counted. The node's datapath never waits for srcip: what srcip cannot afford is left
/// out and reported (exit summary, JSON summary, `--metrics`).
///
/// The choice is a hash of the flow's original tuple (the conntrack original tuple, else the request tuple), so every
/// view of one connection (ingress before NAT, egress after it, replies, END) gets the same answer. `divisor` is a
/// power of two: it doubles within a second once more than `limit × divisor` new flows came, and is set each second
/// from the previous second's count; the flows admitted at a larger divisor are a subset of those at a smaller one.
/// While sampling, and for `lingerNs` after, a record that cannot start a flow (END, EXPIRED, a reply without
/// conntrack) and matches no live flow belongs to a refused flow and is refused too.
public struct NewFlowSampler: Sendable {
    /// New flows per second traced in full; 0: no limit.
    public let limit: Int
    /// How long after the last sampled second leftovers of refused flows are still refused.
    public let lingerNs: UInt64
    /// 1 in `divisor` new flows is traced now (1: all).
    public private(set) var divisor: UInt64 = 1
    /// The largest divisor used so far.
    public private(set) var maxDivisor: UInt64 = 1
    /// Connections refused (counted once per original tuple while it is remembered; see `recent`).
    public private(set) var flowsRefused: UInt64 = 0
    /// Records of refused connections (every view, reply and END).
    public private(set) var recordsRefused: UInt64 = 0

    private var second: UInt64 = 0
    private var offered = 0
    private var sampledUntilNs: UInt64 = 0
    /// Hashes of recently refused original tuples, direct-mapped: a connection's views arrive microseconds apart,
    /// so its later views find its hash here and it is counted once.
    private var recent: [Int] = []
    private static let recentSlots = 1 << 16
    /// Seeded: tuples come from the network, so which ones are traced cannot be predicted from outside.
    private let wordHash = SeededWordHash()

    public init(limit: Int, lingerNs: UInt64) {
        self.limit = max(0, limit)
        self.lingerNs = lingerNs
    }

    /// Whether sampling is on, or was on within `lingerNs` of `nowNs`.
    public func isSampling(atNs nowNs: UInt64) -> Bool { limit > 0 && (divisor > 1 || nowNs <= sampledUntilNs) }

    /// Decides for a record that would start a new flow. `original` identifies the connection; `canStart` is false for
    /// records that cannot start one (END, EXPIRED, a reply without conntrack): refused while sampling.
    public mutating func admit(original: FiveTuple, canStart: Bool, nowNs: UInt64) -> Bool {
        guard limit > 0 else { return true }
        advance(toNs: nowNs)
        let sampling = isSampling(atNs: nowNs)
        guard sampling || !recent.isEmpty else {
            offered += 1
            escalate()
            return true
        }
        let h = hash(original)
        let i = Int(UInt(bitPattern: h) & UInt(Self.recentSlots - 1))
        if !sampling || canStart && passes(h) {
            offered += 1
            escalate()
            // A connection traced from now on is live: its later views must not be refused as leftovers of a refused one.
            if !recent.isEmpty, recent[i] == h { recent[i] = 0 }
            return true
        }
        recordsRefused += 1
        guard canStart else { return false }
        if recent.isEmpty { recent = [Int](repeating: 0, count: Self.recentSlots) }
        if recent[i] != h {
            recent[i] = h
            flowsRefused += 1
            offered += 1
            escalate()
        }
        return false
    }

    /// A later record of a connection refused moments ago (its original tuple is in `recent` and would be refused
    /// again): refused and counted like `admit` would, decided before the caller looks for a live flow. Valid because a
    /// connection in `recent` was refused matching no live flow, and every connection admitted since was taken out of
    /// `recent` (`admit`, `forget`). False when this shortcut cannot decide (then call `admit` as usual).
    public mutating func refusesAgain(original: FiveTuple, canStart: Bool, nowNs: UInt64) -> Bool {
        guard limit > 0, !recent.isEmpty else { return false }
        advance(toNs: nowNs)
        guard isSampling(atNs: nowNs) else { return false }
        let h = hash(original)
        guard !(canStart && passes(h)), recent[Int(UInt(bitPattern: h) & UInt(Self.recentSlots - 1))] == h else { return false }
        recordsRefused += 1
        return true
    }

    /// A connection traced without `admit` (joined to a traced view by other means): no longer a refused one.
    public mutating func forget(original: FiveTuple) {
        guard !recent.isEmpty else { return }
        let h = hash(original)
        let i = Int(UInt(bitPattern: h) & UInt(Self.recentSlots - 1))
        if recent[i] == h { recent[i] = 0 }
    }

    /// Starts a new second of observation time: the divisor follows the previous second's new flows.
    @inline(__always)
    private mutating func advance(toNs nowNs: UInt64) {
        let s = nowNs / 1_000_000_000
        if s != second {
            divisor = s == second &+ 1 ? Self.powerOfTwo(atLeast: (offered + limit - 1) / limit) : 1
            second = s
            offered = 0
        }
        maxDivisor = max(maxDivisor, divisor)
        if divisor > 1 { sampledUntilNs = nowNs &+ lingerNs }
    }

    /// Whether a connection with hash `h` is traced at the current divisor.
    @inline(__always)
    private func passes(_ h: Int) -> Bool { UInt64(UInt(bitPattern: h) >> 7) % divisor == 0 }

    /// The connection's hash: `SeededWordHash` of the packed IPv4 tuple (the standard library's seeded SipHash for
    /// IPv6). Never 0, which marks an empty `recent` slot.
    @inline(__always)
    func hash(_ t: FiveTuple) -> Int {
        let h: Int
        if let k = PackedKey(t) {
            h = Int(bitPattern: UInt(wordHash(k.high, k.low)))
        } else {
            h = t.hashValue
        }
        return h == 0 ? 1 : h
    }

    /// More than `limit` flows per second at the current divisor: halve the share traced, from now on.
    private mutating func escalate() {
        guard offered > limit &* Int(divisor) else { return }
        divisor *= 2
        maxDivisor = max(maxDivisor, divisor)
    }

    static func powerOfTwo(atLeast n: Int) -> UInt64 {
        var p: UInt64 = 1
        while p < UInt64(max(n, 1)) { p *= 2 }
        return p
    }
}
