import Foundation
import SrcipCore
import Testing
@testable import SrcipServices

/// `--services auto|iptables|nftables|FILE`: argument parsing, file format detection, tool errors.
@Suite struct ServiceDiscoveryTests {
    static func tempFile(_ contents: String, _ ext: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("srcip-svc-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).\(ext)")
        try contents.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    @Test func sourceArgument() throws {
        #expect(ServiceSource(argument: "auto") == .auto && ServiceSource(argument: "none") == ServiceSource.none)
        #expect(ServiceSource(argument: "iptables") == .iptables && ServiceSource(argument: "nftables") == .nftables)
        #expect(ServiceSource(argument: "/tmp/dump.json") == .file("/tmp/dump.json"))
        #expect(ServiceSource(argument: "./auto").description == "./auto")
        #expect(try ServiceDiscovery.discover(ServiceSource.none).services.isEmpty)
    }

    @Test func modeArgument() {
        #expect(ServiceSource(argument: "auto") == .auto)
        #expect(ServiceSource(argument: "nftables") == .nftables)
        #expect(ServiceSource(argument: "iptables") == .iptables)
        #expect(ServiceSource(argument: "/tmp/dump.json") == .file("/tmp/dump.json"))
        #expect(ServiceSource(argument: "none") == .none)
        #expect(ServiceSource(argument: "file") == .file("file"))
    }

    @Test("files are read in the format their content shows", .kubeProxyFixtures)
    func fileFormats() throws {
        let ipt = try ServiceDiscovery.discover(.file(Fixtures.path(Fixtures.iptablesSave)))
        #expect(ipt.source == "iptables (\(Fixtures.path(Fixtures.iptablesSave)))")
        #expect(ipt.services == OverallFixture.services)
        let nftPath = try Self.tempFile(NFTablesSnippetTests.snippet, "json")
        defer { try? FileManager.default.removeItem(atPath: nftPath) }
        let nft = try ServiceDiscovery.discover(.file(nftPath))
        #expect(nft.source.hasPrefix("nftables") && nft.services.map(\.id) == ["ns7/svc7", "ns8/svc8"])
        let kubePath = try Self.tempFile(KubernetesDumpParserTests.dump, "json")
        defer { try? FileManager.default.removeItem(atPath: kubePath) }
        let kube = try ServiceDiscovery.discover(.file(kubePath), localNodeName: "node-a")
        #expect(kube.source.hasPrefix("kubectl") && kube.services.named("ns2/svc2")?.ports[0].endpoints[0].isLocal == true)
        #expect(try ServiceInputFormat.detect(Data("  \n{\"items\": []}".utf8), file: "k") == .kubectlJSON)
        #expect(try ServiceInputFormat.detect(Data("-A KUBE-SERVICES -j X\n".utf8), file: "i") == .iptablesSave)
    }

    @Test("unreadable, empty and foreign files are typed errors")
    func badFiles() throws {
        #expect(throws: ServiceSourceError.self) { try ServiceDiscovery.discover(.file("/nonexistent/srcip-services.json")) }
        do {
            _ = try ServiceDiscovery.discover(.file("/nonexistent/srcip-services.json"))
        } catch let e as ServiceSourceError {
            #expect(e.description.contains("/nonexistent/srcip-services.json"))
        }
        let empty = try Self.tempFile("", "txt")
        defer { try? FileManager.default.removeItem(atPath: empty) }
        #expect(throws: ServiceSourceError.unrecognizedFormat(file: empty, problem: "the file is empty")) {
            try ServiceDiscovery.discover(.file(empty))
        }
        let yaml = try Self.tempFile("apiVersion: v1\nkind: Service\n", "yaml")
        defer { try? FileManager.default.removeItem(atPath: yaml) }
        #expect(throws: ServiceSourceError.unrecognizedFormat(file: yaml, problem: "neither JSON nor iptables-save text (no `*nat`/`*filter` table line)")) {
            try ServiceDiscovery.discover(.file(yaml))
        }
        let nftText = try Self.tempFile("table ip kube-proxy {\n\tcomment \"rules for kube-proxy\"\n}\n", "nft")
        defer { try? FileManager.default.removeItem(atPath: nftText) }
        #expect(throws: ServiceSourceError.unrecognizedFormat(file: nftText, problem: "this is `nft list` text; dump the rules as JSON with `nft -j list ruleset`")) {
            try ServiceDiscovery.discover(.file(nftText))
        }
        let otherJSON = try Self.tempFile("{\"hello\": 1}", "json")
        defer { try? FileManager.default.removeItem(atPath: otherJSON) }
        #expect(throws: ServiceSourceError.unrecognizedFormat(file: otherJSON, problem: "JSON without an `nftables` array or Kubernetes `kind`/`items`")) {
            try ServiceDiscovery.discover(.file(otherJSON))
        }
        let cut = try Self.tempFile(String(KubernetesDumpParserTests.dump.prefix(300)), "json")
        defer { try? FileManager.default.removeItem(atPath: cut) }
        do {
            _ = try ServiceDiscovery.discover(.file(cut))
            Issue.record("a truncated JSON file was accepted")
        } catch let ServiceSourceError.malformedJSON(file, path, problem) {
            // The dump is cut inside items[0].spec.ports[0] (byte 300 is on line 4).
            #expect(file == cut && path.hasPrefix("items[0].spec.ports"))
            #expect(problem.hasPrefix("not valid JSON at line 4 column") && problem.contains("truncated"))
        }
        #expect(throws: ServiceSourceError.self) { try ServiceDiscovery.discover(.file("")) }
    }

    @Test("a missing tool names its apt package")
    func missingTool() {
        #expect(throws: ServiceSourceError.toolMissing(tool: "srcip-no-such-tool", aptPackage: "iptables")) {
            try ServiceDiscovery.Tools(netns: nil).run("srcip-no-such-tool", [], aptPackage: "iptables")
        }
        #expect(ServiceSourceError.toolMissing(tool: "nft", aptPackage: "nftables").description.contains("apt-get install nftables"))
    }
}

/// `auto` / `iptables` / `nftables` against real rules loaded into throw-away network namespaces.
@Suite(.serialized, .privileged, .kubeProxyFixtures)
struct ServiceDiscoveryNetnsTests {
    /// The TestOverall fixture without `-m nfacct` (those matches need nfacct objects to load).
    static func loadableIPTablesFixture() throws -> String {
        try Fixtures.text(Fixtures.iptablesRestore).replacingOccurrences(
            of: #" -m nfacct --nfacct-name [A-Za-z_]+"#, with: "", options: .regularExpression)
    }

    @Test("auto in a namespace without kube-proxy: no Services, a warning")
    func emptyNamespace() throws {
        try NetnsLab.with { ns in
            let d = try ServiceDiscovery.discover(.auto, netns: ns)
            #expect(d.source == "none (auto)" && d.services == [])
            #expect(d.warnings.contains { $0.contains("no kube-proxy rules in this network namespace") })
        }
    }

    @Test("auto and iptables modes read iptables rules loaded with iptables-restore")
    func iptablesNamespace() throws {
        try NetnsLab.with { ns in
            let file = try ServiceDiscoveryTests.tempFile(try Self.loadableIPTablesFixture(), "rules")
            defer { try? FileManager.default.removeItem(atPath: file) }
            _ = try NetnsLab.exec(ns, ["iptables-restore", "--noflush", file])
            let auto = try ServiceDiscovery.discover(.auto, netns: ns)
            #expect(auto.source == "iptables (auto)")
            #expect(auto.services == OverallFixture.services)
            #expect(auto.clusterCIDRs == [IPPrefix("10.0.0.0/8")!])
            #expect(auto.warnings == [])
            let explicit = try ServiceDiscovery.discover(.iptables, netns: ns)
            #expect(explicit.services == auto.services)
        }
    }

    @Test("auto and nftables modes read kube-proxy's nft table")
    func nftablesNamespace() throws {
        try NetnsLab.with { ns in
            let file = try ServiceDiscoveryTests.tempFile(try NetnsLab.loadableNFTFixture(), "nft")
            defer { try? FileManager.default.removeItem(atPath: file) }
            _ = try NetnsLab.exec(ns, ["nft", "-f", file])
            let auto = try ServiceDiscovery.discover(.auto, netns: ns)
            #expect(auto.source == "nftables (auto)")
            #expect(auto.services.map(\.id) == OverallFixture.services.map(\.id))
            let explicit = try ServiceDiscovery.discover(.nftables, netns: ns)
            #expect(explicit.services == auto.services)
            #expect(explicit.catalog().frontend(ip: ip("172.30.0.44"), port: 80, proto: .tcp)?.port.endpoints.count == 2)
        }
    }
}

/// kube-proxy's iptables mode with IPv6 Services (ip6tables rules), alone and dual-stack.
@Suite(.serialized, .privileged, .kubeProxyFixtures)
struct IPv6DiscoveryNetnsTests {
    static func load(_ ns: String, _ tool: String, _ rules: String) throws {
        let file = try ServiceDiscoveryTests.tempFile(rules, "rules")
        defer { try? FileManager.default.removeItem(atPath: file) }
        _ = try NetnsLab.exec(ns, [tool, "--noflush", file])
    }

    @Test("auto and iptables read IPv6-only kube-proxy rules from ip6tables")
    func ipv6Only() throws {
        try NetnsLab.with { ns in
            try Self.load(ns, "ip6tables-restore", try IPv6Fixture.rules())
            for mode in [ServiceSource.auto, .iptables] {
                let d = try ServiceDiscovery.discover(mode, netns: ns)
                #expect(d.source == (mode == .auto ? "iptables (auto)" : "iptables"))
                #expect(d.services == IPv6Fixture.services)
                #expect(d.clusterCIDRs == [IPPrefix("fd00:10::/32")!])
                #expect(d.warnings == [])
                #expect(d.catalog().frontend(ip: ip("fd00:172:30::41"), port: 80, proto: .tcp)?.service.id == "ns1/svc1")
            }
        }
    }

    @Test("dual-stack: IPv4 and IPv6 rules are both read")
    func dualStack() throws {
        try NetnsLab.with { ns in
            try Self.load(ns, "iptables-restore", try ServiceDiscoveryNetnsTests.loadableIPTablesFixture())
            try Self.load(ns, "ip6tables-restore", try IPv6Fixture.rules())
            let d = try ServiceDiscovery.discover(.auto, netns: ns)
            #expect(d.source == "iptables (auto)" && d.warnings == [])
            // One Service per namespace/name with both families: the IPv6 view's addresses and endpoints appended.
            let expected = zip(OverallFixture.services, IPv6Fixture.services).map { v4, v6 in
                var s = v4
                s.secondaryClusterIP = v6.clusterIP
                s.externalIPs += v6.externalIPs
                s.loadBalancerIPs += v6.loadBalancerIPs
                s.loadBalancerSourceRanges += v6.loadBalancerSourceRanges
                for i in s.ports.indices { s.ports[i].endpoints += v6.ports[i].endpoints }
                return s
            }
            #expect(d.services == expected)
            #expect(d.services.allSatisfy { $0.clusterIPs.count == 2 })
            #expect(Set(d.clusterCIDRs) == [IPPrefix("10.0.0.0/8")!, IPPrefix("fd00:10::/32")!])
            let cat = d.catalog()
            #expect(cat.frontend(ip: ip("2001:db8::5678"), port: 80, proto: .tcp)?.service.id == "ns5/svc5")
            #expect(cat.frontend(ip: ip("5.6.7.8"), port: 80, proto: .tcp)?.service.id == "ns5/svc5")
        }
    }
}
