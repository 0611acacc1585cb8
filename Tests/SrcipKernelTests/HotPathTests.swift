import Foundation
import SrcipTestbed
import SrcipCore
import Testing
@testable import SrcipKernel

/// The established-flow fast path (per-CPU coarse-clock cache) and the `srcip_nop` benchmark baseline.
@Suite("BPF hot path and baseline program", .privileged)
struct HotPathTests {
    static func load(baseline: Bool = false) throws -> BPFObject {
        var o = LoadOptions()
        o.forceFingerprint = true
        o.ringBufferBytes = 1 << 18
        o.flowCapacity = 1024
        o.includeBaselineProgram = baseline
        return try BPFObject(options: o)
    }

    @Test("an established packet moves last_ns to the coarse clock of its own tick")
    func lastSeenAdvances() throws {
        let obj = try Self.load()
        let packet = PacketBuilder.ipv4UDP()
        _ = try obj.testRun(hook: .egress, packet: packet)
        let first = try #require(obj.activeFlows(sinceNs: 0).first).lastNs
        usleep(60_000)  // several timer ticks at any HZ
        let beforeSecond = KernelClock.nowNs()
        _ = try obj.testRun(hook: .egress, packet: packet)
        let second = try #require(obj.activeFlows(sinceNs: 0).first).lastNs
        #expect(second > first, "the cached coarse clock must be refreshed when jiffies advance")
        // Coarse time lags by at most two ticks (HZ ≥ 100: 20 ms); allow 30 ms.
        #expect(second + 30_000_000 >= beforeSecond, "last_ns \(second) lags \(beforeSecond) by more than 30 ms")
        #expect(second <= KernelClock.nowNs())
    }

    @Test("srcip_nop is loaded only on request, passes packets unchanged and counts nothing")
    func baselineProgram() throws {
        #expect(try Self.load().baselineProgramFD == nil)
        let obj = try Self.load(baseline: true)
        let fd = try #require(obj.baselineProgramFD)
        let packet = PacketBuilder.ipv4TCP(flags: 0x10)
        let r = try BPFObject.testRun(programFD: fd, packet: packet, repeat: 10)
        #expect(r.retval == -1 && r.dataOut == packet)
        #expect(try obj.counters().packets == 0)
        #expect(obj.flowCount() == 0)
    }
}
