import Testing
@testable import SrcipTestbed

/// The testbed reads `iperf3 -J` through SrcipJSON.
@Suite struct IperfOutputTests {
    @Test func receivedRateIsReadFromTheSummary() throws {
        let json = #"{"start":{},"intervals":[],"end":{"sum_sent":{"bits_per_second":2.5e9},"sum_received":{"bits_per_second":2394117120.5}}}"#
        #expect(try NATLab.receivedBitsPerSecond(iperfJSON: json) == 2_394_117_120.5)
        #expect(try NATLab.receivedBitsPerSecond(iperfJSON: #"{"end":{"sum_received":{"bits_per_second":1000}}}"#) == 1000)
        #expect(throws: NATLab.CommandFailed.self) { try NATLab.receivedBitsPerSecond(iperfJSON: #"{"error":"unable to connect"}"#) }
    }
}
