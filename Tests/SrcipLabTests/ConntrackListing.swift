import Foundation
import SrcipCore
@testable import SrcipLabCluster
@testable import SrcipLabKubeProxy
@testable import SrcipLabWorkloads
@testable import SrcipLabNetwork
@testable import SrcipLabDemo
import SrcipSystem

/// One line of `conntrack -L`: the original and reply tuples.
struct ConntrackEntry: Equatable, CustomStringConvertible {
    var original: FiveTuple
    var reply: FiveTuple
    /// The request as it left toward the backend: the reversed reply tuple.
    var translated: FiveTuple { reply.reversed }
    var description: String { "\(original) ⇒ \(translated)" }
}

/// Reads a node's conntrack table the way an operator would, to check srcip's xlat_* against the kernel.
enum ConntrackListing {
    /// TCP entries in `namespace` whose original source port is `port`.
    static func tcp(in namespace: String, sourcePort port: UInt16, family: IPFamily = .ipv4) throws -> [ConntrackEntry] {
        let r = try Command.run("ip", ["netns", "exec", namespace, "conntrack", "-L", "-f", family == .ipv6 ? "ipv6" : "ipv4",
                                       "-p", "tcp", "--orig-port-src", String(port)])
        return r.stdout.split(separator: "\n").compactMap { parse(String($0)) }
    }

    /// `tcp 6 119 TIME_WAIT src=A dst=B sport=1 dport=2 src=C dst=D sport=3 dport=4 [ASSURED] …`.
    static func parse(_ line: String) -> ConntrackEntry? {
        var fields: [String: [String]] = [:]
        for word in line.split(separator: " ") {
            let kv = word.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { fields[String(kv[0]), default: []].append(String(kv[1])) }
        }
        guard line.hasPrefix("tcp"), let src = fields["src"], let dst = fields["dst"], let sport = fields["sport"], let dport = fields["dport"],
              src.count >= 2, dst.count >= 2, sport.count >= 2, dport.count >= 2 else { return nil }
        func tuple(_ i: Int) -> FiveTuple? {
            guard let s = IPAddress(src[i]), let d = IPAddress(dst[i]), let sp = UInt16(sport[i]), let dp = UInt16(dport[i]) else { return nil }
            return FiveTuple(src: s, dst: d, srcPort: sp, dstPort: dp, proto: .tcp)
        }
        guard let o = tuple(0), let r = tuple(1) else { return nil }
        return ConntrackEntry(original: o, reply: r)
    }
}
