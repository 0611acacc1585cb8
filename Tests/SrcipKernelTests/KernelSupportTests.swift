import SrcipTestbed
import CSrcipABI
import Foundation
import SrcipCore
import Testing
@testable import SrcipKernel

/// Pure helpers of SrcipKernel: no privileges needed.
@Suite("Kernel support helpers")
struct KernelSupportTests {
    @Test("CapEff parsing and what is missing")
    func capabilities() {
        let root = Capabilities.parse(status: "Name:\tx\nCapInh:\t0\nCapEff:\t000001ffffffffff\n")
        #expect(root.missingForTracing.isEmpty)
        let netOnly = Capabilities.parse(status: "CapEff:\t0000000000001000\n")
        #expect(netOnly.has(Capabilities.netAdmin))
        #expect(netOnly.missingForTracing == ["CAP_BPF", "CAP_PERFMON"])
        #expect(Capabilities.parse(status: "nothing").missingForTracing == ["CAP_BPF", "CAP_PERFMON", "CAP_NET_ADMIN"])
        #expect(throws: KernelError.missingCapabilities(["CAP_BPF", "CAP_PERFMON"])) { try netOnly.requireTracing() }
    }

    @Test("kernel release parsing")
    func release() {
        #expect(KernelFeatures.kernelVersion("6.18.44-fc-v657") == (6, 18))
        #expect(KernelFeatures.kernelVersion("5.8.0") == (5, 8))
        #expect(KernelFeatures.kernelVersion("garbage") == (0, 0))
    }

    @Test("unknown interface names the ones that exist")
    func unknownInterface() throws {
        #expect(Interfaces.list(includeLoopback: true).contains { $0.name == "lo" && $0.index == 1 })
        #expect(!Interfaces.list().contains { $0.name == "lo" })
        #expect(Interfaces.name(of: 1) == "lo")
        do {
            _ = try Interfaces.index(of: "srcip-no-such-if")
            Issue.record("expected unknownInterface")
        } catch let KernelError.unknownInterface(name, available) {
            #expect(name == "srcip-no-such-if")
            #expect(available == Interfaces.list().map(\.name))
        }
    }

    @Test("counter snapshot from raw values and differences")
    func counters() {
        var raw = [UInt64](repeating: 0, count: Int(SRCIP_CNT__MAX.rawValue))
        raw[Int(SRCIP_CNT_PACKETS.rawValue)] = 10
        raw[Int(SRCIP_CNT_CT_FOUND.rawValue)] = 3
        let later = CounterSnapshot(values: raw)
        #expect(later.packets == 10 && later.ctFound == 3 && later.records == 0)
        raw[Int(SRCIP_CNT_PACKETS.rawValue)] = 4
        #expect(later.since(CounterSnapshot(values: raw)).packets == 6)
    }

    @Test("conntrack -L -o extended lines parse into original and reply tuples")
    func conntrackParse() throws {
        let line: Substring = "ipv4     2 tcp      6 118 TIME_WAIT src=10.77.1.2 dst=10.77.9.9 sport=45678 dport=80 "
            + "src=10.77.2.2 dst=10.77.2.1 sport=8080 dport=45678 [ASSURED] mark=0 use=1"
        let e = try #require(NATLab.parseConntrack(line))
        #expect(e.original.description == "10.77.1.2:45678 → 10.77.9.9:80 tcp")
        #expect(e.reply.description == "10.77.2.2:8080 → 10.77.2.1:45678 tcp")
        #expect(NATLab.parseConntrack("conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown.") == nil)
    }
}
