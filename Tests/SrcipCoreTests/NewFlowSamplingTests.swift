import Testing
@testable import SrcipCore

/// Past `maxNewFlowsPerSecond` the correlator traces a sample of new flows, whole (every view of a traced connection,
/// none of a refused one), and counts the rest exactly.
@Suite struct NewFlowSamplingTests {
    typealias L = Lab
    static let second: UInt64 = 1_000_000_000

    /// `n` NodePort connections (external client → node1:30080 → backend:8080), `spacing` ns apart from `start`.
    static func connections(_ n: Int, conntrack: Bool, start: UInt64 = second, spacing: UInt64 = 200_000) -> [Observation] {
        (0..<n).flatMap { i in
            let port = UInt16(1024 + i)
            return L.tcpConnection(orig: L.tcp(L.external, port, L.node1IP, 30080), xlat: L.tcp(L.gw, port, L.backend, 8080),
                                   inIf: L.eth0, outIf: L.vethBackend, ctID: UInt64(100 + i), conntrack: conntrack,
                                   t0: start + UInt64(i) * spacing, seq: UInt32(1000 + i * 100))
        }
    }

    static func config(limit: Int) -> CorrelatorConfig {
        var c = CorrelatorConfig()
        c.maxNewFlowsPerSecond = limit
        return c
    }

    @Test(arguments: [true, false])
    func aFloodIsSampledWholeAndCountedExactly(conntrack: Bool) {
        let observations = Self.connections(4000, conntrack: conntrack)   // 4,000 in 0.8 s, limit 500 per second
        let (records, stats) = L.run(observations, config: Self.config(limit: 500))
        #expect(records.count + Int(stats.newFlowsSampledOut) == 4000)
        #expect(records.count >= 500 && records.count < 2000, "traced \(records.count)")
        #expect(stats.samplingDivisorMax >= 4)
        // Every record of a refused connection is dropped: 9 per connection with conntrack, 8 without (no NAT record).
        #expect(stats.recordsSampledOut == stats.newFlowsSampledOut * (conntrack ? 9 : 8))
        #expect(stats.unmatchedReplies == 0, "no reply of a refused connection starts a flow of its own")
        for r in records {
            #expect(r.inInterface == "eth0" && r.outInterface == "veth-backend" && r.translated != nil && r.replyPackets > 0,
                    "a traced connection keeps all its views: \(r.original)")
        }
        // The first 500 of the second are traced in full, before the limit is reached.
        let ports = Set(records.map(\.original.srcPort))
        #expect((1024..<1524).allSatisfy { ports.contains(UInt16($0)) })
    }

    @Test func belowTheLimitEveryFlowIsTraced() {
        let (records, stats) = L.run(Self.connections(400, conntrack: true), config: Self.config(limit: 500))
        #expect(records.count == 400)
        #expect(stats.newFlowsSampledOut == 0 && stats.recordsSampledOut == 0 && stats.samplingDivisorMax == 1)
    }

    @Test func noLimitMeansNoSampling() {
        let (records, stats) = L.run(Self.connections(4000, conntrack: true), config: Self.config(limit: 0))
        #expect(records.count == 4000)
        #expect(stats.newFlowsSampledOut == 0)
    }

    @Test func theDivisorFollowsThePreviousSecondAndFallsBackAfterTheFlood() {
        var s = NewFlowSampler(limit: 100, lingerNs: 10 * Self.second)
        func tuple(_ i: Int) -> FiveTuple { L.tcp("198.51.100.\(i % 250)", UInt16(1024 + i / 250), L.node1IP, 30080) }
        // Second 1: 800 new flows.
        var admitted = 0
        for i in 0..<800 where s.admit(original: tuple(i), canStart: true, nowNs: Self.second + UInt64(i) * 1000) { admitted += 1 }
        #expect(s.divisor == 8 && admitted < 400 && admitted >= 100)
        // Second 2 (700 new flows) starts at 1 in 8 (800 / 100): a connection's later views get its first view's answer, counted once.
        var decisions: [Bool] = []
        let refusedBefore = s.flowsRefused
        for i in 800..<1500 {
            let first = s.admit(original: tuple(i), canStart: true, nowNs: 2 * Self.second + UInt64(i) * 1000)
            let second = s.admit(original: tuple(i), canStart: true, nowNs: 2 * Self.second + UInt64(i) * 1000 + 10)
            #expect(first == second)
            decisions.append(first)
        }
        #expect(s.flowsRefused - refusedBefore == UInt64(decisions.filter { !$0 }.count), "each refused connection counted once")
        #expect(decisions.filter { $0 }.count < 200)
        // Second 4 (a quiet second 3): all traced again, but an END of an unknown (refused) connection is still refused
        // within the linger, and taken once it has passed.
        let newFlow = s.admit(original: tuple(5000), canStart: true, nowNs: 4 * Self.second)
        #expect(newFlow && s.divisor == 1)
        let endWithinLinger = s.admit(original: tuple(5001), canStart: false, nowNs: 4 * Self.second + 1)
        #expect(!endWithinLinger)
        let endAfterLinger = s.admit(original: tuple(5002), canStart: false, nowNs: 20 * Self.second)
        #expect(endAfterLinger)
        #expect(!s.isSampling(atNs: 20 * Self.second))
    }

    /// A later record of a refused connection is refused before any lookup of live flows, counted like `admit` counts
    /// it; a connection traced (also one traced after its tuple was refused, once the flood eased) never is.
    @Test func laterRecordsOfARefusedConnectionAreRefusedEarly() {
        var s = NewFlowSampler(limit: 100, lingerNs: 10 * Self.second)
        func tuple(_ i: Int) -> FiveTuple { L.tcp("198.51.100.\(i % 250)", UInt16(1024 + i / 250), L.node1IP, 30080) }
        for i in 0..<800 { _ = s.admit(original: tuple(i), canStart: true, nowNs: Self.second + UInt64(i) * 1000) }
        let t = 2 * Self.second
        var refused: [Int] = [], traced: [Int] = []
        for i in 800..<1100 {
            if s.admit(original: tuple(i), canStart: true, nowNs: t) { traced.append(i) } else { refused.append(i) }
        }
        #expect(!refused.isEmpty && !traced.isEmpty)
        // `recent` is direct-mapped: a connection whose slot a later one took is left to `admit` (no shortcut).
        let recordsBefore = s.recordsRefused, flowsBefore = s.flowsRefused
        var early = 0
        for i in refused where s.refusesAgain(original: tuple(i), canStart: true, nowNs: t + 1) {
            early += 1
            let end = s.refusesAgain(original: tuple(i), canStart: false, nowNs: t + 2)
            #expect(end)
        }
        #expect(early >= refused.count * 9 / 10, "\(early) of \(refused.count)")
        #expect(s.recordsRefused - recordsBefore == UInt64(2 * early) && s.flowsRefused == flowsBefore)
        for i in traced {
            let again = s.refusesAgain(original: tuple(i), canStart: false, nowNs: t + 3)
            #expect(!again)
        }
        let unseen = s.refusesAgain(original: tuple(5000), canStart: true, nowNs: t + 4)
        #expect(!unseen, "never seen: left to admit")
        // Second 4, after a quiet second 3: no sampling; a refused tuple reused by a new, traced connection is live.
        guard let reused = refused.first(where: { s.refusesAgain(original: tuple($0), canStart: false, nowNs: t + 5) }) else {
            Issue.record("no refused connection left in recent")
            return
        }
        let traced4 = s.admit(original: tuple(reused), canStart: true, nowNs: 4 * Self.second)
        #expect(traced4 && s.divisor == 1)
        let endOfTraced = s.refusesAgain(original: tuple(reused), canStart: false, nowNs: 4 * Self.second + 1)
        #expect(!endOfTraced)
    }
}
