import SrcipTestbed
import Foundation
import SrcipCore
import Testing
@testable import SrcipKernel

/// Cost of the BPF programs on real traffic through the NAT lab. Runs only with SRCIP_BENCH=1; prints
/// its numbers and checks they are sane.
@Suite("Kernel benchmark", .enabled(if: ProcessInfo.processInfo.environment["SRCIP_BENCH"] != nil), .serialized)
struct KernelBenchmarkTests {
    @Test("ns per packet and records per connection on a bulk transfer and on short connections",
          arguments: [false, true])
    func bulkAndShort(fingerprint: Bool) async throws {
        let lab = try NATLab()
        defer { lab.teardown() }
        let stats = try BPFStats()
        defer { stats.disable() }
        var opts = Tracer.Options(interfaces: [lab.routerClientIf, lab.routerServerIf])
        opts.load.forceFingerprint = fingerprint
        let tracer = try NetworkNamespace.run(path: lab.routerNetnsPath) { try Tracer(options: opts) }
        defer { try? NetworkNamespace.run(path: lab.routerNetnsPath) { tracer.close() } }
        let stream = tracer.observations()
        let counting = Task { var n = 0; for await _ in stream { n += 1 }; return n }

        for (label, connections, bytes) in [("bulk 1x256MB", 1, 256 << 20), ("short 200x1KB", 200, 1024)] {
            let before = try Hook.allCases.map { try tracer.object.runStats($0) }
            let c0 = try tracer.counters()
            let start = monotonicNanoseconds()
            _ = try lab.clientTraffic(tcpConnections: connections, bytes: bytes)
            let seconds = Double(monotonicNanoseconds() - start) / 1e9
            try await Task.sleep(for: .milliseconds(200))
            let c = try tracer.counters().since(c0)
            let runs = try Hook.allCases.enumerated().map { try tracer.object.runStats($1).since(before[$0]) }
            let line = runs.map { "\($0.name) \(String(format: "%.1f", $0.nsPerRun)) ns/pkt over \($0.runCount)" }
                .joined(separator: ", ")
            print("""
                BENCH \(tracer.flavour) \(label): \(line); records \(c.records) = \
                \(String(format: "%.2f", Double(c.records) / Double(connections))) per connection, \
                \(String(format: "%.5f", Double(c.records) / Double(max(c.packets, 1)))) per packet; \
                \(String(format: "%.2f", seconds)) s; \(c)
                """)
            #expect(c.ringbufLost == 0)
            // Four flows per connection on the router (request/reply × in/out), ≤ 3 records each.
            #expect(c.records <= UInt64(connections * 4 * 3))
            for r in runs { #expect(r.runCount > 0 && r.nsPerRun < 2000, "\(r)") }
        }
        try NetworkNamespace.run(path: lab.routerNetnsPath) { tracer.close() }
        _ = await counting.value
    }
}

/// Established-flow cost per program with BPF_PROG_TEST_RUN (no stats overhead, hot caches).
@Suite("Kernel micro-benchmark", .enabled(if: ProcessInfo.processInfo.environment["SRCIP_BENCH"] != nil))
struct KernelMicroBenchmarkTests {
    @Test("established-flow path in ns per packet", arguments: [false, true])
    func established(fingerprint: Bool) throws {
        var o = LoadOptions()
        o.forceFingerprint = fingerprint
        let obj = try BPFObject(options: o)
        for (name, packet) in [("ipv4 tcp ack", PacketBuilder.ipv4TCP(flags: 0x10)), ("ipv4 udp", PacketBuilder.ipv4UDP()),
                               ("ipv6 tcp ext", PacketBuilder.ipv6TCPWithExtensions())] {
            for hook in Hook.allCases {
                let r = try obj.testRun(hook: hook, packet: packet, repeat: 1_000_000)
                print("MICRO \(obj.flavour) \(hook) \(name): \(r.durationNs) ns/packet")
                #expect(r.retval == -1 && r.durationNs < 1000)
            }
        }
    }
}
