import Foundation
import SrcipCore
import Testing
@testable import SrcipServices

/// Parse times for the fixtures and a synthetic 5,000-Service node (printed; no timing asserts).
@Suite(.serialized, .kubeProxyFixtures) struct ParsePerformanceTests {
    /// iptables-save output (save format) for `n` Services with 3 endpoints each; every 4th a NodePort with an LB IP.
    static func syntheticIPTablesSave(services n: Int) -> String {
        func h(_ kind: Int, _ i: Int, _ j: Int = 0) -> String {   // 16-char chain hash, unique per (kind, i, j)
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
            var v = UInt64(kind) << 40 | UInt64(i) << 8 | UInt64(j)
            return String((0..<16).map { _ in defer { v >>= 5 }; return alphabet[Int(v & 31)] })
        }
        var decl: [String] = [], rules: [String] = [], services: [String] = [], nodeports: [String] = []
        for i in 0..<n {
            let spn = "ns\(i % 50)/svc\(i):http", svc = "KUBE-SVC-" + h(1, i), ext = "KUBE-EXT-" + h(2, i)
            let cip = "172.30.\(i / 250).\(i % 250 + 1)"
            decl.append(":\(svc) - [0:0]")
            services.append("-A KUBE-SERVICES -d \(cip)/32 -p tcp -m comment --comment \"\(spn) cluster IP\" -m tcp --dport 80 -j \(svc)")
            rules.append("-A \(svc) ! -s 10.0.0.0/8 -d \(cip)/32 -p tcp -m comment --comment \"\(spn) cluster IP\" -m tcp --dport 80 -j KUBE-MARK-MASQ")
            if i % 4 == 0 {
                decl.append(":\(ext) - [0:0]")
                services.append("-A KUBE-SERVICES -d 198.18.\(i / 250).\(i % 250 + 1)/32 -p tcp -m comment --comment \"\(spn) loadbalancer IP\" -m tcp --dport 80 -j \(ext)")
                nodeports.append("-A KUBE-NODEPORTS -p tcp -m comment --comment \"\(spn)\" -m tcp --dport \(30000 + i / 4) -j \(ext)")
                rules.append("-A \(ext) -m comment --comment \"masquerade traffic for \(spn) external destinations\" -j KUBE-MARK-MASQ")
                rules.append("-A \(ext) -j \(svc)")
            }
            for j in 0..<3 {
                let sep = "KUBE-SEP-" + h(3, i, j), ep = "10.\(100 + j).\(i / 250).\(i % 250 + 1)"
                decl.append(":\(sep) - [0:0]")
                let prob = j < 2 ? " -m statistic --mode random --probability \(j == 0 ? "0.33333333349" : "0.50000000000")" : ""
                rules.append("-A \(svc) -m comment --comment \"\(spn) -> \(ep):8080\"\(prob) -j \(sep)")
                rules.append("-A \(sep) -s \(ep)/32 -m comment --comment \"\(spn)\" -j KUBE-MARK-MASQ")
                rules.append("-A \(sep) -p tcp -m comment --comment \"\(spn)\" -m tcp -j DNAT --to-destination \(ep):8080")
            }
        }
        return (["*nat", ":PREROUTING ACCEPT [0:0]", ":KUBE-SERVICES - [0:0]", ":KUBE-NODEPORTS - [0:0]", ":KUBE-MARK-MASQ - [0:0]"]
                + decl + services + nodeports + rules + ["COMMIT", ""]).joined(separator: "\n")
    }

    static func time<T>(_ body: () throws -> T) rethrows -> (T, Duration) {
        let clock = ContinuousClock()
        var result: T?
        let d = try clock.measure { result = try body() }
        return (result!, d)
    }

    @Test("fixture parse times")
    func fixtures() throws {
        for f in [Fixtures.iptablesRestore, Fixtures.iptablesSave] {
            let text = try Fixtures.text(f)
            let (d, t) = try Self.time { try IPTablesRulesParser.parse(text, file: f) }
            #expect(d.services.count == 6)
            print("PERF iptables \(f): \(t)")
        }
        let (n, t) = try Self.time { try NFTablesRulesParser.parse(NFTablesSnippetTests.snippet) }
        #expect(n.services.count == 2)
        print("PERF nft snippet: \(t)")
    }

    @Test("synthetic 5,000-Service iptables-save")
    func synthetic() throws {
        let text = Self.syntheticIPTablesSave(services: 5000)
        let lines = text.split(separator: "\n").count
        let (d, t) = try Self.time { try IPTablesRulesParser.parse(text, file: "synthetic") }
        #expect(d.services.count == 5000 && d.warnings == [])
        #expect(d.services.allSatisfy { $0.ports.count == 1 && $0.ports[0].endpoints.count == 3 })
        #expect(d.services.filter { $0.type == .loadBalancer }.count == 1250)
        let (cat, tc) = Self.time { d.catalog() }
        #expect(cat.collisions == [] && cat.frontend(ip: ip("172.30.19.250"), port: 80, proto: .tcp)?.service.name == "svc4999")
        print("PERF synthetic iptables-save: 5000 Services, \(lines) lines, \(text.utf8.count / 1024) KiB: parse \(t), catalog \(tc)")
    }
}
