import Foundation
import Synchronization
import SrcipCore
import SrcipKernel
import SrcipTestbed

/// BPF cost per packet, event volume and throughput on a real NAT path (client — router with DNAT and
/// MASQUERADE — server), with srcip attached to both router interfaces at ingress and egress.
enum NATPathBench {
    struct Result {
        var baselineBps: [Double] = []
        var tracedBps: [Double] = []
        /// Throughput with only `srcip_nop` attached at the same 4 hooks.
        var nopBps: [Double] = []
        /// `srcip_nop` at each hook (one program at both interfaces' ingress, another at their egress), summed over
        /// the rounds: what the hook and bpf_stats cost by themselves there.
        var nopRuns: [Hook: ProgramRunStats] = [:]
        /// Per program, summed over the rounds.
        var programs: [(name: String, nsPerRun: Double, runs: UInt64)] {
            programRuns.map { ($0.name, Double($0.runTimeNs) / Double(max($0.runCount, 1)), $0.runCount) }
        }
        var programRuns: [ProgramRunStats] = []
        var bulkPackets: UInt64 = 0
        var bulkRecords: UInt64 = 0
        var connections = 0
        var connectionRecords: UInt64 = 0
        var lost: UInt64 = 0
        var flavour = ""

        var throughputRatio: Double { median(tracedBps) / median(baselineBps) }
        var recordsPerPacket: Double { Double(bulkRecords) / Double(max(bulkPackets, 1)) }
        /// A connection's packets cross four hooks on the router: client-side ingress and egress, server-side ingress and egress.
        var recordsPerConnectionPerHook: Double { Double(connectionRecords) / Double(max(connections, 1) * 4) }
    }

    static func run(seconds: Int, rounds: Int, connections: Int, forceFingerprint: Bool) throws -> Result {
        let lab = try NATLab()
        defer { lab.teardown() }
        var result = Result()
        result.connections = connections
        let stats = try BPFStats()
        defer { stats.disable() }

        // The three measurements of a round in rotating order (nothing, nop, srcip; then nop, srcip, nothing; ...):
        // a drift of the shared host over a round does not favour one of them.
        for round in 0..<rounds {
            for k in 0..<3 {
                switch (k + round) % 3 {
                case 0: result.baselineBps.append(try lab.bulkTransfer(seconds: seconds))
                case 1:
                    let (nopBps, nopRuns) = try nopRound(lab: lab, seconds: seconds)
                    result.nopBps.append(nopBps)
                    for (hook, runs) in nopRuns {
                        result.nopRuns[hook, default: ProgramRunStats(name: "srcip_nop", runCount: 0, runTimeNs: 0)].add(runs)
                    }
                default: try tracedRound(lab: lab, seconds: seconds, connections: connections,
                                         forceFingerprint: forceFingerprint, into: &result)
                }
            }
        }
        result.connections = connections * rounds
        return result
    }

    /// One bulk transfer with srcip tracing both router interfaces, then `connections` short connections.
    static func tracedRound(lab: NATLab, seconds: Int, connections: Int, forceFingerprint: Bool, into result: inout Result) throws {
        var options = Tracer.Options(interfaces: [lab.routerClientIf, lab.routerServerIf])
        options.netnsPath = lab.routerNetnsPath
        options.load.forceFingerprint = forceFingerprint
        let tracer = try Tracer(options: options)
        result.flavour = tracer.flavour.description
        let received = RecordCount()
        let stream = try tracer.observations()
        let consumer = Task.detached { for await _ in stream { received.add() } }
        let before = try tracer.counters()
        let runBefore = try Hook.allCases.map { try tracer.object.runStats($0) }
        result.tracedBps.append(try lab.bulkTransfer(seconds: seconds))
        let afterBulk = try tracer.counters()
        let runAfter = try Hook.allCases.map { try tracer.object.runStats($0) }
        _ = try lab.clientTraffic(tcpConnections: connections, bytes: 1000)
        usleep(200_000)
        let afterConns = try tracer.counters()
        tracer.close()
        await_(consumer)

        let bulk = afterBulk.since(before)
        result.bulkPackets += bulk.packets
        result.bulkRecords += bulk.records
        result.connectionRecords += afterConns.since(afterBulk).records
        result.lost += afterConns.since(before).ringbufLost
        for (i, hook) in Hook.allCases.enumerated() {
            var d = runAfter[i].since(runBefore[i])
            d.name = tracer.object.programName(hook)
            if let j = result.programRuns.firstIndex(where: { $0.name == d.name }) {
                result.programRuns[j].add(d)
            } else {
                result.programRuns.append(d)
            }
        }
    }

    /// One bulk transfer with only `srcip_nop` attached where srcip attaches (both router interfaces, ingress
    /// and egress; one loaded program per hook, so each has its own statistics): the per-packet floor of any
    /// program at that hook.
    static func nopRound(lab: NATLab, seconds: Int) throws -> (bps: Double, runs: [Hook: ProgramRunStats]) {
        var load = LoadOptions()
        load.forceFingerprint = true
        load.includeBaselineProgram = true
        let objects = try Hook.allCases.map { _ in try BPFObject(options: load) }
        let fds = objects.map { o -> Int32 in
            guard let fd = o.baselineProgramFD else { preconditionFailure("srcip_nop was requested but not loaded") }
            return fd
        }
        let interfaces = [lab.routerClientIf, lab.routerServerIf]
        let attachments = try NetworkNamespace.run(path: lab.routerNetnsPath) { () throws -> [HookAttachment] in
            var done: [HookAttachment] = []
            do {
                for name in interfaces {
                    for (i, hook) in Hook.allCases.enumerated() {
                        done.append(try HookAttachment.attach(programFD: fds[i], interface: name, hook: hook))
                    }
                }
            } catch {
                done.forEach { $0.detach() }
                throw error
            }
            return done
        }
        defer { attachments.forEach { $0.detach() } }
        let before = try fds.map { try BPFObject.runStats(programFD: $0) }
        let bps = try lab.bulkTransfer(seconds: seconds)
        var runs: [Hook: ProgramRunStats] = [:]
        for (i, hook) in Hook.allCases.enumerated() { runs[hook] = try BPFObject.runStats(programFD: fds[i]).since(before[i]) }
        withExtendedLifetime(objects) {}
        return (bps, runs)
    }
}

/// Counts records delivered to a consumer task.
final class RecordCount: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func add() { count.withLock { $0 += 1 } }
}

/// Waits synchronously for a detached task (the benchmark's main flow is synchronous).
func await_(_ task: Task<Void, Never>) {
    let done = DispatchSemaphore(value: 0)
    Task.detached { await task.value; done.signal() }
    done.wait()
}

func median(_ xs: [Double]) -> Double {
    guard !xs.isEmpty else { return 0 }
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}
