import Foundation
import SrcipCore

/// kube-proxy's upstream fixtures, read in place from `TestEnvironment.kubeProxyFixtures` (never copied into the project).
enum Fixtures {
    static var directory: URL { TestEnvironment.kubeProxyFixtures }

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
