import SrcipCore
import SrcipTestbed
import Testing
@testable import SrcipKernel

/// The verifier's cost of the programs: every start of srcip pays it in kernel CPU, and a program past the verifier's
/// budget of 1,000,000 processed instructions does not load at all. With `emit`, `handshake_flow` and `cache_fill` as
/// static subprograms (walked once per caller state) the conntrack programs took 488,045 and 658,915 and ~2 s each.
@Suite("Verifier budget", .privileged)
struct VerifierBudgetTests {
    @Test("each packet program stays under a quarter of the verifier's budget, in every flavour and read mode",
          arguments: [(false, true), (false, false), (true, nil)] as [(Bool, Bool?)])
    func underAQuarterOfTheBudget(fingerprint: Bool, directReads: Bool?) throws {
        var o = LoadOptions()
        o.forceFingerprint = fingerprint
        o.conntrackDirectReads = directReads
        o.verifierStatistics = true
        o.ringBufferBytes = 1 << 18
        o.flowCapacity = 1024
        let obj = try BPFObject(options: o)
        let packetPrograms = Hook.allCases.map { obj.programName($0) }
        let stats = obj.verifierStatistics.filter { packetPrograms.contains($0.program) }
        #expect(Set(stats.map(\.program)) == Set(packetPrograms), "statistics for \(obj.verifierStatistics.map(\.program))")
        for s in stats {
            #expect(s.instructionsProcessed > 1_000, "\(s.program): a log without the real count? \(s)")
            #expect(s.instructionsProcessed < 250_000, "\(s.program): \(s.instructionsProcessed) instructions processed")
        }
    }
}

@Suite("Verifier statistics log")
struct VerifierStatisticsLogTests {
    @Test("the statistics line is parsed, and a log without it is nil")
    func parsesTheStatisticsLog() {
        let log = "verification time 180624 usec\nstack depth 264+168+80\nprocessed 68548 insns (limit 1000000) max_states_per_insn 16\n"
        #expect(VerifierStatistics(program: "p", log: log) == VerifierStatistics(program: "p", instructionsProcessed: 68548, verificationMicroseconds: 180624))
        #expect(VerifierStatistics(program: "p", log: "") == nil)
        #expect(VerifierStatistics(program: "p", log: "processed 12 insns") == nil)
    }
}
