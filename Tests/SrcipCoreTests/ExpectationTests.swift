import Testing
@testable import SrcipCore

/// One test case per row of docs/kube-proxy-nat.md §4 (default kube-proxy: detect-local ClusterCIDR, masqueradeAll=false).
@Suite struct ExpectationTests {
    struct Row: CustomTestStringConvertible, Sendable {
        var row: Int
        var input: ExpectationInput
        var verdict: Verdict?
        var testDescription: String { "row \(row)" }
    }

    static let rows: [Row] = [
        Row(row: 1, input: .init(frontend: .clusterIP, externalTrafficPolicy: .local, client: .pod), verdict: .preserved),
        Row(row: 2, input: .init(frontend: .clusterIP, client: .pod, hairpin: true), verdict: .snat),
        Row(row: 3, input: .init(frontend: .clusterIP, client: .node, sourceIsLocal: true), verdict: .snat),
        Row(row: 4, input: .init(frontend: .clusterIP, client: .external), verdict: .snat),
        Row(row: 5, input: .init(frontend: .clusterIP, client: .pod, masqueradeAll: true), verdict: .snat),
        Row(row: 6, input: .init(frontend: .clusterIP, client: .external, detectLocal: false), verdict: .preserved),
        Row(row: 7, input: .init(frontend: .clusterIP, internalTrafficPolicy: .local, client: .pod, hasLocalEndpoints: false), verdict: .dropped),
        Row(row: 8, input: .init(frontend: .nodePort, client: .external, hasLocalEndpoints: false), verdict: .snat),
        Row(row: 9, input: .init(frontend: .nodePort, client: .pod), verdict: .snat),
        Row(row: 10, input: .init(frontend: .nodePort, client: .node, sourceIsLocal: true), verdict: .snat),
        Row(row: 11, input: .init(frontend: .nodePort, externalTrafficPolicy: .local, client: .external), verdict: .preserved),
        Row(row: 12, input: .init(frontend: .nodePort, externalTrafficPolicy: .local, client: .external, hasLocalEndpoints: false), verdict: .dropped),
        Row(row: 13, input: .init(frontend: .nodePort, externalTrafficPolicy: .local, client: .pod, hasLocalEndpoints: false), verdict: .preserved),
        Row(row: 14, input: .init(frontend: .nodePort, externalTrafficPolicy: .local, client: .node, sourceIsLocal: true), verdict: .snat),
        Row(row: 15, input: .init(frontend: .loadBalancer, client: .external), verdict: .snat),
        Row(row: 16, input: .init(frontend: .externalIP, externalTrafficPolicy: .local, client: .external), verdict: .preserved),
        Row(row: 17, input: .init(frontend: .loadBalancer, externalTrafficPolicy: .local, client: .external, hasLocalEndpoints: false), verdict: .dropped),
        Row(row: 18, input: .init(frontend: .loadBalancer, client: .pod), verdict: .snat),
        Row(row: 19, input: .init(frontend: .externalIP, externalTrafficPolicy: .local, client: .pod, hasLocalEndpoints: false), verdict: .preserved),
        Row(row: 20, input: .init(frontend: .loadBalancer, externalTrafficPolicy: .local, client: .node, sourceIsLocal: true), verdict: .snat),
        Row(row: 21, input: .init(frontend: .loadBalancer, client: .pod, sourceAllowedByRanges: false), verdict: .dropped),
        Row(row: 22, input: .init(frontend: .loadBalancer, client: .pod, ipModeProxy: true), verdict: nil),
        Row(row: 23, input: .init(frontend: .nodePort, client: .external, hasEndpoints: false, hasLocalEndpoints: false), verdict: .rejected),
    ]

    @Test(arguments: rows) func truthTableRow(_ r: Row) {
        let e = Expectation.expected(r.input)
        #expect(e?.verdict == r.verdict)
        if r.verdict != nil { #expect(e?.row == r.row) } else { #expect(e == nil) }
    }

    @Test func everyRowIsCovered() {
        #expect(Set(Self.rows.map(\.row)) == Set(1...23))
    }

    @Test func otherNodeIsTreatedAsExternal() {
        for policy in TrafficPolicy.allCases {
            for local in [true, false] {
                let a = Expectation.expected(.init(frontend: .nodePort, externalTrafficPolicy: policy, client: .node, hasLocalEndpoints: local))
                let b = Expectation.expected(.init(frontend: .nodePort, externalTrafficPolicy: policy, client: .external, hasLocalEndpoints: local))
                #expect(a == b)
            }
        }
    }

    @Test func hairpinIsMasqueradedWhateverTheFrontend() {
        for f in Frontend.allCases {
            #expect(Expectation.expected(.init(frontend: f, externalTrafficPolicy: .local, client: .pod, hairpin: true))?.verdict == .snat)
        }
    }

    @Test func rfc3339RoundTrips() {
        let ns: Int64 = 1_795_000_123_456_789_000
        let s = RFC3339.format(unixNs: ns)
        #expect(s == "2026-11-18T11:08:43.456789Z")
        #expect(RFC3339.parse(s) == ns)
        #expect(RFC3339.parse("2026-11-18T12:08:43.456789+01:00") == ns)
        #expect(RFC3339.format(unixNs: 0) == "1970-01-01T00:00:00.000000Z")
        #expect(RFC3339.format(unixNs: -1_000) == "1969-12-31T23:59:59.999999Z")
        for _ in 0..<1_000 {
            let t = Int64.random(in: 0...4_102_444_800_000_000_000)
            #expect(RFC3339.parse(RFC3339.format(unixNs: t)) == t / 1000 * 1000)
        }
        #expect(RFC3339.parse("2026-13-18T10:08:43Z") == nil)
        #expect(RFC3339.parse("2026-11-18 10:08:43Z") == nil)
    }
}
