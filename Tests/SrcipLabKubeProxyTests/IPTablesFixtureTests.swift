import SrcipCore
import Testing
@testable import SrcipLabCluster
@testable import SrcipLabKubeProxy

/// Strict comparison with kube-proxy's own expected iptables output (after the upstream `sortIPTablesRules` normalisation).
@Suite(.kubeProxyFixtures) struct IPTablesFixtureTests {
    func assertEqualLines(_ actual: [String], _ expected: [String]) {
        #expect(actual.count == expected.count)
        for (i, (a, e)) in zip(actual, expected).enumerated() where a != e {
            Issue.record("line \(i + 1) differs:\n  got      \(a)\n  expected \(e)")
            return
        }
    }

    @Test func overallRulesMatchUpstream() throws {
        let out = KubeProxyIPTables.render(UpstreamFixtures.overallState, node: UpstreamFixtures.testNode, options: .upstreamUnitTest)
        let expected = try UpstreamFixtures.text("iptables_TestOverallIPTablesRules.expected.txt")
        assertEqualLines(IPTablesRestoreNormaliser.normalise(out), IPTablesRestoreNormaliser.normalise(expected))
        // The fixture file is already in normalised form.
        #expect(IPTablesRestoreNormaliser.normalise(expected) == expected.split(separator: "\n").map(String.init))
    }

    @Test func repeatedSyncInitialMatchesUpstream() throws {
        let out = KubeProxyIPTables.render(UpstreamFixtures.repeatedInitialState, node: UpstreamFixtures.testNode, options: .upstreamUnitTest)
        let expected = try UpstreamFixtures.text("iptables_TestSyncProxyRulesRepeated_initial.expected.txt")
        assertEqualLines(IPTablesRestoreNormaliser.normalise(out), IPTablesRestoreNormaliser.normalise(expected))
    }

    @Test func labOptionsDropNfacctAndAddRandomFully() {
        let out = KubeProxyIPTables.render(UpstreamFixtures.overallState, node: UpstreamFixtures.testNode)
        #expect(!out.contains("nfacct"))
        #expect(out.contains("-j MASQUERADE --random-fully\n"))
        #expect(out.contains("-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP\n"))
        #expect(!out.contains("-d 127.0.0.0/8 --dport"))
    }
}
