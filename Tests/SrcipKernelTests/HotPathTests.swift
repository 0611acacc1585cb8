import Foundation
import SrcipTestbed
import SrcipCore
import Testing
@testable import SrcipKernel

/// The established-flow fast path (per-CPU coarse-clock cache, flow cache) and the `srcip_nop` benchmark baseline.
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

    @Test("packets counted in the flow cache are in the map's counts when user space reads them; a swept flow is new again at once")
    func flowCacheCountsReachUserSpace() throws {
        let obj = try Self.load()
        let packet = PacketBuilder.ipv4UDP()
        _ = try obj.testRun(hook: .egress, packet: packet)  // NEW: inserts the entry
        _ = try obj.testRun(hook: .egress, packet: packet, repeat: 50)  // fills the flow's slot, then counts in it
        let expired = try obj.sweepFlows(idleNs: 0, now: KernelClock.nowNs() + 10_000_000_000)
        #expect(expired.count == 1)
        let flow = try #require(expired.first)
        #expect(flow.packets == 51 && flow.bytes == UInt64(51 * packet.count), "counts in the cache were not flushed to the map")
        _ = try obj.testRun(hook: .egress, packet: packet)
        #expect(try obj.counters().flowsCreated == 2, "a swept flow's next packet must be a new flow, not counted in a stale slot")
        #expect(obj.flowCount() == 1)
        #expect(try obj.counters().packets == 52)
    }

    @Test("one flow's counts, read or removed by user space, include its cached packets; a removed flow is new again at once")
    func flowCacheCountsOfOneFlow() throws {
        let obj = try Self.load()
        let packet = PacketBuilder.ipv4UDP()
        _ = try obj.testRun(hook: .egress, packet: packet)
        let view = FlowView(ifindex: 1, hook: .egress, tuple: try #require(obj.activeFlows(sinceNs: 0).first).tuple)
        _ = try obj.testRun(hook: .egress, packet: packet, repeat: 50)
        #expect(obj.flowCounts(view, remove: false) == FlowCounts(packets: 51, bytes: UInt64(51 * packet.count)))
        _ = try obj.testRun(hook: .egress, packet: packet, repeat: 10)
        #expect(obj.flowCounts(view, remove: true) == FlowCounts(packets: 61, bytes: UInt64(61 * packet.count)))
        _ = try obj.testRun(hook: .egress, packet: packet)
        #expect(try obj.counters().flowsCreated == 2, "a removed flow's next packet must be a new flow, not counted in a stale slot")
        #expect(obj.flowCounts(view, remove: false)?.packets == 1)
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
