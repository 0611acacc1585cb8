import SrcipCore
import Testing
@testable import SrcipLabCluster
@testable import SrcipLabKubeProxy

/// Strict comparison with kube-proxy's expected nftables transaction (after the upstream `sortNFTablesTransaction`).
@Suite(.kubeProxyFixtures) struct NFTablesFixtureTests {
    @Test func overallRulesMatchUpstream() throws {
        let lines = KubeProxyNFTables.transaction(UpstreamFixtures.overallState, node: UpstreamFixtures.testNode, options: .upstreamUnitTest)
        let expected = NFTablesTransactionNormaliser.normalise(try UpstreamFixtures.text("nftables_TestOverallNFTablesRules.expected.nft"))
        let actual = NFTablesTransactionNormaliser.normalise(lines)
        #expect(actual.count == expected.count)
        let missing = Set(expected).subtracting(actual), extra = Set(actual).subtracting(expected)
        #expect(missing.isEmpty, "missing: \(missing.sorted().joined(separator: "\n"))")
        #expect(extra.isEmpty, "extra: \(extra.sorted().joined(separator: "\n"))")
        #expect(actual == expected)
    }

    @Test func renderedScriptResetsTheTableAndLoadsInDependencyOrder() {
        let script = KubeProxyNFTables.render(UpstreamFixtures.overallState, node: UpstreamFixtures.testNode)
        let lines = script.split(separator: "\n").map(String.init)
        #expect(lines.prefix(3) == ["add table ip kube-proxy", "delete table ip kube-proxy",
                                   "add table ip kube-proxy { comment \"rules for kube-proxy\" ; }"])
        let kinds = lines.dropFirst(2).map { String($0.split(separator: " ")[1]) }
        let rank = ["table": 0, "set": 1, "map": 1, "chain": 2, "rule": 3, "element": 4]
        #expect(kinds.map { rank[$0]! } == kinds.map { rank[$0]! }.sorted())
        #expect(Set(lines.dropFirst(2)) == Set(KubeProxyNFTables.transaction(UpstreamFixtures.overallState, node: UpstreamFixtures.testNode)))
    }
}
