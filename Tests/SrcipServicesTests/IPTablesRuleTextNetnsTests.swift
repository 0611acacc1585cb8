import Foundation
import SrcipSystem
import Testing
@testable import SrcipServices

/// Privileged: kube-proxy's per-Service nat chains (and a few neighbouring forms) loaded with `iptables-restore
/// --noflush` into a fresh netns; the NEWRULE messages the kernel sent for them, printed by `IPTablesRuleText`,
/// must equal what `iptables -t nat -S CHAIN` prints, line for line, and the forms it does not know must print nil.
@Suite(.serialized, .privileged)
struct IPTablesRuleTextNetnsTests {
    static let base = """
        *nat
        :KUBE-SERVICES - [0:0]
        :KUBE-MARK-MASQ - [0:0]
        :KUBE-NODEPORTS - [0:0]
        -A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
        COMMIT

        """

    /// Rules whose messages must print (`iptables -S` text after `-A`, as loaded: iptables reorders the options).
    static let printed = """
        -A KUBE-SERVICES -m comment --comment "ns/s1:http cluster IP" -m tcp -p tcp -d 10.96.0.20 --dport 80 -j KUBE-SVC-A
        -A KUBE-SERVICES -m comment --comment "ns/s2 cluster IP" -m udp -p udp -d 10.96.0.21 --dport 53 -j KUBE-SVC-B
        -A KUBE-NODEPORTS -m comment --comment ns/s1:http -m tcp -p tcp --dport 30080 -j KUBE-EXT-A
        -A KUBE-EXT-A -m comment --comment "masquerade traffic for ns/s1:http external destinations" -j KUBE-MARK-MASQ
        -A KUBE-EXT-A -m comment --comment "pod traffic for ns/s1:http external destinations" -s 10.244.0.0/16 -j KUBE-SVC-A
        -A KUBE-EXT-A -j KUBE-SVC-A
        -A KUBE-SVC-A -m comment --comment "ns/s1:http cluster IP" -m tcp -p tcp -d 10.96.0.20 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
        -A KUBE-SVC-A -m comment --comment "ns/s1:http -> 10.244.0.5:8080" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-A1
        -A KUBE-SVC-A -m comment --comment "ns/s1:http -> 10.244.0.6:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-A2
        -A KUBE-SVC-A -m comment --comment "ns/s1:http -> 10.244.0.7:8080" -j KUBE-SEP-A3
        -A KUBE-SVC-B -m comment --comment "ns/s2 cluster IP" -m udp -p udp -d 10.96.0.21 --dport 53 ! -s 10.240.0.0/12 -j KUBE-MARK-MASQ
        -A KUBE-SVC-B -m comment --comment "ns/s2 -> 10.244.1.5:5353" -m statistic --mode random --probability 0.1000000000 -j KUBE-SEP-B1
        -A KUBE-SVC-B -m comment --comment "ns/s2 -> 10.244.1.6:5353" -j KUBE-SEP-B1
        -A KUBE-SEP-A1 -m comment --comment ns/s1:http -s 10.244.0.5 -j KUBE-MARK-MASQ
        -A KUBE-SEP-A1 -m comment --comment ns/s1:http -m tcp -p tcp -j DNAT --to-destination 10.244.0.5:8080
        -A KUBE-SEP-A2 -m comment --comment plain_word-1 -s 10.244.0.6/31 -j RETURN
        -A KUBE-SEP-A2 -m tcp -p tcp --sport 1234 -j ACCEPT
        -A KUBE-SEP-A2 -d 10.0.0.0/8 -j ACCEPT
        -A KUBE-SEP-A2 -m comment --comment "other traffic to ns/s1 will be dropped"
        -A KUBE-SEP-A3 -m comment --comment ns/s1:http -m tcp -p tcp -j DNAT --to-destination 10.244.0.7
        -A KUBE-SEP-B1 -m comment --comment ns/s2 -m udp -p udp -j DNAT --to-destination 10.244.1.5:5353

        """

    /// Rules whose messages must not print: forms `IPTablesRuleText` does not know.
    static let refused = """
        -A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
        -A KUBE-SVC-C -m comment --comment "ns/s3 -> 10.244.2.5:80" -m recent --name KUBE-SEP-C1 --rcheck --seconds 10800 --reap -j KUBE-SEP-C1
        -A KUBE-SVC-C -m comment --comment "ns/s3 -> 10.244.2.5:80" -m statistic --mode nth --every 2 --packet 0 -j KUBE-SEP-C1
        -A KUBE-SVC-C -i eth0 -j KUBE-SEP-C1
        -A KUBE-SVC-C -m comment --comment "quote's" -j KUBE-SEP-C1
        -A KUBE-SEP-C1 -m comment --comment ns/s3 -m recent --name KUBE-SEP-C1 --set -m tcp -p tcp -j DNAT --to-destination 10.244.2.5:80
        -A KUBE-SEP-C1 -m tcp -p tcp -j DNAT --to-destination 10.244.2.5-10.244.2.6:80
        -A KUBE-SEP-C1 -m tcp -p tcp --dport 10:20 -j KUBE-MARK-MASQ

        """

    static func chains(_ rules: String) -> [String] {
        var seen: [String] = []
        for line in rules.split(separator: "\n") {
            let name = String(line.split(separator: " ")[1])
            if !seen.contains(name) { seen.append(name) }
        }
        return seen
    }

    @Test func printedRulesEqualIPTablesListing() throws {
        try NetnsLab.with { ns in
            try Command.check("ip", ["netns", "exec", ns, "iptables-restore"], input: Self.base)
            let socket = try NetworkNamespace.run(named: ns) { try NFTablesNotifications() }
            let rules = Self.printed + Self.refused
            let created = Self.chains(rules).filter { !["KUBE-SERVICES", "KUBE-NODEPORTS"].contains($0) }
            let input = "*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-NODEPORTS - [0:0]\n" + created.map { ":\($0) - [0:0]\n" }.joined()
                + rules + "COMMIT\n"
            try Command.check("ip", ["netns", "exec", ns, "iptables-restore", "--noflush"], input: input)
            var log = IPTablesRuleLog()
            let changes = socket.drain { log.feed($0) }
            #expect(!changes.unknown && !log.broken)

            var translated = 0, refused = 0
            for name in Self.chains(rules) {
                let chain = try #require(log.chains[NFTablesChanges.Object(family: NFTablesChanges.familyIPv4, table: "nat", name: name)])
                // New chains are created, then appended to; the two existing ones are refilled: all followable.
                #expect(chain.simple && chain.created == created.contains(name), "\(name)")
                let listing = try Command.check("ip", ["netns", "exec", ns, "iptables", "-t", "nat", "-S", name])
                let lines = listing.split(separator: "\n").filter { $0.hasPrefix("-A ") }.map { String($0.dropFirst(3)) }
                try #require(lines.count == chain.added.count, "\(name): \(lines.count) rules listed, \(chain.added.count) added")
                for (line, added) in zip(lines, chain.added) {
                    let text = IPTablesRuleText.text(ofNewRule: added.message)
                    if let text {
                        #expect(text == line)
                        translated += 1
                    } else {
                        refused += 1
                    }
                }
            }
            #expect(translated == Self.printed.split(separator: "\n").count)
            #expect(refused == Self.refused.split(separator: "\n").count)
        }
    }
}
