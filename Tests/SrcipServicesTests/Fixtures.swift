import Foundation
import SrcipCore

/// The shared kube-proxy fixtures, read in place from `<packageRoot>/../shared/fixtures/kube-proxy/` (never copied).
enum Fixtures {
    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/fixtures/kube-proxy")

    static let iptablesRestore = "iptables_TestOverallIPTablesRules.expected.txt"
    static let iptablesSave = "derived_iptables-save_roundtrip_TestOverallIPTablesRules.txt"
    static let iptablesRepeated = "iptables_TestSyncProxyRulesRepeated_initial.expected.txt"
    static let iptablesTrace = "iptables_TestTracePacket.static-rules.txt"
    static let nft = "nftables_TestOverallNFTablesRules.expected.nft"

    static func text(_ name: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
}

func ip(_ s: String) -> IPAddress { IPAddress(s)! }

extension Array where Element == Service {
    func named(_ id: String) -> Service? { first { $0.id == id } }
}
