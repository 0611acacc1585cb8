import SrcipSystem

/// The kernel's count of ICMP errors its rate limits suppressed in this network namespace: `Icmp: OutRateLimitGlobal`
/// and `OutRateLimitHost` in /proc/net/snmp (Linux 6.0+), plus `Icmp6OutRateLimitHost` in /proc/net/snmp6. A REJECT
/// rule whose port-unreachable was suppressed leaves no trace on the wire; these counters are the evidence.
struct ICMPRateLimitCounter {
    private var last: (total: UInt64, atNs: UInt64)?

    /// The errors suppressed since the previous sample and when that was; nil on the first sample, when nothing
    /// was suppressed, or when the kernel has no such counters.
    mutating func sample(atNs now: UInt64) -> (count: UInt64, fromNs: UInt64)? {
        guard let total = Self.read() else { return nil }
        defer { last = (total, now) }
        guard let last, total > last.total else { return nil }
        return (total - last.total, last.atNs)
    }

    /// The sum of the rate-limit counters, or nil when the kernel has none.
    static func read() -> UInt64? {
        var total: UInt64?
        if let snmp = FileText.string(atPath: "/proc/net/snmp") {
            total = parse(snmp: snmp)
        }
        if let snmp6 = FileText.string(atPath: "/proc/net/snmp6") {
            for line in snmp6.split(separator: "\n") {
                let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                if f.count == 2, f[0] == "Icmp6OutRateLimitHost", let v = UInt64(f[1]) { total = (total ?? 0) + v }
            }
        }
        return total
    }

    /// `OutRateLimitGlobal + OutRateLimitHost` from the two `Icmp:` lines of /proc/net/snmp (names, then values).
    static func parse(snmp: String) -> UInt64? {
        let lines = snmp.split(separator: "\n").filter { $0.hasPrefix("Icmp: ") }
        guard lines.count >= 2 else { return nil }
        let names = lines[0].split(separator: " "), values = lines[1].split(separator: " ")
        var sum: UInt64?
        for (n, v) in zip(names, values) where n == "OutRateLimitGlobal" || n == "OutRateLimitHost" {
            if let x = UInt64(v) { sum = (sum ?? 0) + x }
        }
        return sum
    }
}
