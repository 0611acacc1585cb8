import Foundation
import SrcipCore
import Testing
@testable import SrcipServices

/// The six Services of upstream TestOverallIPTablesRules, as both the restore-format fixture and real iptables-save output encode them.
@Suite struct IPTablesFixtureTests {
    static let files = [Fixtures.iptablesRestore, Fixtures.iptablesSave]

    @Test(arguments: files)
    func dump(_ file: String) throws {
        let d = try IPTablesRulesParser.parse(Fixtures.text(file), file: file)
        for s in d.services { print(s) }
        print(d.clusterCIDRs, d.warnings)
    }
}
