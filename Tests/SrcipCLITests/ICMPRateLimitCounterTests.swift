import Testing
@testable import srcip

/// The kernel's ICMP rate-limit counters, the evidence that a REJECT's port-unreachable was suppressed.
@Suite struct ICMPRateLimitCounterTests {
    static let header = "Icmp: InMsgs InErrors InCsumErrors InDestUnreachs OutMsgs OutErrors OutRateLimitGlobal OutRateLimitHost OutDestUnreachs"

    @Test func sumsTheGlobalAndPerHostCounters() {
        let snmp = "Ip: Forwarding DefaultTTL\nIp: 1 64\n\(Self.header)\nIcmp: 2 0 0 2 40 0 7 31 40\nIcmpMsg: InType3\nIcmpMsg: 2\n"
        #expect(ICMPRateLimitCounter.parse(snmp: snmp) == 38)
    }

    @Test func kernelsWithoutTheCountersGiveNothing() {
        let snmp = "Icmp: InMsgs InErrors OutMsgs\nIcmp: 2 0 40\n"
        #expect(ICMPRateLimitCounter.parse(snmp: snmp) == nil)
        #expect(ICMPRateLimitCounter.parse(snmp: "Ip: Forwarding\nIp: 1\n") == nil)
    }
}
