import CSrcipSkeleton
import Foundation
import SrcipCore

/// Result of running a program once on a packet with BPF_PROG_TEST_RUN.
public struct TestRunResult: Sendable, Equatable {
    /// The program's return code (-1: pass through).
    public var retval: Int32
    /// The packet after the program ran.
    public var dataOut: [UInt8]
    /// Average nanoseconds per run, as measured by the kernel.
    public var durationNs: UInt32 = 0
}

extension BPFObject {
    /// Runs the program at `hook` once on `packet` (starting with the Ethernet header), in the kernel,
    /// without any interface. The packet appears to arrive on loopback (ifindex 1).
    /// With `repeat` > 1 the packet runs that many times back to back: after the first run the flow exists,
    /// so `durationNs` measures the established-flow path (a micro-benchmark).
    public func testRun(hook: Hook, packet: [UInt8], repeat: UInt32 = 1) throws -> TestRunResult {
        try Self.testRun(programFD: programFD(hook), packet: packet, repeat: `repeat`)
    }

    /// BPF_PROG_TEST_RUN on any tc program fd.
    public static func testRun(programFD: Int32, packet: [UInt8], repeat: UInt32 = 1) throws -> TestRunResult {
        guard packet.count >= 14 else { throw KernelError.badTestPacket("\(packet.count) bytes; the kernel needs at least an Ethernet header (14)") }
        var output = [UInt8](repeating: 0, count: packet.count + 256)
        var outSize = UInt32(output.count)
        var retval: UInt32 = 0
        var duration: UInt32 = 0
        let rc = packet.withUnsafeBytes { inBuf in
            output.withUnsafeMutableBytes { outBuf in
                srcip_test_run(programFD, inBuf.baseAddress, UInt32(inBuf.count), outBuf.baseAddress, &outSize, `repeat`, &retval, &duration)
            }
        }
        guard rc == 0 else { throw KernelError.systemCall("bpf_prog_test_run_opts", errno: -rc) }
        return TestRunResult(retval: Int32(bitPattern: retval), dataOut: Array(output.prefix(Int(outSize))), durationNs: duration)
    }
}
