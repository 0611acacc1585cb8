import Testing
@testable import SrcipCore

/// The verification model: rows per Service port and entry path, every status, unknowns, sorting, selection and the
/// exit-status contract of `--check`.
@Suite struct VerificationTests {
    typealias L = Lab
    typealias M = FlowPathMergerTests

    static func svc(_ name: String, _ frontend: Frontend, eTP: TrafficPolicy = .cluster, _ from: ServiceResolution = .vip) -> ServiceRef {
        ServiceRef(namespace: "default", name: name, portName: nil, port: 80, type: frontend == .clusterIP ? .clusterIP : .nodePort,
                   frontend: frontend, externalTrafficPolicy: eTP, internalTrafficPolicy: .cluster, resolvedFrom: from)
    }

    /// A NodePort request from the external client entering `node`, SNATed to `saw` (nil: preserved) or stopped.
    static func nodePort(_ node: String, port: UInt16, name: String = "nodeport", eTP: TrafficPolicy = .cluster, saw: String?,
                         verdict: Verdict, expected: Verdict?, row: Int?, reason: String? = nil) -> FlowRecord {
        let orig = L.tcp(L.external, port, node == "node1" ? L.node1IP : L.node2IP, 30080)
        let left: FiveTuple? = verdict == .dropped ? nil : L.tcp(saw ?? L.external, saw == nil ? port : 50000 + port, L.backend, 8080)
        var r = M.rec(node, orig, left, service: svc(name, .nodePort, eTP: eTP), client: .external, verdict: verdict,
                      expected: expected, endpointNode: "node1")
        r.expectedRow = row
        r.reason = reason
        return r
    }

    @Test func groupsFlowsPerServicePortAndEntryPathAndCountsWhatTheBackendSaw() throws {
        let records = [
            Self.nodePort("node2", port: 1, saw: L.node2IP, verdict: .snat, expected: .snat, row: 8),
            Self.nodePort("node2", port: 2, saw: L.node2IP, verdict: .snat, expected: .snat, row: 8),
            Self.nodePort("node1", port: 3, saw: L.gw, verdict: .snat, expected: .snat, row: 8),
            Self.nodePort("node1", port: 4, name: "local", eTP: .local, saw: nil, verdict: .preserved, expected: .preserved, row: 11),
            Self.nodePort("node2", port: 5, name: "local", eTP: .local, saw: nil, verdict: .dropped, expected: .dropped, row: 12),
        ]
        let report = VerificationReport.build(records: records)
        #expect(report.rows.count == 3)
        #expect(report.rows.allSatisfy { $0.status == .passed })
        #expect(report.exitStatus == 0 && report.flowsMet == 5 && report.flowsMissed == 0 && !report.clusterWide)
        let cluster = try #require(report.rows.first { $0.key.service == "default/nodeport" })
        #expect(cluster.flows == 3 && cluster.key.expectedRow == 8 && cluster.expected == .snat)
        #expect(cluster.entryNodes.sorted.map(\.value) == ["node2", "node1"])
        let saw = cluster.saw.sorted
        #expect(saw.count == 2 && saw[0].count == 2 && saw[0].value.address == L.ip(L.node2IP) && !saw[0].value.preserved)
        #expect(saw[0].value.writtenAt == TranslationPoint(node: "node2", interface: "eth0", hook: .egress))
        let local = report.rows.filter { $0.key.service == "default/local" }
        #expect(local.map(\.key.expectedRow) == [11, 12], "one row per §4 row: the entry path differs")
        #expect(local[0].saw.sorted.first?.value.preserved == true && local[0].saw.sorted.first?.value.address == L.ip(L.external))
        #expect(local[1].stopped.sorted.map(\.value) == ["dropped@node2"] && local[1].saw.total == 0)
    }

    @Test func aMismatchFailsFirstWithItsEvidenceAndExitsOne() throws {
        let records = [
            Self.nodePort("node1", port: 1, saw: L.node2IP, verdict: .snat, expected: .snat, row: 8),
            Self.nodePort("node1", port: 2, name: "zz-local", eTP: .local, saw: L.gw, verdict: .snat, expected: .preserved, row: 11),
            Self.nodePort("node1", port: 3, name: "zz-local", eTP: .local, saw: nil, verdict: .preserved, expected: .preserved, row: 11),
        ]
        let report = VerificationReport.build(records: records)
        #expect(report.exitStatus == 1 && report.failed == 1 && report.passed == 1)
        let first = try #require(report.rows.first)
        #expect(first.status == .failed && first.key.service == "default/zz-local", "failures sort before passes whatever the name")
        #expect(first.met == 1 && first.missed == 1 && first.evidence.count == 1)
        guard case .record(let r) = first.evidence[0].source else { Issue.record("evidence is the record"); return }
        #expect(r.original.srcPort == 2)
    }

    @Test func unknownVerdictsAndMissingExpectationsAreUndecidedAndExplained() throws {
        let records = [
            Self.nodePort("node1", port: 1, saw: L.node2IP, verdict: .unknown, expected: .snat, row: 8, reason: "evicted early"),
            Self.nodePort("node1", port: 2, saw: L.node2IP, verdict: .unknown, expected: .snat, row: 8),
            Self.nodePort("node1", port: 3, saw: L.node2IP, verdict: .unknown, expected: .snat, row: 8, reason: "evicted early"),
        ]
        let report = VerificationReport.build(records: records)
        #expect(report.exitStatus == 2, "nothing decided is nothing verified")
        let row = try #require(report.rows.first)
        #expect(row.status == .undecided && row.flows == 3 && row.undecided.total == 3)
        #expect(row.undecided.sorted.map(\.count) == [2, 1])
        #expect(row.undecided.sorted[0].value == "verdict unknown: evicted early")
        #expect(row.undecided.sorted[1].value.contains("not enough was observed"))
        // An undecided flow does not turn a passed row into anything else, but is still counted.
        let mixed = VerificationReport.build(records: records + [Self.nodePort("node1", port: 4, saw: L.node1IP, verdict: .snat,
                                                                                expected: .snat, row: 8)])
        #expect(mixed.rows.count == 1 && mixed.rows[0].status == .passed && mixed.flowsUndecided == 3 && mixed.exitStatus == 0)
    }

    @Test func flowsWithoutAServiceOrJudgedElsewhereAreNotVerifiedHere() {
        var noService = Self.nodePort("node1", port: 1, saw: L.node2IP, verdict: .snat, expected: nil, row: nil)
        noService.service = nil
        var secondHop = Self.nodePort("node1", port: 2, saw: nil, verdict: .preserved, expected: nil, row: nil)
        secondHop.service = Self.svc("nodeport", .clusterIP, .endpoint)
        let report = VerificationReport.build(records: [noService, secondHop])
        #expect(report.rows.isEmpty && report.notServiceTraffic == 2 && report.exitStatus == 2)
    }

    @Test func selectedServicesOnlyAndUnexercisedOnesSaySo() throws {
        let records = [
            Self.nodePort("node1", port: 1, saw: L.node2IP, verdict: .snat, expected: .snat, row: 8),
            Self.nodePort("node1", port: 2, name: "other", saw: L.gw, verdict: .preserved, expected: .snat, row: 8),
        ]
        let report = VerificationReport.build(records: records, services: ["default/nodeport", "default/idle"])
        #expect(report.rows.map(\.key.service) == ["default/idle", "default/nodeport"])
        #expect(report.rows.map(\.status) == [.notExercised, .passed])
        #expect(report.exitStatus == 0, "the failing Service was not selected")
        #expect(report.notServiceTraffic == 1)
        let idle = VerificationReport.build(records: records, services: ["default/idle", "kube-system/dns"])
        #expect(idle.rows.allSatisfy { $0.status == .notExercised && $0.flows == 0 } && idle.rows.count == 2)
        #expect(idle.exitStatus == 2)
    }

    @Test func pathsGiveClusterWideRowsWithTheSourceTheBackendSawEndToEnd() throws {
        let orig = L.tcp(L.external, 40001, L.node2IP, 30080)
        let xlat = L.tcp(L.node2IP, 50736, L.backend, 8080)
        let hop1 = M.rec("node2", orig, xlat, service: M.svc("nodeport", .nodePort, .vip), client: .external,
                         verdict: .snat, expected: .snat, endpointNode: "node1")
        let hop2 = M.rec("node1", xlat, xlat, start: 300_000, outIf: "veth-backend", service: M.svc("nodeport", .clusterIP, .endpoint),
                         client: .node, verdict: .preserved, endpointNode: "node1")
        let paths = FlowPathMerger.merge([hop1, hop2]).paths
        let report = VerificationReport.build(paths: paths)
        #expect(report.clusterWide && report.rows.count == 1 && report.notServiceTraffic == 0)
        let row = try #require(report.rows.first)
        #expect(row.status == .passed && row.key.frontend == .nodePort && row.key.clientKind == .external)
        #expect(row.entryNodes.sorted.map(\.value) == ["node2"])
        #expect(row.saw.sorted.first?.value == BackendSaw(preserved: false, address: L.ip(L.node2IP),
                                                         writtenAt: TranslationPoint(node: "node2", interface: "eth0", hook: .egress)))
    }

    @Test func sortingIsFailedUndecidedNotExercisedPassedThenByKey() {
        #expect(VerificationStatus.allCases.sorted() == [.failed, .undecided, .notExercised, .passed])
        let records = [
            Self.nodePort("node1", port: 1, name: "a-pass", saw: L.node2IP, verdict: .snat, expected: .snat, row: 8),
            Self.nodePort("node1", port: 2, name: "b-unknown", saw: L.node2IP, verdict: .unknown, expected: .snat, row: 8),
            Self.nodePort("node1", port: 3, name: "c-fail", saw: L.node2IP, verdict: .preserved, expected: .snat, row: 8),
            Self.nodePort("node1", port: 4, name: "b-fail", saw: L.node2IP, verdict: .preserved, expected: .snat, row: 8),
        ]
        let report = VerificationReport.build(records: records, services: ["default/a-pass", "default/b-unknown", "default/c-fail",
                                                                           "default/b-fail", "default/d-idle"])
        #expect(report.rows.map(\.key.service) == ["default/b-fail", "default/c-fail", "default/b-unknown", "default/d-idle", "default/a-pass"])
        #expect(report.exitStatus == 1)
    }

    @Test func evidenceIsBoundedButEveryFailureIsCounted() {
        let records = (1...8).map { Self.nodePort("node1", port: UInt16($0), saw: L.node2IP, verdict: .preserved, expected: .snat, row: 8) }
        let row = VerificationReport.build(records: records).rows[0]
        #expect(row.missed == 8 && row.evidence.count == VerificationReport.evidenceLimit)
    }
}
