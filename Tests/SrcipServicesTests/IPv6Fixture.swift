import Foundation
import SrcipCore

/// TestOverallIPTablesRules translated to IPv6 the way kube-proxy writes an IPv6 rule set: `[addr]:port` DNAT
/// targets, no 127.0.0.0/8 localhost NodePort rules, no nfacct matches (they need nfacct objects to load).
enum IPv6Fixture {
    /// IPv4 address of the fixture → its IPv6 counterpart.
    static func v6(_ v4: String) -> String {
        let prefixes = [("172.30.0.", "fd00:172:30::"), ("10.180.0.", "fd00:10:180::"), ("192.168.99.", "fd00:192:168:99::")]
        for (p, r) in prefixes where v4.hasPrefix(p) { return r + v4.dropFirst(p.count) }
        return ["1.2.3.4": "2001:db8::1234", "5.6.7.8": "2001:db8::5678"][v4] ?? v4
    }

    /// The ip6tables-restore input.
    static func rules() throws -> String {
        let text = try Fixtures.text(Fixtures.iptablesRestore)
            .replacingOccurrences(of: #" -m nfacct --nfacct-name [A-Za-z_]+"#, with: "", options: .regularExpression)
        var out: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) where !line.contains("127.0.0.0/8") {
            var l = String(line).replacingOccurrences(of: "10.0.0.0/8", with: "fd00:10::/32")
                .replacingOccurrences(of: "203.0.113.0/25", with: "2001:db8:203::/64")
            while let r = l.range(of: #"\d+\.\d+\.\d+\.\d+:\d+"#, options: .regularExpression) {
                let parts = l[r].split(separator: ":")
                l.replaceSubrange(r, with: "[\(v6(String(parts[0])))]:\(parts[1])")
            }
            while let r = l.range(of: #"\d+\.\d+\.\d+\.\d+"#, options: .regularExpression) {
                l.replaceSubrange(r, with: v6(String(l[r])))
            }
            out.append(l)
        }
        return out.joined(separator: "\n")
    }

    /// `OverallFixture.services` with every address translated.
    static var services: [Service] {
        func t(_ a: IPAddress) -> IPAddress { IPAddress(v6(a.description))! }
        return OverallFixture.services.map { s in
            var s = s
            s.clusterIP = s.clusterIP.map(t)
            s.externalIPs = s.externalIPs.map(t)
            s.loadBalancerIPs = s.loadBalancerIPs.map(t)
            s.loadBalancerSourceRanges = s.loadBalancerSourceRanges.map { $0 == "203.0.113.0/25" ? "2001:db8:203::/64" : $0 }
            s.ports = s.ports.map { p in
                var p = p
                p.endpoints = p.endpoints.map { var e = $0; e.ip = t(e.ip); return e }
                return p
            }
            return s
        }
    }
}
