import SrcipCore
import SrcipKernel
import SrcipTestbed

/// Established-flow cost per program with BPF_PROG_TEST_RUN: the kernel's own average over a million runs,
/// without the two clock reads that BPF run-time statistics add to every run.
enum MicroBench {
    struct Row {
        var flavour: String
        var hook: Hook
        var packet: String
        var nsPerPacket: UInt32
    }

    /// The rows, and what the verifier reported for every program loaded (both flavours).
    static func run(repeatCount: UInt32 = 1_000_000) throws -> (rows: [Row], verifier: [VerifierStatistics]) {
        var rows: [Row] = []
        var verifier: [VerifierStatistics] = []
        for fingerprint in [false, true] {
            var options = LoadOptions()
            options.forceFingerprint = fingerprint
            options.includeBaselineProgram = !fingerprint
            options.verifierStatistics = true
            let object = try BPFObject(options: options)
            verifier += object.verifierStatistics.filter { s in !verifier.contains { $0.program == s.program } }
            if let nop = object.baselineProgramFD {
                let packet = PacketBuilder.ipv4TCP(flags: 0x10)
                let r = try BPFObject.testRun(programFD: nop, packet: packet, repeat: repeatCount)
                rows.append(Row(flavour: "srcip_nop", hook: .ingress, packet: "baseline, IPv4 TCP ACK", nsPerPacket: r.durationNs))
            }
            for (name, packet) in [("IPv4 TCP ACK", PacketBuilder.ipv4TCP(flags: 0x10)), ("IPv4 UDP", PacketBuilder.ipv4UDP()),
                                   ("IPv6 TCP ACK, 3 ext. headers", PacketBuilder.ipv6TCPWithExtensions(flags: 0x10))] {
                for hook in Hook.allCases {
                    _ = try object.testRun(hook: hook, packet: packet)  // create the flow: the timed runs are established
                    let r = try object.testRun(hook: hook, packet: packet, repeat: repeatCount)
                    precondition(r.retval == -1 && r.dataOut == packet, "the program must pass the packet unchanged")
                    rows.append(Row(flavour: object.flavour.description, hook: hook, packet: name, nsPerPacket: r.durationNs))
                }
            }
        }
        return (rows, verifier)
    }
}
